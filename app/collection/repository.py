"""Collections' queries: cases with their money (the contract's ledger account), dispatch, the
timeline, and the close of business's set-based statements."""

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, String, cast, exists, func, insert, literal, or_, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.collection.models import CaseAssignment, CollectionCase, CollectionLog, CollectionPolicy, PromiseToPay
from app.collection.priority import priority_sql
from app.contracts.models import Contract
from app.core.principal import Principal
from app.core.scoping import readable, writable
from app.core.sql import like_contains
from app.core.types import Timestamp
from app.customers.models import Customer
from app.ledger.models import EntryKind, LedgerAccount, LedgerEntry

OPEN = "open"


# --- lists ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CaseFilters:
    state: str | None = OPEN
    company_id: uuid.UUID | None = None
    bucket: str | None = None
    collector_id: uuid.UUID | None = None
    unassigned: bool | None = None
    dpd_min: int | None = None
    dpd_max: int | None = None
    promise_state: str | None = None
    last_contact_before: Timestamp | None = None
    q: str | None = None
    contract_id: uuid.UUID | None = None


def case_rows(principal: Principal, filters: CaseFilters, *columns: Any) -> Select[Any]:
    """The cases the principal may read with their money and names: (case, account, customer name,
    contract number, active promise), or the given `columns` of those tables (the hot worklist)."""
    stmt = (readable(principal, CollectionCase, *(columns or (
                CollectionCase, LedgerAccount, Customer.name.label("customer_name"),
                Contract.number.label("contract_number"), PromiseToPay)))
            .join(LedgerAccount, LedgerAccount.contract_id == CollectionCase.contract_id)
            .join(Customer, Customer.id == CollectionCase.customer_id)
            .join(Contract, Contract.id == CollectionCase.contract_id)
            .outerjoin(PromiseToPay, PromiseToPay.id == CollectionCase.active_promise_id))
    f = filters
    conditions = [
        f.state is None or CollectionCase.state == f.state,
        f.company_id is None or CollectionCase.company_id == f.company_id,
        f.bucket is None or LedgerAccount.bucket == f.bucket,
        f.collector_id is None or CollectionCase.collector_id == f.collector_id,
        f.unassigned is None or (CollectionCase.collector_id.is_(None) if f.unassigned
                                 else CollectionCase.collector_id.is_not(None)),
        f.dpd_min is None or LedgerAccount.dpd >= f.dpd_min,
        f.dpd_max is None or LedgerAccount.dpd <= f.dpd_max,
        f.promise_state is None or PromiseToPay.state == f.promise_state,
        f.last_contact_before is None or or_(CollectionCase.last_contact_at.is_(None),
                                             CollectionCase.last_contact_at < f.last_contact_before),
        f.q is None or Customer.name.ilike(like_contains(f.q or "")),
        f.contract_id is None or CollectionCase.contract_id == f.contract_id,
    ]
    return stmt.where(*(c for c in conditions if c is not True))


# A case list's columns for the hot path (cases.case_dicts shapes them as CaseOut).
CASE_COLUMNS = (
    CollectionCase.id, CollectionCase.state, CollectionCase.outcome, CollectionCase.company_id,
    CollectionCase.contract_id, Contract.number.label("contract_number"), CollectionCase.customer_id,
    Customer.name.label("customer_name"), CollectionCase.collector_id, CollectionCase.assigned_at, LedgerAccount.dpd,
    LedgerAccount.bucket, LedgerAccount.overdue_amount, LedgerAccount.overdue_principal,
    LedgerAccount.overdue_interest, LedgerAccount.overdue_fee, LedgerAccount.unpaid_penalty,
    LedgerAccount.outstanding_principal, LedgerAccount.as_of, PromiseToPay.id.label("promise_id"),
    PromiseToPay.amount.label("promise_amount"), PromiseToPay.promised_date.label("promise_date"),
    PromiseToPay.state.label("promise_state"), PromiseToPay.amount_paid.label("promise_amount_paid"),
    CollectionCase.last_contact_at, CollectionCase.next_action_date, CollectionCase.priority, CollectionCase.opened_on,
    CollectionCase.closed_on, CollectionCase.previous_case_id)


async def case_row(session: AsyncSession, principal: Principal, case_id: uuid.UUID) -> Any | None:
    stmt = case_rows(principal, CaseFilters(state=None)).where(CollectionCase.id == case_id)
    return (await session.execute(stmt)).first()


async def writable_cases(session: AsyncSession, principal: Principal, case_ids: Sequence[uuid.UUID]
                         ) -> list[CollectionCase]:
    """The cases among `case_ids` the principal may change, locked, in id order (no deadlocks)."""
    stmt = (writable(principal, CollectionCase).where(CollectionCase.id.in_(list(case_ids)))
            .order_by(CollectionCase.id).with_for_update())
    return list((await session.execute(stmt)).scalars())


async def add_assignments(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(CaseAssignment), list(rows))


async def assignments_of(session: AsyncSession, case_id: uuid.UUID) -> list[CaseAssignment]:
    stmt = select(CaseAssignment).where(CaseAssignment.case_id == case_id).order_by(CaseAssignment.at,
                                                                                     CaseAssignment.id)
    return list((await session.execute(stmt)).scalars())


# --- auto-assign ---------------------------------------------------------------------------------

async def unassigned_open_cases(session: AsyncSession, principal: Principal, company_id: uuid.UUID,
                                limit: int) -> list[tuple[CollectionCase, LedgerAccount]]:
    """The company's unassigned open cases the principal may change, highest bucket first, then the
    largest overdue amount, locked."""
    bucket_rank = func.array_position(literal(["current", "M1", "M2", "M3", "M4+"]), LedgerAccount.bucket)
    stmt = (writable(principal, CollectionCase, CollectionCase, LedgerAccount)
            .join(LedgerAccount, LedgerAccount.contract_id == CollectionCase.contract_id)
            .where(CollectionCase.company_id == company_id, CollectionCase.state == OPEN,
                   CollectionCase.collector_id.is_(None))
            .order_by(bucket_rank.desc(), LedgerAccount.overdue_amount.desc(), CollectionCase.id)
            .limit(limit).with_for_update(of=CollectionCase))
    return [(c, a) for c, a in (await session.execute(stmt)).all()]


async def open_load(session: AsyncSession, collector_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, tuple[Any, int]]:
    """Per collector: (open overdue amount, open cases)."""
    stmt = (select(CollectionCase.collector_id, func.coalesce(func.sum(LedgerAccount.overdue_amount), 0),
                   func.count())
            .join(LedgerAccount, LedgerAccount.contract_id == CollectionCase.contract_id)
            .where(CollectionCase.collector_id.in_(list(collector_ids)), CollectionCase.state == OPEN)
            .group_by(CollectionCase.collector_id))
    return {cid: (amount, n) for cid, amount, n in (await session.execute(stmt)).all()}


# --- for other areas ----------------------------------------------------------------------------

def contracts_held_by(principal: Principal) -> Select[Any]:
    """The contracts of the open cases the principal holds as collector (requests they may file)."""
    return select(CollectionCase.contract_id).where(
        CollectionCase.group_id == principal.group_id, CollectionCase.collector_id == principal.user_id,
        CollectionCase.state == OPEN)


async def contract_in_reach(session: AsyncSession, principal: Principal, contract_id: uuid.UUID) -> Contract | None:
    """The contract a request may be filed on: the principal's scope covers it, or they hold its
    open case (a collector's own cases). None otherwise."""
    stmt = select(Contract).where(Contract.id == contract_id, Contract.group_id == principal.group_id,
                                  or_(Contract.id.in_(readable(principal, Contract, Contract.id)),
                                      Contract.id.in_(contracts_held_by(principal))))
    return await session.scalar(stmt)


async def lock_open_case(session: AsyncSession, contract_id: uuid.UUID) -> CollectionCase | None:
    stmt = select(CollectionCase).where(CollectionCase.contract_id == contract_id,
                                        CollectionCase.state == OPEN).with_for_update()
    return await session.scalar(stmt)


# --- handover ------------------------------------------------------------------------------------

async def open_case_ids_held_by(session: AsyncSession, group_id: uuid.UUID, collector_id: uuid.UUID
                                ) -> list[uuid.UUID]:
    stmt = select(CollectionCase.id).where(CollectionCase.group_id == group_id, CollectionCase.state == OPEN,
                                           CollectionCase.collector_id == collector_id).with_for_update()
    return list((await session.execute(stmt)).scalars())


async def move_cases(session: AsyncSession, case_ids: Sequence[uuid.UUID], collector_id: uuid.UUID | None,
                     at: datetime) -> None:
    if case_ids:
        await session.execute(update(CollectionCase).where(CollectionCase.id.in_(list(case_ids))).values(
            collector_id=collector_id, assigned_at=at if collector_id else None,
            version=CollectionCase.version + 1, updated_at=at))


# --- integration events (core.events.publish_from sources) ----------------------------------------

def case_event_rows(case_ids: Sequence[uuid.UUID]) -> Select[Any]:
    """One row per case: what `collection_case.*` events carry, ordered per contract."""
    c = CollectionCase
    return (select(c.group_id.label("group_id"), c.company_id.label("company_id"),
                   cast(c.contract_id, String).label("ordering_key"),
                   func.jsonb_build_object("case_id", c.id, "contract_id", c.contract_id, "customer_id", c.customer_id,
                                           "state", c.state, "outcome", c.outcome, "opened_on", c.opened_on,
                                           "closed_on", c.closed_on, "collector_id", c.collector_id).label("data"))
            .where(c.id.in_(list(case_ids))).order_by(c.contract_id, c.id))


def promise_event_rows(promise_ids: Sequence[uuid.UUID]) -> Select[Any]:
    p = PromiseToPay
    return (select(p.group_id.label("group_id"), p.company_id.label("company_id"),
                   cast(p.contract_id, String).label("ordering_key"),
                   func.jsonb_build_object("promise_id", p.id, "case_id", p.case_id, "contract_id", p.contract_id,
                                           "collector_id", p.collector_id, "amount", cast(p.amount, String),
                                           "amount_paid", cast(p.amount_paid, String),
                                           "promised_date", p.promised_date, "state", p.state).label("data"))
            .where(p.id.in_(list(promise_ids))).order_by(p.contract_id, p.id))


# --- the timeline --------------------------------------------------------------------------------

# Areas whose records belong on a case's timeline (messages to the customer) add a part here, so
# collections does not import them: `part(case)` selects (at, kind, id, detail) like those below.
TimelinePart = Callable[[CollectionCase], Select[Any]]
_TIMELINE_PARTS: list[TimelinePart] = []


def register_timeline_part(part: TimelinePart) -> TimelinePart:
    _TIMELINE_PARTS.append(part)
    return part


def timeline(case: CollectionCase, kinds: Sequence[str] | None = None) -> Select[Any]:
    """What happened on the case and its contract, one row per event: (at, kind, id, detail), of
    `kinds` only when given. Payments are the contract's with a value date from the case's opening
    on; the registered parts add messages, requests and device commands."""
    def event(at: Any, kind: str, id_: Any, detail: Any, source: Any, *where: Any) -> Select[Any]:
        return select(at.label("at"), literal(kind).label("kind"), id_.label("id"), detail.label("detail")
                      ).select_from(source).where(*where)

    parts = union_all(
        event(CaseAssignment.at, "assignment", CaseAssignment.id,
              func.jsonb_build_object("from_collector_id", CaseAssignment.from_collector_id,
                                      "to_collector_id", CaseAssignment.to_collector_id,
                                      "by_id", CaseAssignment.by_id, "reason", CaseAssignment.reason),
              CaseAssignment, CaseAssignment.case_id == case.id),
        event(CollectionLog.occurred_at, "log", CollectionLog.id,
              func.jsonb_build_object("author_id", CollectionLog.author_id, "action", CollectionLog.action,
                                      "result", CollectionLog.result, "notes", CollectionLog.notes,
                                      "voided", CollectionLog.voided_at.is_not(None)),
              CollectionLog, CollectionLog.case_id == case.id),
        event(PromiseToPay.created_at, "promise", PromiseToPay.id,
              func.jsonb_build_object("amount", cast(PromiseToPay.amount, String),
                                      "promised_date", PromiseToPay.promised_date,
                                      "state", PromiseToPay.state,
                                      "amount_paid", cast(PromiseToPay.amount_paid, String)),
              PromiseToPay, PromiseToPay.case_id == case.id),
        event(LedgerEntry.recorded_at, "payment", LedgerEntry.id,
              # Money leaves as a decimal string, like everywhere else (a JSON number would be a float).
              func.jsonb_build_object("amount", cast(LedgerEntry.amount, String), "value_date", LedgerEntry.value_date,
                                      "method", LedgerEntry.method),
              LedgerEntry, LedgerEntry.contract_id == case.contract_id, LedgerEntry.kind == EntryKind.PAYMENT,
              LedgerEntry.value_date >= case.opened_on),
        *(part(case) for part in _TIMELINE_PARTS),
    ).subquery("timeline")
    return select(parts) if kinds is None else select(parts).where(parts.c.kind.in_(kinds))


# --- the close of business -----------------------------------------------------------------------

async def open_cases_for(session: AsyncSession, company_ids: Sequence[uuid.UUID], day: date) -> list[uuid.UUID]:
    """Open a case for every contract overdue by at least its company's threshold without one
    (linked to its previous case, if any). Set-based; returns the new cases' ids."""
    threshold = func.coalesce(
        select(CollectionPolicy.open_at_dpd).where(CollectionPolicy.company_id == LedgerAccount.company_id)
        .scalar_subquery(), 1)
    previous = (select(CollectionCase.id).where(CollectionCase.contract_id == LedgerAccount.contract_id)
                .order_by(CollectionCase.created_at.desc()).limit(1).scalar_subquery())
    source = (select(func.gen_random_uuid(), LedgerAccount.group_id, LedgerAccount.company_id,
                     LedgerAccount.contract_id, Contract.customer_id, previous, literal("open"), literal(day),
                     literal(0))
              .join(Contract, Contract.id == LedgerAccount.contract_id)
              .where(LedgerAccount.dpd >= threshold, LedgerAccount.dpd > 0, LedgerAccount.settled.is_(False),
                     ~exists().where(CollectionCase.contract_id == LedgerAccount.contract_id,
                                     CollectionCase.state == OPEN)))
    source = source.where(LedgerAccount.company_id.in_(list(company_ids)))
    stmt = (insert(CollectionCase)
            .from_select(["id", "group_id", "company_id", "contract_id", "customer_id", "previous_case_id", "state",
                          "opened_on", "priority"], source)
            .returning(CollectionCase.id))
    return list((await session.execute(stmt)).scalars())


async def close_cases_for(session: AsyncSession, company_ids: Sequence[uuid.UUID], day: date
                          ) -> list[tuple[uuid.UUID, str]]:
    """Close open cases whose contract owes nothing overdue any more (`cured`) or is settled."""
    outcome = func.coalesce(
        select(literal("settled")).where(LedgerAccount.contract_id == CollectionCase.contract_id,
                                         LedgerAccount.settled.is_(True)).scalar_subquery(), literal("cured"))
    done = exists().where(LedgerAccount.contract_id == CollectionCase.contract_id,
                          or_(LedgerAccount.settled.is_(True), LedgerAccount.overdue_amount == 0))
    stmt = update(CollectionCase).where(CollectionCase.state == OPEN, done,
                                        CollectionCase.company_id.in_(list(company_ids)))
    stmt = stmt.values(state="closed", outcome=outcome, closed_on=day, version=CollectionCase.version + 1,
                       updated_at=func.now()).returning(CollectionCase.id, CollectionCase.outcome)
    return [(i, o) for i, o in (await session.execute(stmt)).all()]


async def refresh_priority(session: AsyncSession, today: date, *, company_ids: Sequence[uuid.UUID] | None = None,
                           case_ids: Iterable[uuid.UUID] | None = None, zone: str = "Asia/Shanghai") -> int:
    """Recompute the priority of open cases (set-based) from their accounts and promises; days
    since the last contact count in `zone` (the business time zone of the cases' companies)."""
    last_contact_on = func.date(func.timezone(zone, CollectionCase.last_contact_at))
    value = priority_sql(LedgerAccount.bucket, LedgerAccount.overdue_amount, PromiseToPay.state,
                         PromiseToPay.promised_date, last_contact_on, today)
    new = (select(CollectionCase.id.label("case_id"), value.label("priority"))
           .join(LedgerAccount, LedgerAccount.contract_id == CollectionCase.contract_id)
           .outerjoin(PromiseToPay, PromiseToPay.id == CollectionCase.active_promise_id)
           .where(CollectionCase.state == OPEN))
    if company_ids is not None:
        new = new.where(CollectionCase.company_id.in_(list(company_ids)))
    if case_ids is not None:
        new = new.where(CollectionCase.id.in_(list(case_ids)))
    sub = new.subquery()
    result = await session.execute(update(CollectionCase).where(
        CollectionCase.id == sub.c.case_id, CollectionCase.priority != sub.c.priority).values(priority=sub.c.priority))
    return result.rowcount or 0

