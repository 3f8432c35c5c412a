"""The queries of collection logs and promises to pay (the cases' own are in repository.py)."""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, case, exists, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.collection.models import CaseAssignment, CollectionCase, CollectionLog, PromiseToPay
from app.core.principal import Principal
from app.core.scoping import readable
from app.core.types import BusinessDate, Timestamp
from app.ledger.models import EntryKind, LedgerAccount, LedgerEntry

# A case's assignment history is short (a handful of moves); the bound only keeps a query bounded.
MAX_ASSIGNMENTS = 500


# --- logs ------------------------------------------------------------------------------------------

async def log_by_id(session: AsyncSession, log_id: uuid.UUID) -> CollectionLog | None:
    """A log by its id, whoever wrote it: only for comparing an upload with what is stored under its
    id (the caller gets it back only when it is their own and the body is the same)."""
    stmt = select(CollectionLog).where(CollectionLog.id == log_id).execution_options(populate_existing=True)
    return await session.scalar(stmt)


async def insert_log(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Insert the log unless its id exists (a concurrent upload of the same id): True when inserted."""
    stmt = insert(CollectionLog).values(**values).on_conflict_do_nothing(index_elements=["id"])
    return (await session.execute(stmt.returning(CollectionLog.id))).first() is not None


async def last_contact(session: AsyncSession, case_id: uuid.UUID) -> datetime | None:
    """When the case's latest log that stands (not voided) occurred."""
    return await session.scalar(select(func.max(CollectionLog.occurred_at)).where(
        CollectionLog.case_id == case_id, CollectionLog.voided_at.is_(None)))


def logs_of_case(case_id: uuid.UUID, group_id: uuid.UUID) -> Select[Any]:
    """A case's logs; the caller has read the case in scope (its logs are its history)."""
    return select(CollectionLog).where(CollectionLog.case_id == case_id, CollectionLog.group_id == group_id)


@dataclass(frozen=True)
class LogFilter:
    case_id: uuid.UUID | None = None
    author_id: uuid.UUID | None = None
    company_id: uuid.UUID | None = None
    action: str | None = None
    result: str | None = None
    occurred_from: Timestamp | None = None
    occurred_to: Timestamp | None = None


def filter_logs(principal: Principal, filters: LogFilter) -> Select[Any]:
    stmt = _equal(readable(principal, CollectionLog), CollectionLog, filters,
                  ("case_id", "author_id", "company_id", "action", "result"))
    if filters.occurred_from is not None:
        stmt = stmt.where(CollectionLog.occurred_at >= filters.occurred_from)
    if filters.occurred_to is not None:
        stmt = stmt.where(CollectionLog.occurred_at < filters.occurred_to)
    return stmt


def _equal(stmt: Select[Any], model: type, filters: Any, names: tuple[str, ...]) -> Select[Any]:
    """`stmt` where each named filter that is given equals the model's column of that name."""
    for name in names:
        value = getattr(filters, name)
        if value is not None:
            stmt = stmt.where(getattr(model, name) == value)
    return stmt


# --- cases, as logging needs them ------------------------------------------------------------------

async def assignments_held(session: AsyncSession, principal: Principal,
                           case_id: uuid.UUID) -> list[CaseAssignment] | None:
    """The assignment history of a case of the caller's group that the caller once held (they appear
    in it as a collector), oldest first; None when they never did (or the case is not of their group).
    How a collector whose case was reassigned away reaches it for the history rule."""
    held = exists().where(CaseAssignment.case_id == case_id,
                          (CaseAssignment.from_collector_id == principal.user_id)
                          | (CaseAssignment.to_collector_id == principal.user_id))
    stmt = (select(CaseAssignment).join(CollectionCase, CollectionCase.id == CaseAssignment.case_id)
            .where(CaseAssignment.case_id == case_id, CollectionCase.group_id == principal.group_id, held)
            .order_by(CaseAssignment.at, CaseAssignment.id).limit(MAX_ASSIGNMENTS))
    rows = list((await session.scalars(stmt)).all())
    return rows or None


async def case_for_update(session: AsyncSession, case_id: uuid.UUID) -> CollectionCase:
    """A case by id, locked: only after `assignments_held` found the caller in its history."""
    stmt = (select(CollectionCase).where(CollectionCase.id == case_id).with_for_update()
            .execution_options(populate_existing=True))
    return (await session.scalars(stmt)).one()


async def assignments_of(session: AsyncSession, case_id: uuid.UUID) -> list[CaseAssignment]:
    stmt = (select(CaseAssignment).where(CaseAssignment.case_id == case_id)
            .order_by(CaseAssignment.at, CaseAssignment.id).limit(MAX_ASSIGNMENTS))
    return list((await session.scalars(stmt)).all())


async def account_figures(session: AsyncSession, contract_id: uuid.UUID) -> tuple[str, Decimal]:
    """(bucket, overdue amount) of the contract's ledger account; current and 0 without one."""
    row = (await session.execute(select(LedgerAccount.bucket, LedgerAccount.overdue_amount)
                                 .where(LedgerAccount.contract_id == contract_id))).first()
    return (row.bucket, row.overdue_amount) if row is not None else ("current", Decimal("0"))


# --- promises ----------------------------------------------------------------------------------------

async def promises_of_logs(session: AsyncSession, log_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, PromiseToPay]:
    ids = list(set(log_ids))
    if not ids:
        return {}
    return {p.log_id: p for p in (await session.scalars(select(PromiseToPay).where(PromiseToPay.log_id.in_(ids))))}


async def promise(session: AsyncSession, promise_id: uuid.UUID | None) -> PromiseToPay | None:
    return None if promise_id is None else await session.get(PromiseToPay, promise_id)


async def pending_of_case(session: AsyncSession, case_id: uuid.UUID) -> list[tuple[PromiseToPay, datetime]]:
    """The case's pending promises with when their log occurred (few: a new one supersedes the rest)."""
    stmt = (select(PromiseToPay, CollectionLog.occurred_at).join(CollectionLog, CollectionLog.id == PromiseToPay.log_id)
            .where(PromiseToPay.case_id == case_id, PromiseToPay.state == "pending")
            .with_for_update(of=PromiseToPay))
    return [(p, at) for p, at in (await session.execute(stmt)).all()]


async def supersede(session: AsyncSession, promise_ids: Sequence[uuid.UUID]) -> None:
    if promise_ids:
        await session.execute(update(PromiseToPay).where(PromiseToPay.id.in_(list(promise_ids)),
                                                         PromiseToPay.state == "pending")
                              .values(state="superseded").execution_options(synchronize_session="fetch"))


async def pending_on_contract(session: AsyncSession, contract_id: uuid.UUID) -> PromiseToPay | None:
    stmt = (select(PromiseToPay).where(PromiseToPay.contract_id == contract_id, PromiseToPay.state == "pending")
            .order_by(PromiseToPay.promised_date).limit(1))
    return await session.scalar(stmt)


@dataclass(frozen=True)
class PromiseFilter:
    state: str | None = None
    collector_id: uuid.UUID | None = None
    company_id: uuid.UUID | None = None
    due_from: BusinessDate | None = None
    due_to: BusinessDate | None = None


def filter_promises(principal: Principal, filters: PromiseFilter) -> Select[Any]:
    """Promises of the cases the caller may read (a promise is seen with its case)."""
    stmt = readable(principal, CollectionCase, PromiseToPay).join(PromiseToPay,
                                                                  PromiseToPay.case_id == CollectionCase.id)
    stmt = _equal(stmt, PromiseToPay, filters, ("state", "collector_id", "company_id"))
    if filters.due_from is not None:
        stmt = stmt.where(PromiseToPay.promised_date >= filters.due_from)
    if filters.due_to is not None:
        stmt = stmt.where(PromiseToPay.promised_date <= filters.due_to)
    return stmt


@dataclass(frozen=True)
class Judged:
    id: uuid.UUID
    group_id: uuid.UUID
    company_id: uuid.UUID
    case_id: uuid.UUID
    contract_id: uuid.UUID
    collector_id: uuid.UUID
    state: str
    amount: Decimal
    amount_paid: Decimal
    promised_date: date


async def judge(session: AsyncSession, day: date, contract_ids: Sequence[uuid.UUID] | None,
                company_ids: Sequence[uuid.UUID] | None = None) -> list[Judged]:
    """One UPDATE: every pending promise due by `day` becomes kept or broken from the payments that
    stand (not reversed) with value dates from its creation through its date."""
    payment = aliased(LedgerEntry)
    reversal = aliased(LedgerEntry)
    due = [PromiseToPay.state == "pending", PromiseToPay.promised_date <= day]
    if contract_ids is not None:
        due.append(PromiseToPay.contract_id.in_(list(contract_ids)))
    if company_ids is not None:
        due.append(PromiseToPay.company_id.in_(list(company_ids)))
    paid = (select(PromiseToPay.id.label("promise_id"),
                   func.coalesce(func.sum(payment.amount), 0).label("paid"))
            .outerjoin(payment, and_(payment.contract_id == PromiseToPay.contract_id,
                                     payment.kind == EntryKind.PAYMENT,
                                     payment.value_date.between(PromiseToPay.created_on, PromiseToPay.promised_date),
                                     ~exists().where(reversal.reverses_id == payment.id)))
            .where(*due).group_by(PromiseToPay.id).subquery("paid"))
    stmt = (update(PromiseToPay).where(PromiseToPay.id == paid.c.promise_id, PromiseToPay.state == "pending")
            .values(state=case((paid.c.paid >= PromiseToPay.amount, "kept"), else_="broken"),
                    amount_paid=paid.c.paid, judged_on=day)
            .returning(PromiseToPay.id, PromiseToPay.group_id, PromiseToPay.company_id, PromiseToPay.case_id,
                       PromiseToPay.contract_id, PromiseToPay.collector_id, PromiseToPay.state, PromiseToPay.amount,
                       PromiseToPay.amount_paid, PromiseToPay.promised_date)
            .execution_options(synchronize_session=False))
    return [Judged(*row) for row in (await session.execute(stmt)).all()]



async def log_or_case_readable(session: AsyncSession, principal: Principal, log: CollectionLog) -> bool:
    """Whether the principal may read the log, or the case it is on."""
    if await session.scalar(readable(principal, CollectionLog, CollectionLog.id).where(
            CollectionLog.id == log.id)) is not None:
        return True
    return await session.scalar(readable(principal, CollectionCase, CollectionCase.id).where(
        CollectionCase.id == log.case_id)) is not None
