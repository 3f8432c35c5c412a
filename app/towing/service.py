"""Towing's rules: who may ask for a tow, the task's state machine, and the registration that
repossesses the contract (exactly once per task).

A tow request keeps the contract's DPD, bucket and overdue amount as of its filing and of each
submission (the flows' condition fields), and the company's minimum DPD then (`company.tow_min_dpd`,
else the `TOW_MIN_DPD` setting): below it, filing and submitting are 409 `tow.below_minimum_dpd`
unless the filer holds `tow.override_min_dpd` and gives an `override_reason` (seed 000: a tow comes
"当客户逾期超过一定期限", once the contract is overdue beyond a set term).

Task states: open → assigned (→ assigned again: reassigned) → registered | cancelled. A task whose
contract is settled first is cancelled (`cancel_tasks_of_contract`, called by the settlement)."""

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.approvals import requests as kit
from app.attachments import service as attachments
from app.collection import repository as collection_repo
from app.contracts import repository as contracts_repo
from app.contracts.errors import ContractNotFound
from app.contracts.models import Contract, ContractState
from app.contracts.service import transition as contract_transition
from app.core import audit
from app.core.config import get_settings
from app.core.db import utcnow
from app.core.principal import Principal
from app.core.scoping import get_writable
from app.core.transitions import next_state
from app.ledger import repository as ledger_repo
from app.ledger import service as ledger
from app.ledger.calendar import business_today
from app.org import repository as org_repo
from app.towing import permissions as P
from app.towing import repository as repo
from app.towing.approval import TOW, check_minimum
from app.towing.errors import (
    TowContractNotActive,
    TowInvalidAssignee,
    TowMachineNotOfContract,
    TowTaskAlreadyRegistered,
    TowTaskClosed,
    TowTaskNotFound,
)
from app.towing.models import TowRegistration, TowRequest, TowTask
from app.towing.schemas import TowRegistrationCreate, TowRequestCreate, TowTaskAssign

REGISTRATION_KIND = "tow_registration"

TASK_TRANSITIONS: dict[tuple[str, str], str] = {
    ("open", "assign"): "assigned",
    ("assigned", "assign"): "assigned",
    ("open", "register"): "registered",
    ("assigned", "register"): "registered",
    ("open", "cancel"): "cancelled",
    ("assigned", "cancel"): "cancelled",
}


def _coordinate(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _move(task: TowTask, action: str) -> None:
    if task.state == "registered" and action == "register":
        raise TowTaskAlreadyRegistered(f"The tow task {task.id} is already registered.")
    task.state = next_state(TASK_TRANSITIONS, task.state, action, what="a tow task", error=TowTaskClosed)


async def _contract_for(session: AsyncSession, principal: Principal, contract_id: uuid.UUID) -> Contract:
    """The contract if the caller's scope covers it, or if the caller holds its open case; 404 otherwise."""
    contract = await collection_repo.contract_in_reach(session, principal, contract_id)
    if contract is None:
        raise ContractNotFound("The contract does not exist or is not in your scope.")
    return await contracts_repo.lock_contract(session, contract.id) or contract


async def figures(session: AsyncSession, contract: Contract) -> dict[str, Any]:
    """The contract's DPD, bucket and overdue amount now (its account brought to its business date)
    and the company's minimum DPD (`company.tow_min_dpd`, else the `TOW_MIN_DPD` setting)."""
    if contract.state != ContractState.ACTIVE:
        raise TowContractNotActive(f"The contract {contract.number} is {contract.state}.")
    await ledger.resync(session, contract)
    account = await ledger_repo.account(session, contract.id)
    if account is None:
        raise TowContractNotActive(f"The contract {contract.number} has no receivable.")
    own = await org_repo.tow_min_dpd(session, contract.company_id)
    return {"dpd": account.dpd, "bucket": account.bucket, "overdue_amount": account.overdue_amount,
            "min_dpd": get_settings().tow_min_dpd if own is None else own}


async def create_request(session: AsyncSession, principal: Principal, data: TowRequestCreate
                         ) -> tuple[TowRequest, bool]:
    """A draft (or, with `submit`, a submitted request) for a machine of an active contract past the
    company's minimum DPD (or overridden). The caller's repeated `client_ref` returns their first
    record, as filed."""
    contract = await _contract_for(session, principal, data.contract_id)
    machines = (await contracts_repo.machines_of(session, [contract.id]))[contract.id]
    fields: dict[str, Any] = data.model_dump(exclude={"client_ref", "submit"})
    fields.update(latitude=_coordinate(data.latitude), longitude=_coordinate(data.longitude))
    fields.update(await figures(session, contract))
    if data.machine_id not in {m.id for m in machines}:
        raise TowMachineNotOfContract(f"The machine {data.machine_id} is not one of contract {contract.number}'s.")
    request, created = await kit.create(session, principal, TOW, fields, body=data,
                                        company_id=contract.company_id, and_submit=data.submit)
    if created:
        check_minimum(principal, request)
    return request, created


async def submit_request(session: AsyncSession, principal: Principal, request: TowRequest) -> TowRequest:
    """Refresh the figures the flows judge (DPD, bucket, overdue amount) and the minimum, then hand
    over to the engine (which checks the minimum when the request is submitted)."""
    if (request.status, "submit") in kit.TRANSITIONS and request.requester_id == principal.user_id:
        contract = await _contract_for(session, principal, request.contract_id)
        for name, value in (await figures(session, contract)).items():
            setattr(request, name, value)
        await session.flush()
    return await kit.submit(session, principal, TOW, request)


async def assign(session: AsyncSession, principal: Principal, task: TowTask, data: TowTaskAssign) -> TowTask:
    """To a user of the task's company who may register tows, or to an outside towing company by name."""
    if (data.assignee_id is None) == (data.towing_company is None):
        raise TowInvalidAssignee("Give exactly one of assignee_id and towing_company.")
    if data.assignee_id is not None:
        allowed = await org_repo.users_holding_permission(session, task.group_id, P.TOW_REGISTER,
                                                          company_ids=[task.company_id])
        if data.assignee_id not in allowed:
            raise TowInvalidAssignee(f"The user {data.assignee_id} may not register tows of this company.")
    before = audit.snapshot(task, "state", "assignee_id", "towing_company")
    _move(task, "assign")
    task.assignee_id, task.towing_company, task.assigned_at = data.assignee_id, data.towing_company, utcnow()
    await session.flush()
    audit.record(session, principal, "tow_task.assigned", "tow_task", task.id, company_id=task.company_id,
                 before=before, after=audit.snapshot(task, "state", "assignee_id", "towing_company"))
    return task


async def register(session: AsyncSession, principal: Principal, data: TowRegistrationCreate) -> TowRegistration:
    """The machine is in the yard: the cost is charged, the contract repossessed, the machine's last
    position is the yard's. The collection case stays open for the remaining debt."""
    task = await get_writable(session, principal, TowTask, data.task_id, code=TowTaskNotFound.code)
    _move(task, "register")
    contract = await contracts_repo.lock_contract(session, task.contract_id)
    assert contract is not None  # the task references it
    registration = TowRegistration(
        group_id=task.group_id, company_id=task.company_id, task_id=task.id, contract_id=task.contract_id,
        machine_id=task.machine_id, registered_by_id=principal.user_id, towed_at=data.towed_at, place=data.place,
        latitude=_coordinate(data.latitude), longitude=_coordinate(data.longitude), yard=data.yard,
        yard_latitude=_coordinate(data.yard_latitude), yard_longitude=_coordinate(data.yard_longitude),
        hour_meter=Decimal(str(data.hour_meter)), condition=data.condition.model_dump(), cost=data.cost)
    session.add(registration)
    await session.flush()
    await attachments.attach(session, principal, data.photo_ids, REGISTRATION_KIND, registration.id)
    # The charge first: the ledger posts to an active contract, then the contract is repossessed.
    today = await business_today(session, contract.company_id)
    recorded = await ledger.post_charge(session, principal, contract, kind="tow", amount=data.cost, due_date=today,
                                        description=f"拖机费 / tow cost: {data.yard}")
    registration.charge_entry_id = recorded.entry.id
    before = audit.snapshot(contract, "state")
    contract_transition(contract, "repossess")
    machine = next(m for m in (await contracts_repo.machines_of(session, [contract.id]))[contract.id]
                   if m.id == task.machine_id)
    machine.last_latitude, machine.last_longitude = registration.yard_latitude, registration.yard_longitude
    machine.last_position_at = utcnow()
    await session.flush()
    audit.record(session, principal, "contract.repossess", "contract", contract.id, company_id=contract.company_id,
                 before=before, after={"state": contract.state, "tow_registration_id": registration.id})
    audit.record(session, principal, "tow.registered", "tow_registration", registration.id,
                 company_id=registration.company_id,
                 after=audit.snapshot(registration, "task_id", "contract_id", "machine_id", "yard", "cost",
                                      "charge_entry_id"))
    return registration


async def cancel_tasks_of_contract(session: AsyncSession, contract_id: uuid.UUID, reason: str) -> int:
    """Cancels the contract's open and assigned tow tasks (the contract was settled first): how many."""
    tasks = await repo.open_tasks_of_contract(session, contract_id)
    for task in tasks:
        before = audit.snapshot(task, "state")
        _move(task, "cancel")
        task.cancel_reason = reason
        audit.record(session, None, "tow_task.cancelled", "tow_task", task.id, company_id=task.company_id,
                     group_id=task.group_id, before=before, after={"state": task.state, "reason": reason})
    await session.flush()
    return len(tasks)


async def registration_readable(session: AsyncSession, principal: Principal, registration_id: uuid.UUID) -> bool:
    return await repo.registration_readable(session, principal, registration_id)


attachments.register_reader(REGISTRATION_KIND, registration_readable)
