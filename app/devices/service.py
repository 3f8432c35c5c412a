"""Remote lock and unlock: who may ask, the device command an approval queues, its state machine, its
delivery to the gateway, the gateway's callbacks and expiry.

Command states (TRANSITIONS): queued → sent → acknowledged | failed | expired; a lock waits in
`waiting_safe` until a fresh report (DEVICE_MAX_POSITION_AGE_SECONDS) shows the machine at or below
the speed limit: an unknown or stale speed is not "stopped" (a report that shows it puts the lock
back to `queued`). Each command takes its machine's next sequence number; a newer command supersedes
the older open ones: unsent ones are `cancelled`, sent ones `superseded` (Traccar cannot withdraw a
command queued for an offline device). Every move is kept in `device_command_transition` with the
provider's answer.

The machine's lock state follows a command's acknowledgement unless a newer command's result or a
report of the device's own output state set it after that command was queued (`result_counts`): a
superseded command's result is recorded but never counts; an expired command acknowledged late
counts (the machine did lock) and raises an alert. A device that reports its output state
(`blocked`) is believed over any command, and a disagreement alerts the requester and the dispatchers.

A callback is believed only when everything in it agrees: the command is the device's and the
device is bound to that command's machine, in the command's group. Else it is refused (409), audited
in the groups concerned, and nothing else changes.

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
from app.collection.permissions import CASE_DISPATCH
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
    GatewayCallbackMismatch,
)
from app.devices.gateway import Accepted
from app.devices.models import UNSENT, DeviceCommand, LockRequest, UnlockRequest
from app.ledger import repository as ledger_repo
from app.notifications.service import notify
from app.org import repository as org_repo

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
    ("sent", "supersede"): "superseded",      # a newer command came while this one waited at the gateway
}
FINAL = frozenset({"acknowledged", "failed", "expired", "cancelled", "superseded"})
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
    return await kit.create(session, principal, kind, fields, body=data,
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
    machine.command_seq += 1
    command = DeviceCommand(
        id=uuid.uuid4(), group_id=request.group_id, company_id=request.company_id, contract_id=request.contract_id,
        machine_id=machine.id, requester_id=request.requester_id, request_kind=f"{action}_request",
        request_id=request.id, action=action, seq=machine.command_seq, state="queued",
        device_id=machine.gps_device_id or "",
        expires_at=now + timedelta(hours=get_settings().device_command_ttl_hours))
    rows: list[dict[str, Any]] = []
    for older in await repo.lock_open_of_machine(session, machine.id):
        move(older, "cancel" if older.state in UNSENT else "supersede", rows, at=now,
             note=f"superseded by {action} command {command.id} (#{command.seq})")
        audit.record(session, ctx.actor, f"device_command.{older.state}", "device_command", older.id,
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


def _hold_reason(machine: Machine) -> str | None:
    settings = get_settings()
    return machine_rules.lock_hold_reason(machine, utcnow(), max_speed=settings.device_max_lock_speed_kmh,
                                          max_age=timedelta(seconds=settings.device_max_position_age_seconds))


async def delivery_target(session: AsyncSession, command_id: uuid.UUID) -> tuple[DeviceCommand, bool] | None:
    """The command to send now, locked, and whether it may go: None when it is no longer queued
    (sent, cancelled, expired… by an earlier run); a lock without a fresh report of the machine
    stopped is put to `waiting_safe` and not sent (False)."""
    command = await repo.lock_command(session, command_id)
    if command is None or command.state != "queued":
        return None
    if command.action == "lock":
        machine = await contracts_repo.lock_machine(session, command.machine_id)
        reason = None if machine is None else _hold_reason(machine)
        if machine is not None and reason is not None:
            await _moved(session, command, "hold", note=reason, answer={
                "speed_kmh": None if machine.last_speed_kmh is None else str(machine.last_speed_kmh),
                "position_at": None if machine.last_position_at is None else machine.last_position_at.isoformat()})
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

async def believe_result(session: AsyncSession, command_id: uuid.UUID, device_id: str) -> None:
    """Refuse (409, audited, nothing else written) a command result whose parts disagree: the command
    must exist, be sent to this device, and the device be bound to the command's machine in its group."""
    command = await repo.get_command(session, command_id)
    machine = await contracts_repo.machine_with_device(session, device_id)
    if (command is not None and machine is not None and command.device_id == device_id
            and machine.id == command.machine_id and machine.group_id == command.group_id):
        return
    detail = {"command_id": command_id, "device_id": device_id,
              "command_device_id": None if command is None else command.device_id}
    for group_id, company_id, entity_type, entity_id in {
            *([] if command is None else [(command.group_id, command.company_id, "device_command", command.id)]),
            *([] if machine is None else [(machine.group_id, machine.company_id, "machine", machine.id)])}:
        audit.record(session, None, "device_gateway.callback_rejected", entity_type, entity_id,
                     company_id=company_id, group_id=group_id, after=detail)
    raise GatewayCallbackMismatch("The callback's command, device and group do not agree: it was not applied.")


async def command_result(session: AsyncSession, command_id: uuid.UUID, result: str, detail: str | None,
                         answer: dict[str, Any]) -> str:
    """The device's answer to a command (`believe_result` first). A sent command is acknowledged or
    fails, and its acknowledgement sets the lock state unless a newer result or report already has.
    A result for a command no longer sent is recorded on it: an expired command acknowledged late sets
    the lock state all the same (the machine did it) and alerts; a superseded one never does."""
    command = await repo.lock_command(session, command_id)
    assert command is not None  # believed
    machine = await contracts_repo.lock_machine(session, command.machine_id)
    assert machine is not None
    if command.state == "sent":
        if result != "acknowledged":
            await failed(session, command, detail or "the device refused the command", answer)
            return command.state
        await _moved(session, command, "acknowledge", answer=answer, note=detail)
        await _publish(session, command, "device_command.acknowledged")
        await _apply_result(session, machine, command, command.finished_at or utcnow())
        return command.state
    if command.state in ("expired", "superseded", "cancelled"):
        await _late_result(session, machine, command, result, detail, answer)
        return f"recorded_{command.state}"
    return f"ignored_{command.state}"


async def _apply_result(session: AsyncSession, machine: Machine, command: DeviceCommand, at: datetime) -> bool:
    if not machine_rules.result_counts(machine, command.seq):
        return False
    await machine_rules.set_lock_state(session, machine, LOCK_STATE_AFTER[command.action], at, seq=command.seq,
                                       command_id=command.id)
    return True


async def _late_result(session: AsyncSession, machine: Machine, command: DeviceCommand, result: str,
                       detail: str | None, answer: dict[str, Any]) -> None:
    counts = command.state == "expired" and result == "acknowledged"
    applied = counts and await _apply_result(session, machine, command, utcnow())
    note = (f"{result} after the command was {command.state}"
            + ("; the machine's lock state follows" if applied else "; the lock state is left as it is"))
    command.last_answer = _answer(answer)
    await session.flush()
    await repo.add_transitions(session, [{"id": uuid.uuid4(), "command_id": command.id, "from_state": command.state,
                                          "to_state": command.state, "at": utcnow(), "answer": answer,
                                          "note": note[:500]}])
    audit.record(session, None, "device_command.late_result", "device_command", command.id,
                 company_id=command.company_id, group_id=command.group_id,
                 after={"result": result, "detail": detail, "applied": applied})
    if counts:
        await _alert(session, machine, command, "device_command.late_acknowledgement",
                     "过期指令已被执行 / An expired command was carried out",
                     f"{command.action} #{command.seq} on {command.device_id} was acknowledged after it expired")


async def _alert(session: AsyncSession, machine: Machine, command: DeviceCommand | None, kind: str, title: str,
                 body: str) -> None:
    """The command's requester and the company's dispatchers are told (once per machine and moment)."""
    dispatchers = await org_repo.users_holding_permission(session, machine.group_id, CASE_DISPATCH,
                                                          company_ids=[machine.company_id])
    users = [*([] if command is None else [command.requester_id]), *dispatchers]
    await notify(session, group_id=machine.group_id, user_ids=list(dict.fromkeys(users)), kind=kind, title=title,
                 body=body, entity_type="machine", entity_id=machine.id,
                 dedupe_key=f"{kind}:{machine.id}:{machine.lock_state_at or utcnow()}")


async def position_report(session: AsyncSession, device_id: str, *, latitude: Decimal | None,
                          longitude: Decimal | None, speed_kmh: Decimal | None, blocked: bool | None,
                          at: datetime) -> tuple[str, list[DeviceCommand]]:
    """A device's position: kept; taken as the machine's latest unless older than the one kept or dated
    in the future by the device's clock (beyond DEVICE_MAX_CLOCK_SKEW_SECONDS: flagged instead); its
    output state, where reported, is the machine's lock state; a waiting lock goes back to `queued`
    when the report is fresh and shows the machine stopped. Answers the outcome and the commands
    released (the caller enqueues their delivery)."""
    machine = await contracts_repo.lock_machine_with_device(session, device_id)
    if machine is None:
        return "unknown_device", []
    settings, now = get_settings(), utcnow()
    future = at > now + timedelta(seconds=settings.device_max_clock_skew_seconds)
    await repo.add_position(session, {
        "id": uuid.uuid4(), "group_id": machine.group_id, "company_id": machine.company_id, "machine_id": machine.id,
        "device_id": device_id, "at": at, "received_at": now, "latitude": latitude, "longitude": longitude,
        "speed_kmh": speed_kmh, "blocked": blocked, "future_clock": future})
    if future:
        return "kept_future_clock", []
    if not machine_rules.record_position(machine, latitude=latitude, longitude=longitude, speed_kmh=speed_kmh, at=at):
        return "kept_older", []
    if blocked is not None:
        await _reported_lock_state(session, machine, "locked" if blocked else "unlocked", at)
    await session.flush()
    if _hold_reason(machine) is not None:
        return "applied", []
    released = await repo.lock_waiting_of_machines(session, [machine.id])
    for command in released:
        await _moved(session, command, "release", note="a fresh report shows the machine stopped",
                     answer={"speed_kmh": None if speed_kmh is None else str(speed_kmh), "at": at.isoformat()})
    return (f"released {len(released)}" if released else "applied"), released


async def _reported_lock_state(session: AsyncSession, machine: Machine, reported: str, at: datetime) -> None:
    """The device's own output state wins over any command; a disagreement with what was recorded
    alerts the last command's requester and the dispatchers."""
    if machine.lock_state == reported:
        return
    recorded = machine.lock_state
    await machine_rules.set_lock_state(session, machine, reported, at, seq=machine.command_seq)
    latest = await repo.latest_command_of_machine(session, machine.id)
    await _alert(session, machine, latest, "machine.lock_state_reported",
                 "设备上报的锁机状态与记录不符 / The device reports another lock state",
                 f"{machine.serial_number}: recorded {recorded}, the device reports {reported}")


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
