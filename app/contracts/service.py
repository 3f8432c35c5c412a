"""The contract lifecycle: draft (销售申请) → completed and submitted by the clerk (内勤完善合同) →
approved on the engine → (investigated) → shipped (出库发车) → active → settled | repossessed, or
cancelled. Every move goes through `TRANSITIONS`; an illegal one answers 409
`contract.illegal_transition`. What is approved is what was submitted: a submitted contract is
not edited, and its terms and schedule are frozen by the approving transaction.

Terms written on a contract (created, or replaced by an update) start no earlier than the business
date's month: a first due date before its first day is 422 `terms.first_due_date_in_past`, unless
the caller migrates history (`contract.migrate_history`)."""

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.approvals import registry
from app.approvals import service as engine
from app.approvals.requests import RequestStatus, approval_moves, conflicting_retry
from app.contracts import repository as repo
from app.contracts.errors import (
    ContractFirstDueInPast,
    ContractIllegalTransition,
    ContractMachineOtherCompany,
    ContractMachinesRequired,
    ContractMachineTaken,
    ContractNotEditable,
    MachineNotFound,
    ShipmentAfterFirstDueDate,
)
from app.contracts.models import Contract, ContractState, Investigation, Machine
from app.contracts.permissions import CONTRACT_MIGRATE_HISTORY
from app.contracts.schemas import ContractCreate, ContractUpdate, TermsIn
from app.core import audit, client_ids, events
from app.core.config import get_settings
from app.core.db import utcnow
from app.core.errors import InvalidInput
from app.core.principal import Principal
from app.core.transitions import next_state
from app.core.updates import audited_update
from app.customers import repository as customers_repo
from app.customers import service as customers
from app.customers.errors import ContactNotFound
from app.ledger.calendar import business_today
from app.ledger.schedule import CustomRow, Instalment, ScheduleKind, Terms, build_schedule, validate_terms
from app.org import repository as org_repo

S = ContractState
REQUEST_TYPE = "contract"

# (state, action) → next state. The engine's effects drive submit/approve/reject/withdraw; the
# investigation, the shipment request and (later) settlement and repossession drive the rest.
TRANSITIONS: dict[tuple[str, str], str] = {
    **approval_moves(editable=(S.DRAFT,), pending=S.SUBMITTED, approved=S.APPROVED, rejected=S.DRAFT,
                     withdrawn=S.DRAFT),
    (S.APPROVED, "investigate"): S.INVESTIGATING,
    (S.INVESTIGATING, "complete_investigation"): S.APPROVED,
    (S.APPROVED, "request_shipment"): S.SHIPPING,
    (S.SHIPPING, "ship"): S.ACTIVE,
    (S.SHIPPING, "shipment_refused"): S.APPROVED,
    (S.ACTIVE, "settle"): S.SETTLED,
    (S.ACTIVE, "repossess"): S.REPOSSESSED,
    (S.DRAFT, "cancel"): S.CANCELLED,
    (S.APPROVED, "cancel"): S.CANCELLED,
    (S.INVESTIGATING, "cancel"): S.CANCELLED,
}
EDITABLE = (S.DRAFT,)
TERM_FIELDS = ("price", "down_payment", "annual_rate", "term_months", "first_due_date", "schedule_kind",
               "monthly_rent", "custom_rows", "penalty_daily_rate", "grace_days", "allocation_order")


def transition(contract: Contract, action: str) -> str:
    contract.state = next_state(TRANSITIONS, contract.state, action, what="a contract",
                                error=ContractIllegalTransition)
    return contract.state


# --- terms -----------------------------------------------------------------------------------------

def terms_of(data: TermsIn) -> Terms:
    return Terms(price=data.price, down_payment=data.down_payment, annual_rate=data.annual_rate,
                 term_months=data.term_months, first_due_date=data.first_due_date,
                 schedule_kind=ScheduleKind(data.schedule_kind), monthly_rent=data.monthly_rent,
                 custom_rows=tuple(CustomRow(r.principal, r.interest) for r in data.custom_rows or ()))


def checked_schedule(data: TermsIn, pointer: str) -> list[Instalment]:
    """The schedule of the terms, or one 422 naming every bad field (pointers under `pointer`)."""
    terms = terms_of(data)
    problems = [(p.pointer, p.code, p.message)
                for p in validate_terms(terms, max_annual_rate=get_settings().max_annual_rate)]
    if sorted(data.allocation_order) != sorted(("penalty", "fee", "interest", "principal")):
        problems.append(("/allocation_order", "terms.allocation_order_invalid",
                         "Name each of penalty, fee, interest and principal exactly once"))
    if problems:
        raise InvalidInput("The terms are not valid: " + "; ".join(m for _, _, m in problems),
                           code=problems[0][1],
                           errors=[{"pointer": f"{pointer}{p}", "message": m} for p, _, m in problems])
    return build_schedule(terms, max_annual_rate=get_settings().max_annual_rate)


async def check_first_due(session: AsyncSession, principal: Principal, company_id: uuid.UUID, data: TermsIn,
                          pointer: str) -> None:
    """A contract's schedule starts no earlier than the business date's month (a 2019 first due date
    is a typing error, or a migration of history, which needs `contract.migrate_history`)."""
    if principal.has(CONTRACT_MIGRATE_HISTORY):
        return
    earliest = (await business_today(session, company_id)).replace(day=1)
    if data.first_due_date < earliest:
        raise ContractFirstDueInPast(
            f"The first due date {data.first_due_date} is before {earliest}, the first day of the business date's "
            f"month; only a caller migrating history ({CONTRACT_MIGRATE_HISTORY}) may enter it.",
            errors=[{"pointer": f"{pointer}/first_due_date", "message": f"on or after {earliest}"}])


def _term_columns(data: TermsIn) -> dict[str, Any]:
    values = data.model_dump(mode="python")
    rows = values.pop("custom_rows")
    values["custom_rows"] = None if rows is None else [{"principal": f"{r['principal']:.2f}",
                                                        "interest": f"{r['interest']:.2f}"} for r in rows]
    return values


def terms_in_of(contract: Contract) -> TermsIn:
    """The contract's stored terms as the API states them."""
    return TermsIn.model_validate({f: getattr(contract, f) for f in TERM_FIELDS})


async def schedule_of(session: AsyncSession, contract: Contract) -> tuple[bool, list[Instalment]]:
    """(frozen, rows): the frozen schedule once approved, else a preview from the terms."""
    if contract.terms_frozen_at is not None:
        rows = await repo.frozen_schedule(session, contract.id)
        return True, [Instalment(r.number, r.due_date, r.principal, r.interest) for r in rows]
    return False, build_schedule(terms_of(terms_in_of(contract)), max_annual_rate=Decimal("1"))


# --- contacts and machines -------------------------------------------------------------------------

async def _checked_contacts(session: AsyncSession, principal: Principal,
                            contacts: list[Any]) -> list[tuple[uuid.UUID, str]]:
    """Contacts the caller may read, each once (404 for an id they may not see, like a missing one)."""
    links = list({c.contact_id: (c.contact_id, c.relation) for c in contacts}.values())
    visible = await customers_repo.readable_contact_ids(session, principal, [c for c, _ in links])
    for index, (contact_id, _) in enumerate(links):
        if contact_id not in visible:
            raise ContactNotFound(
                f"Contact {contact_id} not found.",
                errors=[{"pointer": f"/body/contacts/{index}/contact_id", "message": "no such contact"}])
    return links


async def _checked_machines(session: AsyncSession, principal: Principal, contract: Contract,
                            machine_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    """Machines the caller may read, in the contract's company, not on another live contract."""
    ids = list(dict.fromkeys(machine_ids))
    machines = {m.id: m for m in await repo.lock_readable_machines(session, principal, ids)}
    for index, machine_id in enumerate(ids):
        machine: Machine | None = machines.get(machine_id)
        if machine is None:
            raise MachineNotFound(f"Machine {machine_id} not found.",
                                  errors=[{"pointer": f"/body/machine_ids/{index}", "message": "no such machine"}])
        if machine.contract_id is not None and machine.contract_id != contract.id:
            raise ContractMachineTaken(
                f"Machine {machine.serial_number} is on another contract.",
                errors=[{"pointer": f"/body/machine_ids/{index}", "message": "on another contract"}])
        if machine.company_id != contract.company_id:
            raise ContractMachineOtherCompany(
                f"Machine {machine.serial_number} belongs to another company.",
                errors=[{"pointer": f"/body/machine_ids/{index}", "message": "another company's"}])
    return ids


# --- create, update, cancel ------------------------------------------------------------------------

async def _new_number(session: AsyncSession, company_id: uuid.UUID) -> str:
    year = (await business_today(session, company_id)).year
    code = await org_repo.company_code(session, company_id)
    return f"HT-{code}-{year}-{await repo.next_number(session, company_id, year):06d}"


async def create_contract(session: AsyncSession, principal: Principal, data: ContractCreate) -> tuple[Contract, bool]:
    """A draft (销售申请) owned by the caller, in the customer's company; the caller's repeated
    `client_ref` with the same body answers their first contract (False), with another body 409
    `request.conflicting_retry`."""
    digest = client_ids.body_digest(data)
    if data.client_ref is not None:
        existing = await client_ids.find_own(session, Contract, Contract.requester_id, principal.user_id,
                                             data.client_ref)
        if existing is not None:
            return client_ids.same_upload(existing, digest, conflicting_retry), False
    customer = await customers_repo.get_customer(session, principal, data.customer_id)
    checked_schedule(data.terms, "/body/terms")
    await check_first_due(session, principal, customer.company_id, data.terms, "/body/terms")
    contacts = await _checked_contacts(session, principal, data.contacts)
    number = await _new_number(session, customer.company_id)

    def build() -> Contract:
        return Contract(group_id=principal.group_id, company_id=customer.company_id,
                        department_id=principal.department_id, requester_id=principal.user_id,
                        owner_id=principal.user_id, status=RequestStatus.DRAFT, state=S.DRAFT, number=number,
                        customer_id=customer.id, sale_kind=data.sale_kind, signed_date=data.signed_date,
                        needs_investigation=data.needs_investigation, notes=data.notes, version=1,
                        **_term_columns(data.terms))

    contract, created = await client_ids.create_once(session, Contract, creator=Contract.requester_id,
                                                     creator_id=principal.user_id, client_ref=data.client_ref,
                                                     build=build, digest=digest, conflict=conflicting_retry)
    if not created:
        return contract, False
    await repo.replace_contacts(session, contract.id, contacts)
    await repo.replace_contract_machines(session, contract.id,
                                         await _checked_machines(session, principal, contract, data.machine_ids))
    audit.record(session, principal, "contract.created", "contract", contract.id, company_id=contract.company_id,
                 after={**audit.snapshot(contract), "contacts": contacts, "machine_ids": data.machine_ids})
    return contract, True


def _ensure_editable(contract: Contract) -> None:
    if contract.state not in EDITABLE:
        raise ContractNotEditable(f"A contract that is {contract.state} cannot be edited"
                                  + ("; withdraw it first." if contract.state == S.SUBMITTED else "."))


async def update_contract(session: AsyncSession, principal: Principal, contract: Contract,
                          data: ContractUpdate) -> Contract:
    """The clerk completes the draft (内勤完善合同); the salesperson may too. Never under approval."""
    _ensure_editable(contract)
    changes = data.model_dump(exclude_unset=True, exclude={"terms", "contacts", "machine_ids"})
    related: dict[str, Any] = {}
    if data.terms is not None:
        checked_schedule(data.terms, "/body/terms")
        await check_first_due(session, principal, contract.company_id, data.terms, "/body/terms")
        changes.update(_term_columns(data.terms))
    if "contacts" in data.model_fields_set:
        contacts = await _checked_contacts(session, principal, data.contacts or [])
        await repo.replace_contacts(session, contract.id, contacts)
        related["contacts"] = contacts
    if "machine_ids" in data.model_fields_set:
        ids = await _checked_machines(session, principal, contract, data.machine_ids or [])
        await repo.replace_contract_machines(session, contract.id, ids)
        related["machine_ids"] = ids
    if principal.user_id != contract.owner_id:
        changes["clerk_id"] = principal.user_id
    await audited_update(session, principal, contract, changes, action="contract.updated", entity_type="contract",
                         company_id=contract.company_id, related=related or None)
    return contract


async def submit(session: AsyncSession, principal: Principal, contract: Contract) -> Contract:
    """Hand the completed contract to the approval engine (request type `contract`)."""
    if contract.state != S.DRAFT:
        transition(contract, "submit")  # the 409 for anything but a draft
    machines = await repo.machines_of(session, [contract.id])
    if not machines[contract.id]:
        raise ContractMachinesRequired("A contract needs at least one machine before it is submitted.",
                                       errors=[{"pointer": "/body/machine_ids", "message": "at least one machine"}])
    checked_schedule(terms_in_of(contract), "/terms")
    contract.submitted_by_id = principal.user_id
    if principal.user_id != contract.owner_id:
        contract.clerk_id = principal.user_id
    await session.flush()
    await engine.submit(session, principal, REQUEST_TYPE, contract.id)
    return contract


async def withdraw(session: AsyncSession, principal: Principal, contract: Contract) -> Contract:
    if contract.state != S.SUBMITTED:
        transition(contract, "withdraw")
    await engine.withdraw_request(session, principal, REQUEST_TYPE, contract.id)
    return contract


async def cancel(session: AsyncSession, principal: Principal, contract: Contract, reason: str) -> Contract:
    before = audit.snapshot(contract, "state", "closed_reason")
    transition(contract, "cancel")
    contract.closed_reason = reason
    await repo.release_machines(session, contract.id)
    await session.flush()
    audit.record(session, principal, "contract.cancelled", "contract", contract.id, company_id=contract.company_id,
                 before=before, after=audit.snapshot(contract, "state", "closed_reason"))
    return contract


# --- the engine's effects (registered in approval.py) ----------------------------------------------

async def _moved(ctx: registry.EffectContext, contract: Contract, action: str, **extra: Any) -> None:
    before = audit.snapshot(contract, "state")
    transition(contract, action)
    await ctx.session.flush()
    audit.record(ctx.session, ctx.actor, f"contract.{action}", "contract", contract.id,
                 company_id=contract.company_id, before=before, after={"state": contract.state, **extra})


async def on_submitted(ctx: registry.EffectContext, contract: Contract) -> None:
    contract.rejection_reason = None
    await _moved(ctx, contract, "submit")


async def on_rejected(ctx: registry.EffectContext, contract: Contract) -> None:
    """Back to the clerk as a draft, with the reason."""
    contract.rejection_reason = ctx.comment
    await _moved(ctx, contract, "reject", reason=ctx.comment)


async def on_withdrawn(ctx: registry.EffectContext, contract: Contract) -> None:
    await _moved(ctx, contract, "withdraw")


async def on_approved(ctx: registry.EffectContext, contract: Contract) -> None:
    """In the approving transaction: freeze terms and schedule, link the contacts to the customer
    (automatic 关联), secure the customer for its owner, and open the investigation if needed."""
    session = ctx.session
    now = utcnow()
    await _moved(ctx, contract, "approve")
    rows = checked_schedule(terms_in_of(contract), "/terms")
    await repo.freeze_schedule(session, contract.id, [
        {"number": r.number, "due_date": r.due_date, "principal": r.principal, "interest": r.interest} for r in rows])
    contract.terms_frozen_at = now
    if contract.signed_date is None:
        contract.signed_date = await business_today(session, contract.company_id)
    for link in await repo.contacts_of(session, contract.id):
        await customers_repo.upsert_link(session, contract.customer_id, link.contact_id, link.relation,
                                         contract.owner_id)
    await customers.secure_customer(session, contract.customer_id, owner_id=contract.owner_id,
                                    reason="contract_signed", at=now, principal=ctx.actor)
    if contract.needs_investigation:
        investigation = Investigation(group_id=contract.group_id, company_id=contract.company_id,
                                      contract_id=contract.id, state="pending_dispatch")
        session.add(investigation)
        await _moved(ctx, contract, "investigate")
        audit.record(session, ctx.actor, "investigation.created", "investigation", investigation.id,
                     company_id=contract.company_id, after=audit.snapshot(investigation))
    await session.flush()
    await events.publish(session, "contract.approved", {
        "contract_id": contract.id, "contract_number": contract.number, "customer_id": contract.customer_id,
        "signed_date": contract.signed_date, "financed": contract.financed, "sale_kind": contract.sale_kind},
        group_id=contract.group_id, company_id=contract.company_id, ordering_key=contract.id)


def shipment_date_allowed(contract: Contract, shipment_date: date) -> None:
    """A shipment after the first due date would start a schedule already overdue: refused."""
    if shipment_date > contract.first_due_date:
        raise ShipmentAfterFirstDueDate(f"The shipment date {shipment_date} is after the first due date "
                                        f"{contract.first_due_date}; the contract needs new terms first.")
