"""Remote lock and unlock: who may ask, the device command an approval queues, its state machine, its
delivery to the gateway, the gateway's callbacks and expiry.

Command states (TRANSITIONS): queued → sent → acknowledged | failed | expired; a lock waits in
`waiting_safe` while the machine's last reported speed is above the limit (a position report showing
it stopped puts it back to `queued`); an unsent command is `cancelled` when a newer one for the same
machine supersedes it. Every move is kept in `device_command_transition` with the provider's answer.
The machine's lock state changes only when the device acknowledges (contracts' `set_lock_state`).

Delivery is one queue job per command (app/devices/delivery.py). The handler locks the command row,
so one sender works on a command at a time, and acts only on a `queued` command, so a job that runs
again after its command moved on does nothing. The command id is the gateway's idempotency key: a
sender that dies after the gateway accepted (its transaction rolled back, the command still queued)
is retried and sends the same key again, which the gateway answers without delivering twice."""

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.approvals import registry
from app.approvals import requests as kit
from app.collection import repository as collection_repo
from app.contracts import machines as machine_rules
from app.contracts import repository as contracts_repo
from app.contracts.errors import ContractNotFound
from app.contracts.models import Contract, ContractState, Machine
from app.core import audit, events
from app.core.config import get_settings
from app.core.db import utcnow
from app.core.principal import Principal
from app.core.transitions import next_state
from app.devices import repository as repo
from app.devices.errors import (
    DeviceCommandIllegalTransition,
    DeviceContractNotActive,
    DeviceMachineNotOfContract,
    DeviceMachineWithoutGps,
)
from app.devices.gateway import Accepted
from app.devices.models import DeviceCommand, LockRequest, UnlockRequest
from app.ledger import repository as ledger_repo
from app.notifications.service import notify

TRANSITIONS: dict[tuple[str, str], str] = {
    ("queued", "hold"): "waiting_safe",       # a lock while the machine moves
    ("waiting_safe", "release"): "queued",    # a position report shows it stopped
    ("queued", "send"): "sent",               # the gateway took it (delivered, or queued while offline)
    ("sent", "acknowledge"): "acknowledged",  # the device did it: the lock state follows
    ("sent", "fail"): "failed",               # the device refused
    ("queued", "fail"): "failed",             # the gateway refused, or delivery gave up
    ("queued", "cancel"): "cancelled",        # superseded by a newer command for the machine
    ("waiting_safe", "cancel"): "cancelled",
    ("queued", "expire"): "expired",
    ("waiting_safe", "expire"): "expired",
    ("sent", "expire"): "expired",
}
FINAL = frozenset({"acknowledged", "failed", "expired", "cancelled"})
LOCK_STATE_AFTER = {"lock": "locked", "unlock": "unlocked"}
# The contract states a request may be filed in: a lock on a running contract; an unlock also after
# repossession or settlement (a machine locked earlier is released).
CONTRACT_STATES = {"lock": (ContractState.ACTIVE,),
                   "unlock": (ContractState.ACTIVE, "repossessed", "settled")}


# --- the requests ----------------------------------------------------------------------------------

async def contract_in_reach(session: AsyncSession, principal: Principal, contract_id: uuid.UUID) -> Contract:
    contract = await collection_repo.contract_in_reach(session, principal, contract_id)
    if contract is None:
        raise ContractNotFound("The contract does not exist or is not in your scope.")
    return contract


async def machine_of(session: AsyncSession, contract: Contract, machine_id: uuid.UUID) -> Machine:
    machines = (await contracts_repo.machines_of(session, [contract.id])).get(contract.id, [])
    machine = next((m for m in machines if m.id == machine_id), None)
    if machine is None:
        raise DeviceMachineNotOfContract(f"The machine {machine_id} is not one of contract {contract.number}'s.",
                                         errors=[{"pointer": "/machine_id", "message": "not of the contract"}])
    if not machine.gps_device_id:
        raise DeviceMachineWithoutGps(f"The machine {machine.serial_number} has no GPS device.")
    return machine


async def unlock_form(session: AsyncSession, principal: Principal, contract_id: uuid.UUID) -> dict[str, Any]:
    """What the unlock form shows: the latest payment that stands, and the machines' lock states."""
    contract = await contract_in_reach(session, principal, contract_id)
    payment = await ledger_repo.latest_payment(session, contract.id)
    machines = (await contracts_repo.machines_of(session, [contract.id])).get(contract.id, [])
    return {"contract_id": contract.id, "contract_state": contract.state,
            "latest_payment": None if payment is None else {
                "entry_id": payment.id, "amount": payment.amount, "value_date": payment.value_date,
                "method": payment.method},
            "machines": machines}


async def create_request(session: AsyncSession, principal: Principal, kind: kit.RequestKind[Any], action: str,
                         data: Any) -> tuple[Any, bool]:
    """A draft (or, with `submit`, a submitted request) about a machine with a GPS device of a contract
    the caller may file on; an unlock keeps the latest payment the form showed."""
    contract = await contract_in_reach(session, principal, data.contract_id)
    if contract.state not in CONTRACT_STATES[action]:
        raise DeviceContractNotActive(f"The contract {contract.number} is {contract.state}.")
    await machine_of(session, contract, data.machine_id)
    fields: dict[str, Any] = data.model_dump(exclude={"client_ref", "submit"})
    if action == "unlock":
        payment = await ledger_repo.latest_payment(session, contract.id)
        if payment is not None:
            fields.update(payment_entry_id=payment.id, payment_amount=payment.amount,
                          payment_date=payment.value_date)
    return await kit.create(session, principal, kind, fields, client_ref=data.client_ref,
                            company_id=contract.company_id, and_submit=data.submit)


# --- the command's moves -----------------------------------------------------------------------------

def _answer(value: Any) -> dict[str, Any] | None:
    return value if value is None or isinstance(value, dict) else {"detail": str(value)}


def move(command: DeviceCommand, action: str, rows: list[dict[str, Any]], *, answer: Any = None,
         note: str | None = None, at: datetime | None = None) -> None:
    """Move along TRANSITIONS (409 otherwise) and append the transition row to `rows`."""
    before = command.state
    command.state = next_state(TRANSITIONS, command.state, action, what="a device command",
                               error=DeviceCommandIllegalTransition)
    at = at or utcnow()
    if command.state == "sent":
        command.sent_at = at
    if command.state in FINAL:
        command.finished_at = at
    if answer is not None:
        command.last_answer = _answer(answer)
    rows.append({"id": uuid.uuid4(), "command_id": command.id, "from_state": before, "to_state": command.state,
                 "at": at, "answer": _answer(answer), "note": note[:500] if note else None})


async def _moved(session: AsyncSession, command: DeviceCommand, action: str, *, answer: Any = None,
                 note: str | None = None) -> None:
    rows: list[dict[str, Any]] = []
    before = command.state
    move(command, action, rows, answer=answer, note=note)
    await session.flush()
    await repo.add_transitions(session, rows)
    audit.record(session, None, f"device_command.{command.state}", "device_command", command.id,
                 company_id=command.company_id, group_id=command.group_id,
                 before={"state": before}, after={"state": command.state, "note": note})


async def queue_command(ctx: registry.EffectContext, request: LockRequest | UnlockRequest, action: str,
                        enqueue: Any) -> DeviceCommand:
    """The approved request's command, in the approving transaction: older unsent commands for the
    machine are cancelled (superseded), the new one queued and its delivery job enqueued."""
    session = ctx.session
    machine = await contracts_repo.lock_machine(session, request.machine_id)  # serialises the machine's commands
    assert machine is not None  # the request references it
    now = utcnow()
    command = DeviceCommand(
        id=uuid.uuid4(), group_id=request.group_id, company_id=request.company_id, contract_id=request.contract_id,
        machine_id=machine.id, requester_id=request.requester_id, request_kind=f"{action}_request",
        request_id=request.id, action=action, state="queued", device_id=machine.gps_device_id or "",
        expires_at=now + timedelta(hours=get_settings().device_command_ttl_hours))
    rows: list[dict[str, Any]] = []
    for older in await repo.lock_unsent_of_machine(session, machine.id):
        move(older, "cancel", rows, at=now, note=f"superseded by {action} command {command.id}")
        audit.record(session, ctx.actor, "device_command.cancelled", "device_command", older.id,
                     company_id=older.company_id, after={"state": older.state, "superseded_by": command.id})
    await session.flush()  # the cancelled leave the partial unique index before the new one enters
    session.add(command)
    await session.flush()
    rows.append({"id": uuid.uuid4(), "command_id": command.id, "from_state": None, "to_state": "queued",
                 "at": now, "answer": None, "note": f"{request.__tablename__} {request.id} approved"})
    await repo.add_transitions(session, rows)
    audit.record(session, ctx.actor, "device_command.queued", "device_command", command.id,
                 company_id=command.company_id,
                 after=audit.snapshot(command, "action", "machine_id", "device_id", "request_id", "expires_at"))
    await enqueue(session, command)
    return command


def _too_fast(machine: Machine) -> bool:
    limit: Decimal = get_settings().device_max_lock_speed_kmh
    return machine.last_speed_kmh is not None and machine.last_speed_kmh > limit


async def delivery_target(session: AsyncSession, command_id: uuid.UUID) -> tuple[DeviceCommand, bool] | None:
    """The command to send now, locked, and whether it may go: None when it is no longer queued
    (sent, cancelled, expired… by an earlier run); a lock on a moving machine is put to `waiting_safe`
    and not sent (False)."""
    command = await repo.lock_command(session, command_id)
    if command is None or command.state != "queued":
        return None
    if command.action == "lock":
        machine = await contracts_repo.lock_machine(session, command.machine_id)
        if machine is not None and _too_fast(machine):
            await _moved(session, command, "hold", answer={"speed_kmh": str(machine.last_speed_kmh)},
                         note="the machine is moving; the lock waits until it stops")
            return command, False
    return command, True


async def sent(session: AsyncSession, command: DeviceCommand, accepted: Accepted) -> None:
    note = "queued at the gateway: the device is offline" if accepted.offline else "delivered to the device"
    await _moved(session, command, "send", answer=accepted.answer, note=note)


async def failed(session: AsyncSession, command: DeviceCommand, reason: str, answer: Any = None) -> None:
    await _moved(session, command, "fail", answer=answer or {"reason": reason}, note=reason)
    await _publish(session, command, "device_command.failed", reason=reason)
    await _tell_requester(session, command, "device_command.failed", "设备指令失败 / Device command failed", reason)


async def gave_up(session: AsyncSession, command_id: uuid.UUID, reason: str) -> None:
    """Delivery's last attempt failed: a command still queued fails (its requester is told)."""
    command = await repo.lock_command(session, command_id)
    if command is not None and command.state == "queued":
        await failed(session, command, f"delivery gave up: {reason}")


async def _publish(session: AsyncSession, command: DeviceCommand, event_type: str, **extra: Any) -> None:
    """An integration event, in order with the contract's other events (ordered by contract)."""
    await events.publish(session, event_type, {
        "command_id": command.id, "contract_id": command.contract_id, "machine_id": command.machine_id,
        "action": command.action, "state": command.state, "device_id": command.device_id,
        "finished_at": command.finished_at, **extra,
    }, group_id=command.group_id, company_id=command.company_id, ordering_key=command.contract_id)


async def _tell_requester(session: AsyncSession, command: DeviceCommand, kind: str, title: str, body: str) -> None:
    await notify(session, group_id=command.group_id, user_ids=[command.requester_id], kind=kind, title=title,
                 body=f"{command.action} {command.device_id}: {body}", entity_type="device_command",
                 entity_id=command.id, dedupe_key=f"{kind}:{command.id}")


# --- the gateway's callbacks ---------------------------------------------------------------------------

async def command_result(session: AsyncSession, command_id: uuid.UUID, result: str, detail: str | None,
                         answer: dict[str, Any]) -> str:
    """The device's answer to a sent command. Acknowledged: the machine's lock state follows. A result
    for a command no longer `sent` (expired, or unknown) changes nothing; answers what happened."""
    command = await repo.lock_command(session, command_id)
    if command is None:
        return "unknown_command"
    if command.state != "sent":
        return f"ignored_{command.state}"
    if result == "acknowledged":
        machine = await contracts_repo.lock_machine(session, command.machine_id)
        await _moved(session, command, "acknowledge", answer=answer, note=detail)
        await _publish(session, command, "device_command.acknowledged")
        if machine is not None:
            await machine_rules.set_lock_state(session, machine, LOCK_STATE_AFTER[command.action],
                                               command.finished_at or utcnow(), command_id=command.id)
    else:
        await failed(session, command, detail or "the device refused the command", answer)
    return command.state


async def position_report(session: AsyncSession, device_id: str, *, latitude: Decimal | None,
                          longitude: Decimal | None, speed_kmh: Decimal | None, at: datetime) -> list[DeviceCommand]:
    """A machine's position and speed; a lock waiting for it to stop goes back to `queued` when it has.
    Answers the commands released (the caller enqueues their delivery)."""
    machines = await contracts_repo.lock_machines_with_device(session, device_id)
    stopped = [m.id for m in machines
               if machine_rules.record_position(m, latitude=latitude, longitude=longitude, speed_kmh=speed_kmh, at=at)
               and not _too_fast(m)]
    await session.flush()
    released = await repo.lock_waiting_of_machines(session, stopped) if stopped else []
    for command in released:
        await _moved(session, command, "release", answer={"speed_kmh": None if speed_kmh is None else str(speed_kmh)},
                     note="the machine stopped")
    return released


# --- expiry ---------------------------------------------------------------------------------------------

async def expire_due(session: AsyncSession, now: datetime | None = None) -> dict[str, int]:
    """Every open command past its time expires (one UPDATE); each requester is told. Set-based and
    idempotent: a second run finds nothing left to expire."""
    now = now or utcnow()
    expired = await repo.expire_due(session, now)
    await repo.add_transitions(session, [
        {"id": uuid.uuid4(), "command_id": row.id, "from_state": row.from_state, "to_state": "expired", "at": now,
         "answer": None, "note": "not acknowledged in time"} for row in expired])
    for row in expired:
        await notify(session, group_id=row.group_id, user_ids=[row.requester_id], kind="device_command.expired",
                     title="设备指令已过期 / Device command expired",
                     body=f"{row.action}: not acknowledged in time (was {row.from_state})",
                     entity_type="device_command", entity_id=row.id, dedupe_key=f"device_command.expired:{row.id}")
        audit.record(session, None, "device_command.expired", "device_command", row.id, company_id=row.company_id,
                     group_id=row.group_id, before={"state": row.from_state}, after={"state": "expired"})
    return {"expired": len(expired)}
