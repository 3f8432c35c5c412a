"""Delivery of device commands through the durable queue (app/core/queue.py): one `device.send` job
per command, enqueued in the transaction that queued (or released) the command, retried with
exponential backoff while the gateway is unavailable, surviving restarts; after the last attempt the
command fails and its requester is told. The rules of a send are the service's (`delivery_target`)."""

import contextlib
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import queue
from app.devices import gateway as gateways
from app.devices import service
from app.devices.models import DeviceCommand

JOB = "device.send"


async def schedule(session: AsyncSession, command: DeviceCommand) -> None:
    """Queue the command's delivery in the caller's transaction: one job per command and state change
    (keyed by its version, so a lock released after waiting is queued even while the job that held it
    back is still being marked done)."""
    await queue.enqueue(session, JOB, {"command_id": str(command.id)},
                        dedupe_key=f"{JOB}:{command.id}:{command.version}")


@queue.handler(JOB, max_attempts=12, backoff_seconds=5, max_backoff_seconds=3600)
async def send(session: AsyncSession, payload: dict[str, Any], attempt: int) -> None:
    target = await service.delivery_target(session, uuid.UUID(payload["command_id"]))
    if target is None:
        return  # nothing to send: moved on already
    command, may_go = target
    gateway = gateways.current()
    if not may_go:  # a lock waits for a fresh report of the machine stopped: ask the device for one
        if gateway is not None:
            with contextlib.suppress(gateways.GatewayUnavailable, gateways.GatewayRefused):
                await gateway.request_position(command.device_id)
        return
    if gateway is None:
        await service.failed(session, command, "no device gateway is configured")
        return
    outbound = gateways.Outbound(command_id=str(command.id), device_id=command.device_id, action=command.action)
    try:
        accepted = await gateway.send(outbound)
    except gateways.GatewayRefused as refused:
        await service.failed(session, command, str(refused), refused.answer)
        return
    # GatewayUnavailable (and anything else) propagates: the queue rolls back and retries later.
    await service.sent(session, command, accepted)


@send.on_give_up
async def gave_up(session: AsyncSession, payload: dict[str, Any], reason: str) -> None:
    await service.gave_up(session, uuid.UUID(payload["command_id"]), reason)
