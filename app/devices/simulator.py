"""A GPS gateway simulator speaking the subset of Traccar's REST API the adapter uses, for the demo,
development and the tests (over real HTTP): `scripts/device-simulator` serves it standalone, and the
app starts one in-process on a loopback port when no gateway is configured outside production.

    GET  /api/devices?uniqueId=…        the device (created on first sight: online and stopped)
    POST /api/commands/send             engineStop | engineResume: 200 executed by the online device,
                                        202 queued until it comes online; deduplicated by our command
                                        id (Idempotency-Key / attributes.recourseCommandId);
                                        positionSingle: the device reports its position (when online)
    PUT  /simulator/devices/{uniqueId}  set online, speed_kmh, latitude, longitude, reject (answers
                                        `failed`); a move is reported as a position callback, going
                                        online executes the queued commands
    POST /simulator/fail-next           the next send answers this HTTP status (transient errors)
    GET  /simulator/deliveries          every command a device executed (exactly-once checks)
    POST /simulator/outbox/take         without a callback URL: the signed callbacks not yet taken

Each executed command is acknowledged after `ack_seconds` by a signed callback (app/devices/signing.py)
to the callback URL; without one the callbacks wait in the outbox (the tests post them themselves).
Positions carry the device's output state (`blocked`). With `traccar_key` the simulator speaks stock
Traccar's forwarding instead: positions to `<callback URL>/positions`, a `commandResult` event to
`<callback URL>/events`, authenticated by that key in `X-Recourse-Gateway-Key` (a refusing device
sends no result there: Traccar's result is free text, so it simply never acknowledges).
"""

import argparse
import asyncio
import itertools
import json
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app.core import clock
from app.devices.signing import signed_headers

SIMULATOR_TOKEN = "simulator"  # noqa: S105 - the simulator's bearer token, not a secret
COMMAND_TYPES = {"engineStop": "locked", "engineResume": "unlocked"}
POSITION_SINGLE = "positionSingle"


@dataclass
class Device:
    id: int
    unique_id: str
    online: bool = True
    speed_kmh: float = 0.0
    latitude: float = 31.2304
    longitude: float = 121.4737
    reject: bool = False
    lock_state: str = "unlocked"
    queued: list[dict[str, Any]] = field(default_factory=list)

    def out(self) -> dict[str, Any]:
        return {"id": self.id, "uniqueId": self.unique_id, "name": self.unique_id,
                "status": "online" if self.online else "offline", "speedKmh": self.speed_kmh,
                "lockState": self.lock_state, "queued": len(self.queued)}


class Simulator:
    def __init__(self, *, callback_url: str | None, key: bytes, ack_seconds: float, token: str | None,
                 traccar_key: str | None = None) -> None:
        self.callback_url, self.key, self.ack_seconds, self.token = callback_url, key, ack_seconds, token
        self.traccar_key = traccar_key
        self.traccar_ids = itertools.count(int(clock.timestamp() * 1000))  # Traccar's position and event ids
        self.devices: dict[str, Device] = {}
        self.ids = itertools.count(1)
        self.answers: dict[str, tuple[int, dict[str, Any]]] = {}  # command id → the first answer
        self.deliveries: list[dict[str, Any]] = []
        self.outbox: list[dict[str, Any]] = []
        self.fail_next: list[int] = []
        self.tasks: set[asyncio.Task[None]] = set()

    def device(self, unique_id: str) -> Device:
        if unique_id not in self.devices:
            self.devices[unique_id] = Device(id=next(self.ids), unique_id=unique_id)
        return self.devices[unique_id]

    def by_id(self, device_id: int) -> Device | None:
        return next((d for d in self.devices.values() if d.id == device_id), None)

    # --- callbacks ----------------------------------------------------------------------------------

    def emit(self, payload: dict[str, Any], delay: float = 0.0) -> None:
        payload = {"event_id": str(uuid.uuid4()), "at": _now_iso(), **payload}
        if self.callback_url is None:
            self.outbox.append(payload)
            return
        task = asyncio.get_running_loop().create_task(self._post(payload, delay))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def signed(self, payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(payload).encode()
        return body, signed_headers(self.key, int(clock.timestamp()), body)

    def traccar(self, payload: dict[str, Any]) -> tuple[str, bytes, dict[str, str]]:
        """A callback as stock Traccar forwards it: (path under the callback URL, body, headers)."""
        device = self.device(payload["device_id"])
        about = {"id": device.id, "uniqueId": device.unique_id, "name": device.unique_id,
                 "status": "online" if device.online else "offline"}
        if payload["type"] == "position":
            speed = payload.get("speed_kmh")
            body: dict[str, Any] = {"position": {
                "id": next(self.traccar_ids), "deviceId": device.id, "fixTime": payload["at"],
                "deviceTime": payload["at"], "latitude": payload.get("latitude"), "longitude": payload.get("longitude"),
                "speed": None if speed is None else speed / 1.852,
                "attributes": {"blocked": payload.get("blocked"), "motion": bool(speed)}}, "device": about}
            path = "/positions"
        else:
            body = {"event": {"id": next(self.traccar_ids), "type": "commandResult", "eventTime": payload["at"],
                              "deviceId": device.id, "attributes": {"result": payload.get("detail")}},
                    "position": None, "device": about}
            path = "/events"
        headers = {"X-Recourse-Gateway-Key": self.traccar_key or "", "Content-Type": "application/json"}
        return path, json.dumps(body).encode(), headers

    def wire(self, payload: dict[str, Any]) -> tuple[str, bytes, dict[str, str]]:
        if self.traccar_key is not None:
            return self.traccar(payload)
        return "", *self.signed(payload)

    async def _post(self, payload: dict[str, Any], delay: float) -> None:
        await asyncio.sleep(delay)
        assert self.callback_url is not None
        if self.traccar_key is not None and payload["type"] == "command_result" and payload["result"] != "acknowledged":
            return
        for attempt in range(5):  # the app may still be starting; a provider retries too
            path, body, headers = self.wire(payload)
            try:
                async with httpx.AsyncClient(timeout=10) as client:
                    response = await client.post(self.callback_url + path, content=body, headers=headers)
                if response.status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(2 ** attempt)

    def execute(self, device: Device, command: dict[str, Any]) -> None:
        ref = command["attributes"]["recourseCommandId"]
        self.deliveries.append({"command_id": ref, "device_id": device.unique_id, "type": command["type"]})
        if not device.reject:
            device.lock_state = COMMAND_TYPES[command["type"]]
        self.emit({"type": "command_result", "command_id": ref, "device_id": device.unique_id,
                   "result": "failed" if device.reject else "acknowledged",
                   "detail": "device refused the command" if device.reject else f"{command['type']} done"},
                  delay=self.ack_seconds)

    def report_position(self, device: Device) -> None:
        self.emit({"type": "position", "device_id": device.unique_id, "latitude": device.latitude,
                   "longitude": device.longitude, "speed_kmh": device.speed_kmh,
                   "blocked": device.lock_state == "locked"})

    # --- the Traccar subset ----------------------------------------------------------------------------

    def authorised(self, request: Request) -> bool:
        return self.token is None or request.headers.get("authorization") == f"Bearer {self.token}"

    async def devices_route(self, request: Request) -> JSONResponse:
        if not self.authorised(request):
            return JSONResponse({"message": "unauthorized"}, 401)
        unique_id = request.query_params.get("uniqueId")
        if unique_id is None:
            return JSONResponse([d.out() for d in self.devices.values()])
        return JSONResponse([self.device(unique_id).out()])

    async def send_route(self, request: Request) -> JSONResponse:
        if not self.authorised(request):
            return JSONResponse({"message": "unauthorized"}, 401)
        if self.fail_next:
            return JSONResponse({"message": "simulated failure"}, self.fail_next.pop(0))
        command = await request.json()
        ref = request.headers.get("idempotency-key") or command.get("attributes", {}).get("recourseCommandId")
        if command.get("type") == POSITION_SINGLE:
            return self.position_requested(command)
        if not ref or command.get("type") not in COMMAND_TYPES:
            return JSONResponse({"message": "unsupported command"}, 400)
        command.setdefault("attributes", {})["recourseCommandId"] = ref
        if ref in self.answers:  # the same command again (a retried sender): the first answer, no delivery
            status, body = self.answers[ref]
            return JSONResponse(body, status)
        device = self.by_id(command.get("deviceId", -1))
        if device is None:
            return JSONResponse({"message": "unknown device"}, 404)
        if device.online:
            self.execute(device, command)
            status = 200
        else:
            device.queued.append(command)
            status = 202
        body = {"id": len(self.answers) + 1, "deviceId": device.id, "type": command["type"],
                "attributes": command["attributes"]}
        self.answers[ref] = (status, body)
        return JSONResponse(body, status)

    def position_requested(self, command: dict[str, Any]) -> JSONResponse:
        device = self.by_id(command.get("deviceId", -1))
        if device is None:
            return JSONResponse({"message": "unknown device"}, 404)
        if not device.online:
            device.queued.append(command)
            return JSONResponse({"deviceId": device.id, "type": POSITION_SINGLE}, 202)
        self.report_position(device)
        return JSONResponse({"deviceId": device.id, "type": POSITION_SINGLE}, 200)

    # --- control ---------------------------------------------------------------------------------------

    async def control_route(self, request: Request) -> JSONResponse:
        device = self.device(request.path_params["unique_id"])
        if request.method == "PUT":
            changes = await request.json()
            for name in ("speed_kmh", "latitude", "longitude", "reject"):
                if name in changes:
                    setattr(device, name, changes[name])
            if any(name in changes for name in ("speed_kmh", "latitude", "longitude")):
                self.report_position(device)
            if changes.get("online") is not None:
                device.online = bool(changes["online"])
                while device.online and device.queued:
                    queued = device.queued.pop(0)
                    if queued.get("type") == POSITION_SINGLE:
                        self.report_position(device)
                    else:
                        self.execute(device, queued)
        return JSONResponse(device.out())

    async def fail_next_route(self, request: Request) -> JSONResponse:
        self.fail_next.append(int((await request.json()).get("status", 503)))
        return JSONResponse({"pending_failures": len(self.fail_next)})

    async def deliveries_route(self, request: Request) -> JSONResponse:
        return JSONResponse(self.deliveries)

    async def outbox_route(self, request: Request) -> JSONResponse:
        taken, self.outbox = self.outbox, []
        return JSONResponse(taken)

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/api/devices", self.devices_route, methods=["GET"]),
            Route("/api/commands/send", self.send_route, methods=["POST"]),
            Route("/simulator/devices/{unique_id}", self.control_route, methods=["GET", "PUT"]),
            Route("/simulator/fail-next", self.fail_next_route, methods=["POST"]),
            Route("/simulator/deliveries", self.deliveries_route, methods=["GET"]),
            Route("/simulator/outbox/take", self.outbox_route, methods=["POST"]),
        ])


def _now_iso() -> str:
    return clock.now().isoformat()


def start_in_thread(*, callback_url: str | None, key: bytes, ack_seconds: float,
                    token: str | None = SIMULATOR_TOKEN, host: str = "127.0.0.1",
                    traccar_key: str | None = None) -> str:
    """Serve a simulator on a free loopback port in a daemon thread; its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    simulator = Simulator(callback_url=callback_url, key=key, ack_seconds=ack_seconds, token=token,
                          traccar_key=traccar_key)
    server = uvicorn.Server(uvicorn.Config(simulator.app(), log_level="warning", lifespan="off"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="device-simulator", daemon=True).start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    return f"http://{host}:{sock.getsockname()[1]}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="GPS gateway simulator (Traccar subset)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8082)
    parser.add_argument("--callback-url", default=os.environ.get(
        "DEVICE_CALLBACK_URL", "http://127.0.0.1:8000/api/v1/device-gateway/callbacks"))
    parser.add_argument("--ack-seconds", type=float, default=2.0)
    parser.add_argument("--token", default=os.environ.get("DEVICE_GATEWAY_TOKEN", SIMULATOR_TOKEN))
    parser.add_argument("--traccar-key", default=None,
                        help="speak stock Traccar's forwarding with this key (DEVICE_TRACCAR_FORWARD_SECRET); "
                             "--callback-url is then the base, e.g. http://127.0.0.1:8000/api/v1/device-gateway/traccar")
    args = parser.parse_args(argv)
    key = os.environ.get("DEVICE_CALLBACK_SECRET", "").encode() or b"recourse-development-device-callback-key"
    simulator = Simulator(callback_url=args.callback_url, key=key, ack_seconds=args.ack_seconds, token=args.token,
                          traccar_key=args.traccar_key)
    uvicorn.run(simulator.app(), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
