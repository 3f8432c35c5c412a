"""The GPS gateway behind one small interface (`Gateway.send`), and the adapter for Traccar's REST API.

Traccar (https://www.traccar.org/api-reference/): a device is found by its unique id
(`GET /api/devices?uniqueId=…`), a command sent with `POST /api/commands/send` and type
`engineStop` / `engineResume`; 200 means delivered to the online device, 202 queued at Traccar
because the device is offline (it goes out when the device connects). Either way the command is
`sent`; the device's answer arrives later through the signed callback.

Our command id travels as `attributes.recourseCommandId` and the `Idempotency-Key` header: a sender
killed after the gateway accepted and retried sends the same key, and the gateway (the simulator;
a forwarding proxy in front of Traccar) answers the first result instead of delivering twice.

Errors: `GatewayUnavailable` is transient (network, 5xx, 429, auth to be fixed by an operator):
the queue retries with backoff. `GatewayRefused` is final (unknown device, 4xx): the command fails.
"""

import threading
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from app.core.config import get_settings
from app.devices import simulator

ACTION_TYPES = {"lock": "engineStop", "unlock": "engineResume"}
TRANSIENT_STATUSES = {401, 403, 408, 425, 429}


@dataclass(frozen=True)
class Outbound:
    command_id: str
    device_id: str
    action: str  # lock | unlock


@dataclass(frozen=True)
class Accepted:
    offline: bool  # queued at the gateway until the device connects (Traccar's 202)
    answer: dict[str, Any] = field(default_factory=dict)


class GatewayUnavailable(Exception):
    """Transient: try again later."""


class GatewayRefused(Exception):
    """Final: the gateway will never take this command."""

    def __init__(self, message: str, answer: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.answer = answer or {}


class Gateway(Protocol):
    async def send(self, command: Outbound) -> Accepted: ...

    async def request_position(self, device_id: str) -> None:
        """Ask the device for a position report now (a lock waits for a fresh one); best effort."""


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        value = response.json()
    except ValueError:
        return {"text": response.text[:500]}
    return value if isinstance(value, dict) else {"items": value}


class TraccarGateway:
    def __init__(self, base_url: str, token: str, *, timeout: float = 10.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.base_url, self.token, self.timeout, self.transport = base_url.rstrip("/"), token, timeout, transport

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, timeout=self.timeout, transport=self.transport,
                                 headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json"})

    @staticmethod
    def _judge(response: httpx.Response, what: str) -> None:
        status = response.status_code
        if status >= 500 or status in TRANSIENT_STATUSES:
            raise GatewayUnavailable(f"{what}: HTTP {status}")
        if status >= 400:
            raise GatewayRefused(f"{what}: HTTP {status}", {"status": status, **_body(response)})

    async def send(self, command: Outbound) -> Accepted:
        try:
            async with self._client() as client:
                found = await client.get("/api/devices", params={"uniqueId": command.device_id})
                self._judge(found, "device lookup")
                devices = found.json()
                if not devices:
                    raise GatewayRefused(f"The gateway knows no device {command.device_id}.",
                                         {"status": 404, "device_id": command.device_id})
                sent = await client.post(
                    "/api/commands/send", headers={"Idempotency-Key": command.command_id},
                    json={"deviceId": devices[0]["id"], "type": ACTION_TYPES[command.action],
                          "description": f"recourse {command.action} {command.command_id}",
                          "attributes": {"recourseCommandId": command.command_id}})
                self._judge(sent, "command")
        except httpx.HTTPError as error:
            raise GatewayUnavailable(f"gateway unreachable: {error.__class__.__name__}") from error
        return Accepted(offline=sent.status_code == 202, answer={"status": sent.status_code, **_body(sent)})

    async def request_position(self, device_id: str) -> None:
        """Traccar's `positionSingle` command: the device reports where it is (queued while offline)."""
        try:
            async with self._client() as client:
                found = await client.get("/api/devices", params={"uniqueId": device_id})
                self._judge(found, "device lookup")
                for device in found.json()[:1]:
                    self._judge(await client.post("/api/commands/send",
                                                  json={"deviceId": device["id"], "type": "positionSingle"}),
                                "position request")
        except httpx.HTTPError as error:
            raise GatewayUnavailable(f"gateway unreachable: {error.__class__.__name__}") from error


# --- which gateway --------------------------------------------------------------------------------

_lock = threading.Lock()
_current: Gateway | None = None


def use(gateway: Gateway | None) -> None:
    """Install a gateway (tests; the demo's in-process simulator); None: from the settings again."""
    global _current  # noqa: PLW0603 - one gateway per process
    _current = gateway


def current() -> Gateway | None:
    """The configured gateway: Traccar, a simulator at DEVICE_GATEWAY_URL, or (outside production,
    none configured) a simulator started in this process on a loopback port. None in production
    without a gateway."""
    global _current  # noqa: PLW0603
    with _lock:
        if _current is None:
            _current = _from_settings()
        return _current


def _from_settings() -> Gateway | None:
    settings = get_settings()
    secret = settings.device_gateway_token
    token = secret.get_secret_value() if secret else simulator.SIMULATOR_TOKEN
    if settings.device_gateway is None and settings.environment == "production":
        return None
    url = settings.device_gateway_url
    if url is None:  # the simulator, in-process
        url = simulator.start_in_thread(callback_url=settings.device_callback_url, key=settings.device_callback_key(),
                                        ack_seconds=settings.device_simulator_ack_seconds)
    return TraccarGateway(url, token, timeout=settings.device_gateway_timeout_seconds)
