"""Device tests: an open case of C01 held by collector1 (tests/collection/log_fixtures.py), flows for
`lock` and `unlock` (L1), and one gateway simulator per test process, spoken to over real HTTP. The
simulator keeps its callbacks in an outbox (no callback URL): a test takes them and posts them to the
app itself, signed as the simulator signed them."""

import json
import uuid
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from app.core import clock
from app.core.config import get_settings
from app.devices import gateway, signing, simulator
from tests.approvals.conftest import role_rule
from tests.collection.log_fixtures import *  # noqa: F403 - the case fixtures

LOCKS = "/api/v1/lock-requests"
UNLOCKS = "/api/v1/unlock-requests"
COMMANDS = "/api/v1/device-commands"
CALLBACKS = "/api/v1/device-gateway/callbacks"


class Sim:
    """Control of the simulator over HTTP."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=10)

    def device(self, device_id: str, **changes: Any) -> dict[str, Any]:
        return self.http.put(f"/simulator/devices/{device_id}", json=changes).raise_for_status().json()

    def fail_next(self, status: int = 503) -> None:
        self.http.post("/simulator/fail-next", json={"status": status}).raise_for_status()

    def deliveries(self, command_id: str) -> list[dict[str, Any]]:
        found = self.http.get("/simulator/deliveries").raise_for_status().json()
        return [d for d in found if d["command_id"] == command_id]

    def take(self, device_id: str) -> list[dict[str, Any]]:
        """The callbacks waiting for the device (the others, of earlier tests, are dropped)."""
        taken = self.http.post("/simulator/outbox/take").raise_for_status().json()
        return [c for c in taken if c["device_id"] == device_id]


@pytest.fixture(scope="session")
def sim() -> Sim:
    url = simulator.start_in_thread(callback_url=None, key=get_settings().device_callback_key(), ack_seconds=0)
    return Sim(url)


@pytest.fixture
def gateway_in_use(sim):
    gateway.use(gateway.TraccarGateway(sim.url, simulator.SIMULATOR_TOKEN, timeout=5))
    yield
    gateway.use(None)


def signed(payload: dict[str, Any], *, at: int | None = None, key: bytes | None = None) -> tuple[bytes, dict]:
    body = json.dumps(payload).encode()
    return body, signing.signed_headers(key or get_settings().device_callback_key(), at or int(clock.timestamp()), body)


@pytest.fixture
def deliver(client):
    """deliver(callback) → the response of posting it to the app, freshly signed."""

    async def post(payload: dict[str, Any]) -> httpx.Response:
        body, headers = signed(payload)
        return await client.post(CALLBACKS, content=body, headers=headers)

    return post


@pytest.fixture
def device_flows(make_flow, org):  # noqa: F811 - the engine's fixture
    async def make() -> None:
        for kind in ("lock", "unlock"):
            await make_flow([{"name": "L1", "rule": role_rule(org, "approver_l1")}], request_type=kind)

    return make


def position(device_id: str, speed_kmh: float | None = 0.0, **extra: Any) -> dict[str, Any]:
    """A position callback of the device, dated now unless `at` is given."""
    return {"type": "position", "event_id": new_event_id(), "device_id": device_id, "latitude": 31.2,
            "longitude": 121.4, "speed_kmh": speed_kmh, "at": clock.now().isoformat(), **extra}


@pytest.fixture
def machine_case(client, auth, open_case, device_flows, deliver):
    """An open case held by collector1, the flows, and its contract's machine (id and GPS device id),
    whose device has just reported it standing still (a lock goes out only then); `stopped=False`:
    no report yet."""

    async def make(*, stopped: bool = True) -> SimpleNamespace:
        case = await open_case()
        await device_flows()
        contract = (await client.get(f"/api/v1/contracts/{case.contract_id}", headers=auth("clerk1"))).json()
        machine_id = contract["machines"][0]["id"]
        machine = (await client.get(f"/api/v1/machines/{machine_id}", headers=auth("clerk1"))).json()
        if stopped:
            assert (await deliver(position(machine["gps_device_id"]))).status_code == 200
        return SimpleNamespace(case=case, contract_id=str(case.contract_id), machine_id=machine_id,
                               device_id=machine["gps_device_id"])

    return make


@pytest.fixture
def approved(client, auth, act):
    """approved(mc, "lock") → the queued device command of an approved lock (or unlock) request."""

    async def make(mc: SimpleNamespace, action: str = "lock", **extra: Any) -> dict[str, Any]:
        url = LOCKS if action == "lock" else UNLOCKS
        created = await client.post(url, headers=auth("collector1"), json={
            "contract_id": mc.contract_id, "machine_id": mc.machine_id, "reason": "连续逾期, 失联", "submit": True,
            **extra})
        assert created.status_code == 201, created.text
        approval = await act("approver1", created.json()["approval_id"], "approve", {})
        assert approval.status_code == 200, approval.text
        commands = await client.get(COMMANDS, params={"request_id": created.json()["id"]}, headers=auth("collector1"))
        [command] = commands.json()["items"]
        return command

    return make


@pytest.fixture
def command_of(client, auth):
    async def get(command_id: str, user: str = "collector1") -> dict[str, Any]:
        response = await client.get(f"{COMMANDS}/{command_id}", headers=auth(user))
        assert response.status_code == 200, response.text
        return response.json()

    return get


@pytest.fixture
def lock_state(client, auth):
    async def get(machine_id: str) -> str:
        return (await client.get(f"/api/v1/machines/{machine_id}", headers=auth("clerk1"))).json()["lock_state"]

    return get


def new_event_id() -> str:
    return str(uuid.uuid4())
