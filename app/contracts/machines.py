"""Machine rules: registration in a company the caller sees, serial number and GPS device id unique in
the group. Lock state and positions are never edited by hand: `set_lock_state` is called by an
acknowledged device command and `record_position` by the gateway's position reports (app/devices)."""

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.contracts import repository as repo
from app.contracts.errors import MachineDuplicate, MachineDuplicateGpsDeviceId, MachineDuplicateSerialNumber
from app.contracts.models import Machine
from app.contracts.schemas import MachineCreate, MachineUpdate
from app.core import audit
from app.core.errors import Conflict
from app.core.principal import Principal
from app.core.updates import audited_update
from app.org import repository as org_repo

UNIQUE_FIELDS = (("serial_number", "serial number (机号)", MachineDuplicateSerialNumber),
                 ("gps_device_id", "GPS device id", MachineDuplicateGpsDeviceId))


async def _ensure_unique(session: AsyncSession, group_id: uuid.UUID, values: dict[str, str | None],
                         exclude_id: uuid.UUID | None = None) -> None:
    for field, label, duplicate in UNIQUE_FIELDS:
        value = values.get(field)
        if value and await repo.machine_value_taken(session, group_id, getattr(Machine, field), value, exclude_id):
            raise duplicate(f"A machine with this {label} already exists in the group.",
                            errors=[{"pointer": f"/body/{field}", "message": "already used by another machine"}])


async def create_machine(session: AsyncSession, principal: Principal, data: MachineCreate) -> Machine:
    company_id = principal.company_id if data.company_id is None else await org_repo.get_readable_company_id(
        session, principal, data.company_id)
    fields = data.model_dump(exclude={"company_id"})
    await _ensure_unique(session, principal.group_id, fields)
    machine = Machine(group_id=principal.group_id, company_id=company_id, created_by_id=principal.user_id,
                      lock_state="unlocked", **fields)
    session.add(machine)
    await _flush_racing(session)
    audit.record(session, principal, "machine.created", "machine", machine.id, company_id=company_id,
                 after=audit.snapshot(machine))
    return machine


async def update_machine(session: AsyncSession, principal: Principal, machine: Machine,
                         data: MachineUpdate) -> Machine:
    await _ensure_unique(session, principal.group_id, data.model_dump(exclude_unset=True), exclude_id=machine.id)
    try:
        async with session.begin_nested():
            await audited_update(session, principal, machine, data, action="machine.updated",
                                 entity_type="machine", company_id=machine.company_id)
    except IntegrityError as exc:
        raise _racing_duplicate() from exc
    return machine


def _racing_duplicate() -> Conflict:
    return MachineDuplicate("Another machine with this serial number or GPS device id was just registered.")


async def _flush_racing(session: AsyncSession) -> None:
    """Flush; a concurrent registration of the same serial number or GPS id answers 409, not 500."""
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise _racing_duplicate() from exc


async def set_lock_state(session: AsyncSession, machine: Machine, state: str, at: datetime, *,
                         command_id: uuid.UUID) -> None:
    """The device acknowledged a lock or unlock: the machine's lock state follows (audited)."""
    before = audit.snapshot(machine, "lock_state")
    machine.lock_state, machine.lock_state_at = state, at
    await session.flush()
    audit.record(session, None, "machine.lock_state", "machine", machine.id, company_id=machine.company_id,
                 group_id=machine.group_id, before=before, after={"lock_state": state, "command_id": command_id})


def record_position(machine: Machine, *, latitude: Decimal | None, longitude: Decimal | None,
                    speed_kmh: Decimal | None, at: datetime) -> bool:
    """A position report; an older report than the one kept is ignored (reports arrive out of order).
    True when applied."""
    if machine.last_position_at is not None and at < machine.last_position_at:
        return False
    machine.last_latitude, machine.last_longitude = latitude, longitude
    machine.last_speed_kmh, machine.last_position_at = speed_kmh, at
    return True
