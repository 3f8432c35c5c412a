"""Remote lock/unlock's queries. Lists start from readable(); the command's own moves (delivery, the
gateway's callbacks, expiry) are unscoped on purpose: they act for an approval already given."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Select, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.principal import Principal
from app.core.scoping import readable
from app.devices.models import OPEN, DeviceCommand, DeviceCommandTransition, DeviceGatewayEvent, DevicePosition
from app.requests import repository as requests_repo
from app.requests.repository import RequestFilters


def filtered_requests(principal: Principal, model: Any, filters: RequestFilters, *, machine_id: uuid.UUID | None,
                      mine: bool) -> Select[Any]:
    """The money requests' filters (state, company, contract, submitter, dates), and the machine, and mine."""
    stmt = requests_repo.filtered(principal, model, filters)
    if machine_id is not None:
        stmt = stmt.where(model.machine_id == machine_id)
    return stmt.where(model.requester_id == principal.user_id) if mine else stmt


def filtered_commands(principal: Principal, *, state: str | None, action: str | None,
                      contract_id: uuid.UUID | None, machine_id: uuid.UUID | None,
                      request_id: uuid.UUID | None) -> Select[Any]:
    conditions = [
        state is None or DeviceCommand.state == state,
        action is None or DeviceCommand.action == action,
        contract_id is None or DeviceCommand.contract_id == contract_id,
        machine_id is None or DeviceCommand.machine_id == machine_id,
        request_id is None or DeviceCommand.request_id == request_id,
    ]
    return readable(principal, DeviceCommand).where(*(c for c in conditions if c is not True))


async def transitions_of(session: AsyncSession, command_ids: list[uuid.UUID]
                         ) -> dict[uuid.UUID, list[DeviceCommandTransition]]:
    found: dict[uuid.UUID, list[DeviceCommandTransition]] = {i: [] for i in command_ids}
    if command_ids:
        stmt = (select(DeviceCommandTransition).where(DeviceCommandTransition.command_id.in_(command_ids))
                .order_by(DeviceCommandTransition.at, DeviceCommandTransition.id))
        for row in (await session.execute(stmt)).scalars():
            found[row.command_id].append(row)
    return found


async def lock_command(session: AsyncSession, command_id: uuid.UUID) -> DeviceCommand | None:
    stmt = (select(DeviceCommand).where(DeviceCommand.id == command_id).with_for_update()
            .execution_options(populate_existing=True))
    return await session.scalar(stmt)


async def get_command(session: AsyncSession, command_id: uuid.UUID) -> DeviceCommand | None:
    return await session.get(DeviceCommand, command_id)


async def lock_open_of_machine(session: AsyncSession, machine_id: uuid.UUID,
                               states: tuple[str, ...] = OPEN) -> list[DeviceCommand]:
    """The machine's commands in `states` (default: still open), row-locked, oldest first."""
    stmt = (select(DeviceCommand).where(DeviceCommand.machine_id == machine_id, DeviceCommand.state.in_(states))
            .order_by(DeviceCommand.seq).with_for_update().execution_options(populate_existing=True))
    return list((await session.execute(stmt)).scalars())


async def latest_command_of_machine(session: AsyncSession, machine_id: uuid.UUID) -> DeviceCommand | None:
    stmt = select(DeviceCommand).where(DeviceCommand.machine_id == machine_id).order_by(DeviceCommand.seq.desc())
    return await session.scalar(stmt.limit(1))


async def add_position(session: AsyncSession, row: dict[str, Any]) -> None:
    await session.execute(insert(DevicePosition), [row])


async def lock_waiting_of_machines(session: AsyncSession, machine_ids: list[uuid.UUID]) -> list[DeviceCommand]:
    stmt = (select(DeviceCommand).where(DeviceCommand.machine_id.in_(machine_ids),
                                        DeviceCommand.state == "waiting_safe")
            .order_by(DeviceCommand.id).with_for_update().execution_options(populate_existing=True))
    return list((await session.execute(stmt)).scalars())


async def add_transitions(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(DeviceCommandTransition), rows)


async def expire_due(session: AsyncSession, now: datetime) -> list[Any]:
    """Every open command past its expiry, expired in one statement: (id, group, requester, from state…)."""
    due = (select(DeviceCommand.id, DeviceCommand.state).where(DeviceCommand.state.in_(OPEN),
                                                               DeviceCommand.expires_at <= now)
           .with_for_update(skip_locked=True).cte("due"))
    stmt = (update(DeviceCommand).where(DeviceCommand.id == due.c.id)
            .values(state="expired", finished_at=now, version=DeviceCommand.version + 1, updated_at=now)
            .returning(DeviceCommand.id, DeviceCommand.group_id, DeviceCommand.company_id,
                       DeviceCommand.requester_id, DeviceCommand.action, DeviceCommand.machine_id,
                       due.c.state.label("from_state")))
    return list((await session.execute(stmt)).all())


async def record_event(session: AsyncSession, event_id: str, signature: str, kind: str) -> bool:
    """True when this callback is new (its event id and signature never seen before)."""
    stmt = (pg_insert(DeviceGatewayEvent).values(event_id=event_id, signature=signature, kind=kind)
            .on_conflict_do_nothing().returning(DeviceGatewayEvent.event_id))
    return (await session.scalar(stmt)) is not None


async def signature_seen(session: AsyncSession, signature: str) -> bool:
    stmt = select(DeviceGatewayEvent.event_id).where(DeviceGatewayEvent.signature == signature)
    return (await session.scalar(stmt)) is not None


async def latest_sent_command_of_device(session: AsyncSession, device_id: str) -> DeviceCommand | None:
    """The device's most recent command still waiting for its result (Traccar's result names none)."""
    stmt = (select(DeviceCommand).where(DeviceCommand.device_id == device_id, DeviceCommand.state == "sent")
            .order_by(DeviceCommand.sent_at.desc(), DeviceCommand.seq.desc()).limit(1))
    return await session.scalar(stmt)
