"""Machine rules: registration in a company the caller sees, serial number unique in the group, GPS
device id unique in the whole installation (the gateway knows a device by its id alone, so a second
binding, in any group, would receive the first one's positions and send it commands). Lock state
and positions are never edited by hand: `set_lock_state` is called by an acknowledged device command
or the device's own report, `record_position` by the gateway's position reports (app/devices)."""

import uuid
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.contracts import repository as repo
from app.contracts.errors import MachineDeviceTaken, MachineDuplicate, MachineDuplicateSerialNumber
from app.contracts.models import Machine
from app.contracts.schemas import MachineCreate, MachineUpdate
from app.core import audit
from app.core.errors import Conflict
from app.core.principal import Principal
from app.core.updates import audited_update
from app.org import repository as org_repo


async def _ensure_unique(session: AsyncSession, group_id: uuid.UUID, values: dict[str, str | None],
                         exclude_id: uuid.UUID | None = None) -> None:
    serial, device = values.get("serial_number"), values.get("gps_device_id")
    if serial and await repo.machine_value_taken(session, Machine.serial_number, serial, exclude_id, group_id=group_id):
        raise MachineDuplicateSerialNumber("A machine with this serial number (机号) already exists in the group.",
                                           errors=[{"pointer": "/body/serial_number",
                                                    "message": "already used by another machine"}])
    if device and await repo.machine_value_taken(session, Machine.gps_device_id, device, exclude_id):
        raise _device_taken()


def _device_taken() -> MachineDeviceTaken:
    # The same answer whoever holds the device, in this group or another: it reveals only "taken".
    return MachineDeviceTaken("This GPS device is bound to another machine.",
                              errors=[{"pointer": "/body/gps_device_id", "message": "bound to another machine"}])


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
        raise _racing_duplicate(exc) from exc
    return machine


def _racing_duplicate(exc: IntegrityError) -> Conflict:
    if "uq_machine_gps_device_id" in str(exc.orig):
        return _device_taken()
    return MachineDuplicate("Another machine with this serial number or GPS device id was just registered.")


async def _flush_racing(session: AsyncSession) -> None:
    """Flush; a concurrent registration of the same serial number or GPS id answers 409, not 500."""
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise _racing_duplicate(exc) from exc


async def set_lock_state(session: AsyncSession, machine: Machine, state: str, at: datetime, *,
                         seq: int, command_id: uuid.UUID | None = None) -> None:
    """The machine's lock state as a device command's result (`seq`, its sequence) or the device's own
    report (`seq` = the machine's latest: older results no longer count) set it; audited."""
    before = audit.snapshot(machine, "lock_state", "lock_state_seq")
    machine.lock_state, machine.lock_state_at, machine.lock_state_seq = state, at, seq
    await session.flush()
    audit.record(session, None, "machine.lock_state", "machine", machine.id, company_id=machine.company_id,
                 group_id=machine.group_id, before=before,
                 after={"lock_state": state, "command_id": command_id, "seq": seq,
                        "source": "device report" if command_id is None else "command result"})


def result_counts(machine: Machine, seq: int) -> bool:
    """Whether a command's result may set the lock state: no newer command's result, nor a device
    report made after it was queued, has set it already."""
    return machine.lock_state_seq is None or seq >= machine.lock_state_seq


def lock_hold_reason(machine: Machine, now: datetime, *, max_speed: Decimal, max_age: timedelta) -> str | None:
    """Why a lock may not go out now, or None: it needs a report at most `max_age` old that shows the
    machine at or below `max_speed`. An unknown or stale speed is not "stopped"."""
    if machine.last_position_at is None or machine.last_speed_kmh is None:
        return "no speed reported yet: the lock waits for a report showing the machine stopped"
    if now - machine.last_position_at > max_age:
        return "the last report is too old: the lock waits for a fresh one showing the machine stopped"
    if machine.last_speed_kmh > max_speed:
        return "the machine is moving; the lock waits until it stops"
    return None


def record_position(machine: Machine, *, latitude: Decimal | None, longitude: Decimal | None,
                    speed_kmh: Decimal | None, at: datetime) -> bool:
    """A position report; an older report than the one kept is ignored (reports arrive out of order).
    True when applied. The caller never passes a report dated in the future by a device's clock."""
    if machine.last_position_at is not None and at < machine.last_position_at:
        return False
    machine.last_latitude, machine.last_longitude = latitude, longitude
    machine.last_speed_kmh, machine.last_position_at = speed_kmh, at
    return True
