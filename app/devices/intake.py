"""The gateway's callbacks, the routes without a bearer token, in two formats:

- `POST /api/v1/device-gateway/callbacks`, our signed format: HMAC-SHA256 over the raw body and a
  timestamp (app/devices/signing.py; older than 5 minutes → 401), a replayed request (a signature
  already seen) → 401, applied once per event id (a provider's retry of an applied event, freshly
  signed, answers 200 and changes nothing).
- `POST /api/v1/device-gateway/traccar/positions` and `…/traccar/events`: stock Traccar's position and
  event forwarding (`forward.type=json`, `event.forward.url`), authenticated by the configured secret
  in the `X-Recourse-Gateway-Key` header (Traccar's `forward.header`), over HTTPS. Applied once per
  Traccar position or event id. Traccar reports speed in knots; a `commandResult` event answers the
  device's latest sent command.

Either way a command result is believed only when its command, device and group agree
(`service.believe_result`): else 409, audited, and nothing else changes."""

import hashlib
import hmac
import json
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.config import get_settings
from app.core.db import commit, utcnow
from app.core.types import MultilineText, Text
from app.devices import delivery, service, signing
from app.devices import repository as repo
from app.devices.errors import GatewayCallbackInvalid, GatewayCallbackMismatch, GatewaySignatureInvalid

# What a gateway sends is text like anybody's: bounded, and no NUL or control characters.
EventId = Text(100, min_length=1)
DeviceId = Text(60, min_length=1)


class _Event(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    event_id: EventId
    device_id: DeviceId
    at: datetime | None = None


class CommandResult(_Event):
    type: Literal["command_result"]
    command_id: uuid.UUID
    result: Literal["acknowledged", "failed"]
    detail: MultilineText(500) | None = None


class PositionReport(_Event):
    type: Literal["position"]
    latitude: Annotated[float, Field(ge=-90, le=90)] | None = None
    longitude: Annotated[float, Field(ge=-180, le=180)] | None = None
    speed_kmh: Annotated[float, Field(ge=0, le=1000)] | None = None
    blocked: bool | None = None  # the engine cut-off output, where the device reports it


Callback = Annotated[CommandResult | PositionReport, Field(discriminator="type")]
CALLBACK = TypeAdapter(Callback)


def _validated(adapter: TypeAdapter[Any], body: bytes, what: str, *, union_tags: frozenset[str] = frozenset()) -> Any:
    """The body as `adapter` reads it; a 422 problem naming the first ten faults otherwise. A
    discriminated union's errors name the chosen member first (`position`, `latitude`); the body has
    no such level, so the pointer leaves it out."""
    def pointer(loc: tuple[Any, ...]) -> str:
        return "/body/" + "/".join(str(p) for p in (loc[1:] if loc and loc[0] in union_tags else loc))

    try:
        return adapter.validate_json(body)
    except ValidationError as error:
        raise GatewayCallbackInvalid(f"The body is not {what}.",
                                     errors=[{"pointer": pointer(e["loc"]), "message": e["msg"]}
                                             for e in error.errors()[:10]]) from error


def _parse(body: bytes) -> CommandResult | PositionReport:
    return _validated(CALLBACK, body, "a command result or a position report",
                      union_tags=frozenset({"command_result", "position"}))


def _decimal(value: float | None, places: str) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal(places))


def _answer(event: BaseModel) -> dict[str, Any]:
    return json.loads(event.model_dump_json())


async def receive(session: AsyncSession, body: bytes, timestamp: str | None, given: str | None) -> dict[str, Any]:
    """Authenticate, deduplicate and apply one signed callback: {"event_id", "applied", "outcome"}."""
    digest = signing.verify(get_settings().device_callback_key(), timestamp, given, body, clock.timestamp())
    if digest is None:
        raise GatewaySignatureInvalid("The callback's signature is missing, invalid or older than 5 minutes.")
    event = _parse(body)
    if isinstance(event, CommandResult):
        await _believe(session, event)
    if not await repo.record_event(session, event.event_id, digest, event.type):
        if await repo.signature_seen(session, digest):
            raise GatewaySignatureInvalid("This signed callback was already received (a replay).")
        return {"event_id": event.event_id, "applied": False, "outcome": "duplicate"}
    return {"event_id": event.event_id, "applied": True, "outcome": await _apply(session, event)}


async def _believe(session: AsyncSession, event: CommandResult) -> None:
    try:
        await service.believe_result(session, event.command_id, event.device_id)
    except GatewayCallbackMismatch:
        await commit(session)  # the rejection's audit stays; nothing else was written
        raise


async def _apply(session: AsyncSession, event: CommandResult | PositionReport) -> str:
    if isinstance(event, CommandResult):
        return await service.command_result(session, event.command_id, event.result, event.detail, _answer(event))
    outcome, released = await service.position_report(
        session, event.device_id, latitude=_decimal(event.latitude, "0.000001"),
        longitude=_decimal(event.longitude, "0.000001"), speed_kmh=_decimal(event.speed_kmh, "0.1"),
        blocked=event.blocked, at=event.at or utcnow())
    for command in released:
        await delivery.schedule(session, command)
    return outcome


# --- stock Traccar's forwarding -----------------------------------------------------------------------

KNOTS_TO_KMH = 1.852
TRACCAR_KEY_HEADER = "X-Recourse-Gateway-Key"
# Strict as the gateways send them (JSON numbers, booleans and RFC 3339 strings); extra fields ignored.
_Lax = ConfigDict(extra="ignore", strict=True)


class TraccarDevice(BaseModel):
    model_config = _Lax
    uniqueId: DeviceId  # noqa: N815 - Traccar's names


class TraccarAttributes(BaseModel):
    """The attributes Recourse reads (Traccar sends many more; they are ignored)."""

    model_config = _Lax
    blocked: bool | None = None  # the engine cut-off output
    result: MultilineText(2000) | None = None  # a commandResult's text


class TraccarPosition(BaseModel):
    model_config = _Lax
    id: int
    fixTime: datetime | None = None  # noqa: N815
    deviceTime: datetime | None = None  # noqa: N815
    latitude: Annotated[float, Field(ge=-90, le=90)] | None = None
    longitude: Annotated[float, Field(ge=-180, le=180)] | None = None
    speed: Annotated[float, Field(ge=0, le=600)] | None = None  # knots
    attributes: TraccarAttributes = Field(default_factory=TraccarAttributes)


class TraccarEvent(BaseModel):
    model_config = _Lax
    id: int
    type: Text(60)
    eventTime: datetime | None = None  # noqa: N815
    attributes: TraccarAttributes = Field(default_factory=TraccarAttributes)


class TraccarPositionForward(BaseModel):
    model_config = _Lax
    position: TraccarPosition
    device: TraccarDevice


class TraccarEventForward(BaseModel):
    model_config = _Lax
    event: TraccarEvent
    position: TraccarPosition | None = None
    device: TraccarDevice


def _traccar_position(position: TraccarPosition, device: TraccarDevice) -> PositionReport:
    return PositionReport(
        type="position", event_id=f"traccar-position-{position.id}", device_id=device.uniqueId,
        at=position.fixTime or position.deviceTime, latitude=position.latitude, longitude=position.longitude,
        speed_kmh=None if position.speed is None else round(position.speed * KNOTS_TO_KMH, 1),
        blocked=position.attributes.blocked)


def _traccar_parse(model: type[BaseModel], body: bytes) -> Any:
    return _validated(TypeAdapter(model), body, "Traccar's forwarding JSON")


def _traccar_authentic(given: str | None) -> None:
    secret = get_settings().device_traccar_forward_secret
    if secret is None or not given or not hmac.compare_digest(given.encode(), secret.get_secret_value().encode()):
        raise GatewaySignatureInvalid(f"The {TRACCAR_KEY_HEADER} header is missing or wrong.")


async def receive_traccar_position(session: AsyncSession, body: bytes, given: str | None) -> dict[str, Any]:
    _traccar_authentic(given)
    forwarded = _traccar_parse(TraccarPositionForward, body)
    return await _once(session, body, _traccar_position(forwarded.position, forwarded.device))


async def receive_traccar_event(session: AsyncSession, body: bytes, given: str | None) -> dict[str, Any]:
    """A `commandResult` answers the device's latest sent command (Traccar's result carries no id of
    ours; a device answers its commands in order); any other event applies the position it carries."""
    _traccar_authentic(given)
    forwarded = _traccar_parse(TraccarEventForward, body)
    device_id, event = forwarded.device.uniqueId, forwarded.event
    if event.type == "commandResult":
        command = await repo.latest_sent_command_of_device(session, device_id)
        if command is None:
            return {"event_id": f"traccar-event-{event.id}", "applied": False, "outcome": "no_command_sent"}
        result = CommandResult(type="command_result", event_id=f"traccar-event-{event.id}", device_id=device_id,
                               at=event.eventTime, command_id=command.id, result="acknowledged",
                               detail=(event.attributes.result or "")[:500] or None)
        await _believe(session, result)
        return await _once(session, body, result)
    if forwarded.position is None:
        return {"event_id": f"traccar-event-{event.id}", "applied": False, "outcome": f"ignored_{event.type}"}
    return await _once(session, body, _traccar_position(forwarded.position, forwarded.device))


async def _once(session: AsyncSession, body: bytes, event: CommandResult | PositionReport) -> dict[str, Any]:
    if not await repo.record_event(session, event.event_id, hashlib.sha256(body).hexdigest(), event.type):
        return {"event_id": event.event_id, "applied": False, "outcome": "duplicate"}
    return {"event_id": event.event_id, "applied": True, "outcome": await _apply(session, event)}
