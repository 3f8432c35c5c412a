"""Shaping the phone's records from the platform's: compact, and one query per kind of detail
(last logs, contacts, promises) for a whole page."""

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.collection import cases as collection_cases
from app.collection import log_queries
from app.collection.models import CollectionLog
from app.collection.schemas import ContactCard, ReleasedTimelineEvent, TimelineEvent
from app.core.principal import Principal
from app.core.types import money_text
from app.customers import repository as customers_repo
from app.customers.models import Customer
from app.field import repository as repo
from app.field.schemas import (
    FieldCase,
    FieldCaseDetail,
    FieldContract,
    FieldCustomer,
    FieldLastLog,
    FieldLog,
    FieldPromise,
    FieldRequest,
    FieldSchedule,
)
from app.ledger.reads import InstalmentProgress


def _case(row: Any, last: CollectionLog | None, contacts: list[ContactCard] | None) -> dict[str, Any]:
    case, account, promise = row.CollectionCase, row.LedgerAccount, row.PromiseToPay
    return dict(
        id=case.id, contract_id=case.contract_id, contract_number=row.contract_number, customer_id=case.customer_id,
        customer_name=row.customer_name, dpd=account.dpd, bucket=account.bucket,
        overdue_amount=account.overdue_amount, priority=case.priority, next_action_date=case.next_action_date,
        last_contact_at=case.last_contact_at,
        active_promise=None if promise is None else FieldPromise(amount=promise.amount,
                                                                 promised_date=promise.promised_date,
                                                                 state=promise.state),
        last_log=None if last is None else FieldLastLog(id=last.id, action=last.action, result=last.result,
                                                        occurred_at=last.occurred_at),
        contacts=contacts)


async def cases_out(session: AsyncSession, principal: Principal, rows: Sequence[Any], *,
                    contacts: bool) -> list[FieldCase]:
    """Worklist rows as the phone shows them (with the contacts to call when `contacts`)."""
    last = await repo.last_logs(session, [r.CollectionCase.id for r in rows])
    cards = await collection_cases.contact_cards(session, principal, rows) if contacts else {}
    return [FieldCase(**_case(r, last.get(r.CollectionCase.id), cards.get(r.CollectionCase.id) if contacts else None))
            for r in rows]


async def worklist_items(session: AsyncSession, principal: Principal, rows: Sequence[Any]) -> list[dict[str, Any]]:
    """The hot worklist's page (records of repo.WORKLIST_COLUMNS) as FieldCase dicts with contacts:
    the same fields and text as the models (tests/field/test_hot_worklist.py compares them)."""
    last = await repo.last_log_records(session, [r["id"] for r in rows])
    cards = await collection_cases.contact_card_dicts(session, principal, rows)
    items = []
    for r in rows:
        log = last.get(r["id"])
        items.append({
            "id": r["id"], "contract_id": r["contract_id"], "contract_number": r["contract_number"],
            "customer_id": r["customer_id"], "customer_name": r["customer_name"], "dpd": r["dpd"],
            "bucket": r["bucket"], "overdue_amount": money_text(r["overdue_amount"]), "priority": r["priority"],
            "next_action_date": r["next_action_date"], "last_contact_at": r["last_contact_at"],
            "active_promise": None if r["promise_state"] is None else {
                "amount": money_text(r["promise_amount"]), "promised_date": r["promise_date"],
                "state": r["promise_state"]},
            "last_log": None if log is None else {"id": log["id"], "action": log["action"], "result": log["result"],
                                                  "occurred_at": log["occurred_at"]},
            "contacts": cards.get(r["id"], [])})
    return items


def case_detail(row: Any, last: CollectionLog | None, contacts: list[ContactCard], contract: Any,
                progress: tuple[date, dict[int, InstalmentProgress]] | None, due_dates: dict[int, date],
                recent: Sequence[Any], activity: Sequence[Any]) -> FieldCaseDetail:
    schedule = None
    if progress is not None:
        as_of, by_number = progress
        statuses = [p.status for p in by_number.values()]
        unpaid = sorted(n for n, p in by_number.items() if p.status != "paid")
        schedule = FieldSchedule(as_of=as_of, instalments=len(statuses), paid=statuses.count("paid"),
                                 overdue=sum(s in ("overdue", "partially_paid") for s in statuses),
                                 next_due_date=due_dates.get(unpaid[0]) if unpaid else None)
    return FieldCaseDetail(
        **_case(row, last, contacts),
        contract=FieldContract(id=contract.id, number=contract.number, price=contract.price,
                               down_payment=contract.down_payment, term_months=contract.term_months,
                               first_due_date=contract.first_due_date),
        schedule=schedule,
        recent=[ReleasedTimelineEvent(at=r.at, kind=r.kind, id=r.id, detail=r.detail) for r in recent],
        activity=[TimelineEvent(at=r.at, kind=r.kind, id=r.id, detail=r.detail) for r in activity])


async def customers_out(session: AsyncSession, customers: Sequence[Customer]) -> list[FieldCustomer]:
    """Customers of my open cases: their contacts with full numbers (I must call them)."""
    contacts = await customers_repo.contacts_of_customers(session, [c.id for c in customers])
    return [FieldCustomer(id=c.id, name=c.name, kind=c.kind, addresses=list(c.addresses or []),
                          contacts=[ContactCard(id=k.id, name=k.name, relation=relation, mobile=k.mobile,
                                                office_phone=k.office_phone, masked=False)
                                    for k, relation in contacts.get(c.id, [])])
            for c in customers]


async def logs_out(session: AsyncSession, logs: Sequence[CollectionLog]) -> list[FieldLog]:
    promises = await log_queries.promises_of_logs(session, [log.id for log in logs])
    out = []
    for log in logs:
        promise = promises.get(log.id)
        out.append(FieldLog(
            id=log.id, case_id=log.case_id, action=log.action, result=log.result, notes=log.notes,
            contact_id=log.contact_id, occurred_at=log.occurred_at, recorded_at=log.recorded_at,
            attachment_ids=list(log.attachment_ids or []), evidence_mismatch=log.evidence_mismatch,
            voided_at=log.voided_at,
            promise=None if promise is None else FieldPromise(amount=promise.amount,
                                                              promised_date=promise.promised_date,
                                                              state=promise.state)))
    return out


def request_out(row: Any) -> FieldRequest:
    return FieldRequest.model_validate(dict(row._mapping))

