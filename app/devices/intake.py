"""The gateway's callbacks (`POST /api/v1/device-gateway/callbacks`), the one route without a bearer
token: authenticated by the HMAC-SHA256 signature over the raw body and a timestamp (app/devices/
signing.py; older than 5 minutes → 401), a replayed request (a signature already seen) → 401, and
applied once per event id (a provider's retry of an applied event, freshly signed, answers 200 and
changes nothing)."""

import json
import time
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import get_settings
from app.core.db import utcnow
from app.devices import delivery, service, signing
from app.devices import repository as repo
from app.devices.errors import GatewayCallbackInvalid, GatewaySignatureInvalid

EventId = Annotated[str, Field(min_length=1, max_length=100)]
DeviceId = Annotated[str, Field(min_length=1, max_length=60)]


class _Event(BaseModel):
    model_config = ConfigDict(extra="ignore")
    event_id: EventId
    device_id: DeviceId
    at: datetime | None = None


class CommandResult(_Event):
    type: Literal["command_result"]
    command_id: uuid.UUID
    result: Literal["acknowledged", "failed"]
    detail: Annotated[str, Field(max_length=500)] | None = None


class PositionReport(_Event):
    type: Literal["position"]
    latitude: Annotated[float, Field(ge=-90, le=90)] | None = None
    longitude: Annotated[float, Field(ge=-180, le=180)] | None = None
    speed_kmh: Annotated[float, Field(ge=0, le=1000)] | None = None


Callback = Annotated[CommandResult | PositionReport, Field(discriminator="type")]
CALLBACK = TypeAdapter(Callback)


def _parse(body: bytes) -> CommandResult | PositionReport:
    try:
        return CALLBACK.validate_json(body)
    except ValidationError as error:
        raise GatewayCallbackInvalid("The callback is not a command result or a position report.",
                                     errors=[{"pointer": "/" + "/".join(str(p) for p in e["loc"]), "message": e["msg"]}
                                             for e in error.errors()[:10]]) from error


def _decimal(value: float | None, places: str) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal(places))


def _answer(event: BaseModel) -> dict[str, Any]:
    return json.loads(event.model_dump_json())


async def receive(session: AsyncSession, body: bytes, timestamp: str | None, given: str | None) -> dict[str, Any]:
    """Authenticate, deduplicate and apply one callback: {"event_id", "applied", "outcome"}."""
    digest = signing.verify(get_settings().device_callback_key(), timestamp, given, body, time.time())
    if digest is None:
        raise GatewaySignatureInvalid("The callback's signature is missing, invalid or older than 5 minutes.")
    event = _parse(body)
    if not await repo.record_event(session, event.event_id, digest, event.type):
        if await repo.signature_seen(session, digest):
            raise GatewaySignatureInvalid("This signed callback was already received (a replay).")
        return {"event_id": event.event_id, "applied": False, "outcome": "duplicate"}
    if isinstance(event, CommandResult):
        outcome = await service.command_result(session, event.command_id, event.result, event.detail, _answer(event))
    else:
        released = await service.position_report(
            session, event.device_id, latitude=_decimal(event.latitude, "0.000001"),
            longitude=_decimal(event.longitude, "0.000001"), speed_kmh=_decimal(event.speed_kmh, "0.1"),
            at=event.at or utcnow())
        for command in released:
            await delivery.schedule(session, command)
        outcome = f"released {len(released)}"
    return {"event_id": event.event_id, "applied": True, "outcome": outcome}
