"""Collection cases: opened and closed by the close of business, dispatched to collectors (by hand
or by the auto-assign rule), handed over when a collector leaves. Every change of collector is kept
as assignment history and audited."""

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.collection import repository as repo
from app.collection.errors import CaseClosed, CaseInvalidCollector, CaseNotFound
from app.collection.models import CollectionCase
from app.collection.permissions import CASE_COLLECT
from app.collection.schemas import (
    CaseAssignIn,
    CaseAssignmentChange,
    CaseAssignResult,
    CaseAutoAssignIn,
    CaseAutoAssignResult,
    CaseOut,
    CaseUnassignIn,
    ContactCard,
    OverdueOut,
    PromiseSummary,
)
from app.core import audit, events
from app.core.db import utcnow
from app.core.principal import Principal
from app.core.types import money_text
from app.customers import repository as customers_repo
from app.customers.normalize import mask_phone
from app.notifications.service import notify
from app.org import repository as org_repo

AUTO_ASSIGN_RULE = ("Unassigned open cases of the company, highest bucket first, then the largest overdue amount, "
                    "each to the collector of the company (holding case.collect) whose open cases owe the least "
                    "overdue amount at that moment (then the fewest cases, then the lowest id).")


# --- shaping -------------------------------------------------------------------------------------

def case_out(row: Any, contacts: list[ContactCard] | None = None) -> CaseOut:
    case, account, promise = row.CollectionCase, row.LedgerAccount, row.PromiseToPay
    return CaseOut(
        id=case.id, state=case.state, outcome=case.outcome, company_id=case.company_id, contract_id=case.contract_id,
        contract_number=row.contract_number, customer_id=case.customer_id, customer_name=row.customer_name,
        collector_id=case.collector_id, assigned_at=case.assigned_at, dpd=account.dpd, bucket=account.bucket,
        overdue_amount=account.overdue_amount,
        overdue=OverdueOut(principal=account.overdue_principal, interest=account.overdue_interest,
                           fee=account.overdue_fee, penalty=account.unpaid_penalty),
        outstanding_principal=account.outstanding_principal, as_of=account.as_of,
        active_promise=None if promise is None else PromiseSummary(
            id=promise.id, amount=promise.amount, promised_date=promise.promised_date, state=promise.state,
            amount_paid=promise.amount_paid),
        last_contact_at=case.last_contact_at, next_action_date=case.next_action_date, priority=case.priority,
        opened_on=case.opened_on, closed_on=case.closed_on, previous_case_id=case.previous_case_id,
        contacts=contacts)


async def contact_cards(session: AsyncSession, principal: Principal,
                        rows: Sequence[Any]) -> dict[uuid.UUID, list[ContactCard]]:
    """`contact_card_dicts` for rows of `repo.case_rows` (a case entity per row), as ContactCards."""
    cases = [{"id": r.CollectionCase.id, "customer_id": r.CollectionCase.customer_id,
              "collector_id": r.CollectionCase.collector_id, "state": r.CollectionCase.state} for r in rows]
    return {case_id: [ContactCard(**card) for card in cards]
            for case_id, cards in (await contact_card_dicts(session, principal, cases)).items()}


def case_dicts(rows: Sequence[Any], contacts: dict[uuid.UUID, list[dict[str, Any]]] | None) -> list[dict[str, Any]]:
    """`case_out` for the hot list: records of repo.CASE_COLUMNS as CaseOut dicts, the same fields
    and text (tests/field/test_hot_cases.py compares them with the models')."""
    return [{
        "id": r["id"], "state": r["state"], "outcome": r["outcome"], "company_id": r["company_id"],
        "contract_id": r["contract_id"], "contract_number": r["contract_number"], "customer_id": r["customer_id"],
        "customer_name": r["customer_name"], "collector_id": r["collector_id"], "assigned_at": r["assigned_at"],
        "dpd": r["dpd"], "bucket": r["bucket"], "overdue_amount": money_text(r["overdue_amount"]),
        "overdue": {"principal": money_text(r["overdue_principal"]), "interest": money_text(r["overdue_interest"]),
                    "fee": money_text(r["overdue_fee"]), "penalty": money_text(r["unpaid_penalty"])},
        "outstanding_principal": money_text(r["outstanding_principal"]), "as_of": r["as_of"],
        "active_promise": None if r["promise_id"] is None else {
            "id": r["promise_id"], "amount": money_text(r["promise_amount"]), "promised_date": r["promise_date"],
            "state": r["promise_state"], "amount_paid": money_text(r["promise_amount_paid"])},
        "last_contact_at": r["last_contact_at"], "next_action_date": r["next_action_date"], "priority": r["priority"],
        "opened_on": r["opened_on"], "closed_on": r["closed_on"], "previous_case_id": r["previous_case_id"],
        "contacts": None if contacts is None else contacts.get(r["id"], [])}
        for r in rows]


async def contact_card_dicts(session: AsyncSession, principal: Principal,
                             rows: Sequence[Any]) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """The contacts of each case's customer, as ContactCard dicts. The case's own collector sees full
    numbers (they must call them); everybody else sees them masked, as the customers area shows
    them. `rows`: anything with `id`, `customer_id`, `collector_id` and `state` by key (the hot
    lists' records; `contact_cards` adapts case entities)."""
    by_customer: dict[uuid.UUID, list[Any]] = {}
    for c in await customers_repo.contact_records(session, {r["customer_id"] for r in rows}):
        by_customer.setdefault(c["customer_id"], []).append(c)
    cards: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for r in rows:
        mine = r["collector_id"] == principal.user_id and r["state"] == "open"
        cards[r["id"]] = [
            {"id": c["id"], "name": c["name"], "relation": c["relation"],
             "mobile": c["mobile"] if mine else mask_phone(c["mobile"]),
             "office_phone": c["office_phone"] if mine else mask_phone(c["office_phone"]), "masked": not mine}
            for c in by_customer.get(r["customer_id"], [])]
    return cards


# --- dispatch ------------------------------------------------------------------------------------

async def _cases(session: AsyncSession, principal: Principal, case_ids: Sequence[uuid.UUID]) -> list[CollectionCase]:
    wanted = list(dict.fromkeys(case_ids))
    cases = await repo.writable_cases(session, principal, wanted)
    found = {c.id for c in cases}
    if missing := [i for i in wanted if i not in found]:
        raise CaseNotFound(f"No case {missing[0]}")
    if closed := [c.id for c in cases if c.state != "open"]:
        raise CaseClosed(f"The case {closed[0]} is closed")
    return cases


async def _collectors(session: AsyncSession, group_id: uuid.UUID, company_id: uuid.UUID) -> list[uuid.UUID]:
    return await org_repo.users_holding_permission(session, group_id, CASE_COLLECT, company_ids=[company_id])


async def _move(session: AsyncSession, principal: Principal | None, cases: Sequence[CollectionCase],
                collector_id: uuid.UUID | None, reason: str | None, at: datetime) -> list[CaseAssignmentChange]:
    moved = [c for c in cases if c.collector_id != collector_id]
    changes = [CaseAssignmentChange(case_id=c.id, from_collector_id=c.collector_id, to_collector_id=collector_id)
               for c in moved]
    await repo.add_assignments(session, [
        {"id": uuid.uuid4(), "case_id": c.case_id, "from_collector_id": c.from_collector_id,
         "to_collector_id": c.to_collector_id, "by_id": principal.user_id if principal else None, "at": at,
         "reason": reason} for c in changes])
    for case in moved:
        case.collector_id, case.assigned_at = collector_id, at if collector_id else None
    await session.flush()
    for change, case in zip(changes, moved, strict=True):
        audit.record(session, principal, "case.assigned" if collector_id else "case.unassigned", "collection_case",
                     case.id, company_id=case.company_id, group_id=case.group_id,
                     before={"collector_id": change.from_collector_id}, after={"collector_id": collector_id,
                                                                               "reason": reason})
    if moved:
        await events.publish_from(session, "collection_case.assigned", repo.case_event_rows([c.id for c in moved]))
    if collector_id and moved:
        await notify(session, group_id=moved[0].group_id, user_ids=[collector_id], kind="case_assigned",
                     title=f"{len(moved)} 个催收案件分派给您", entity_type="collection_case",
                     entity_id=moved[0].id if len(moved) == 1 else None)
    return changes


async def assign(session: AsyncSession, principal: Principal, data: CaseAssignIn) -> CaseAssignResult:
    """Rule: the cases (in the caller's scope, open) go to a collector of each case's company who
    holds the collector permission; anything else is refused whole (422 `case.invalid_collector`)."""
    cases = await _cases(session, principal, data.case_ids)
    for company_id in {c.company_id for c in cases}:
        if data.collector_id not in await _collectors(session, principal.group_id, company_id):
            raise CaseInvalidCollector("The collector must be of the case's company and hold case.collect")
    changes = await _move(session, principal, cases, data.collector_id, data.reason, utcnow())
    changed = {c.case_id for c in changes}
    return CaseAssignResult(changed=changes, unchanged=[c.id for c in cases if c.id not in changed])


async def unassign(session: AsyncSession, principal: Principal, data: CaseUnassignIn) -> CaseAssignResult:
    cases = await _cases(session, principal, data.case_ids)
    changes = await _move(session, principal, cases, None, data.reason, utcnow())
    changed = {c.case_id for c in changes}
    return CaseAssignResult(changed=changes, unchanged=[c.id for c in cases if c.id not in changed])


async def auto_assign(session: AsyncSession, principal: Principal, data: CaseAutoAssignIn) -> CaseAutoAssignResult:
    """`AUTO_ASSIGN_RULE`. The preview (`dry_run`) is the same computation as the change, over the
    same locked rows: what it shows is what a run right after it does, unless somebody else
    assigns in between."""
    await org_repo.get_readable_company_id(session, principal, data.company_id)
    collectors = await _collectors(session, principal.group_id, data.company_id)
    cases = await repo.unassigned_open_cases(session, principal, data.company_id, data.limit)
    load: dict[uuid.UUID, tuple[Decimal, int]] = {c: (Decimal(0), 0) for c in collectors}
    load.update(await repo.open_load(session, collectors))
    plan: list[tuple[CollectionCase, uuid.UUID]] = []
    for case, account in cases if collectors else ():
        chosen = min(collectors, key=lambda c: (load[c][0], load[c][1], str(c)))
        plan.append((case, chosen))
        amount, count = load[chosen]
        load[chosen] = (amount + account.overdue_amount, count + 1)
    shown = [CaseAssignmentChange(case_id=c.id, from_collector_id=None, to_collector_id=to) for c, to in plan]
    if not data.dry_run:
        at = utcnow()
        for collector in dict.fromkeys(to for _, to in plan):
            await _move(session, principal, [c for c, to in plan if to == collector], collector, "auto-assign", at)
    return CaseAutoAssignResult(dry_run=data.dry_run, rule=AUTO_ASSIGN_RULE, plan=shown)


# --- the close of business and handover ------------------------------------------------------------

async def open_and_close(session: AsyncSession, day: date, company_ids: Sequence[uuid.UUID]) -> dict[str, int]:
    """Open a case for each contract of these companies newly overdue (by its company's threshold),
    close the cases of contracts cured or settled. Set-based."""
    opened = await repo.open_cases_for(session, company_ids, day)
    closed = await repo.close_cases_for(session, company_ids, day)
    if opened:
        await events.publish_from(session, "collection_case.opened", repo.case_event_rows(opened))
    if closed:
        await events.publish_from(session, "collection_case.closed", repo.case_event_rows([i for i, _ in closed]))
    return {"opened": len(opened), "closed": len(closed)}


async def close_settled(session: AsyncSession, actor: Principal | None, contract_id: uuid.UUID, day: date) -> None:
    """A settlement closes the contract's open case at once (`settled`), not at the next close of
    business."""
    case = await repo.lock_open_case(session, contract_id)
    if case is None:
        return
    before = audit.snapshot(case, "state", "outcome", "closed_on")
    case.state, case.outcome, case.closed_on = "closed", "settled", day
    await session.flush()
    audit.record(session, actor, "case.closed", "collection_case", case.id, company_id=case.company_id,
                 group_id=case.group_id, before=before, after=audit.snapshot(case, "state", "outcome", "closed_on"))
    await events.publish_from(session, "collection_case.closed", repo.case_event_rows([case.id]))
