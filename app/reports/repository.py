"""Reports' queries: each report is one or two set-based, grouped statements.

A report joins several areas' tables in one statement (accounts with the cases that hold them,
cases with their logs, promises and payments): fetching each area's rows through its own
functions and joining in Python would read every row of the scope into the app. So these queries
live here, each starting from `readable()` of the model that decides what the caller sees:
the ledger account (aging), the month-end snapshot (roll rates), the collection case (collector
performance, promises), the contract and the customer (sales). The other tables are joined only
to name (who holds the case, who sold the contract) or to count what hangs on a readable row.
Batch writes (the month-end snapshot) insert from the ledger's own SELECT (`ledger.repository`).
"""

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Date, and_, case, cast, exists, extract, func, literal, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.collection.models import CollectionCase, CollectionLog, PromiseToPay
from app.contracts.models import Contract, ContractState
from app.core.principal import Principal
from app.core.scoping import readable
from app.customers.models import Customer, CustomerActivity
from app.ledger import repository as ledger_repo
from app.ledger.models import EntryKind, LedgerAccount, LedgerEntry
from app.reports.models import BucketSnapshot

# A contract is "signed" once approved: drafts, contracts under approval and cancelled ones are not sales.
SIGNED_STATES = (ContractState.APPROVED, ContractState.INVESTIGATING, ContractState.SHIPPING, ContractState.ACTIVE,
                 ContractState.SETTLED, ContractState.REPOSSESSED)
Zones = Mapping[str, Sequence[uuid.UUID]]  # time zone name → the companies in it


def local_date(moment: Any, company_id: Any, zones: Zones) -> Any:
    """The date of a timestamp in its company's time zone: one CASE over the few zones there are."""
    if len(zones) == 1:
        return cast(func.timezone(next(iter(zones)), moment), Date)
    return cast(case(*((company_id.in_(list(ids)), func.timezone(zone, moment)) for zone, ids in zones.items()),
                     else_=func.timezone("UTC", moment)), Date)


def _standing(entry: Any) -> Any:
    """An entry that stands: not a reversal, and not reversed."""
    reversal = aliased(LedgerEntry)
    return and_(entry.kind != EntryKind.REVERSAL, ~exists().where(reversal.reverses_id == entry.id))


# --- aging ---------------------------------------------------------------------------------------

async def aging(session: AsyncSession, principal: Principal, day: date, *, snapshot: bool,
                by: str) -> list[Any]:
    """(company, key, bucket, contracts, outstanding principal, overdue amount, unapplied credit) of the open accounts
    (or the month-end snapshot of `day`), `key` the collector holding the case open on `day` or the
    contract's salesperson (None when grouped by company only)."""
    src: Any = BucketSnapshot if snapshot else LedgerAccount
    key: Any = literal(None, type_=CollectionCase.collector_id.type).label("key")
    if by == "collector":
        key = CollectionCase.collector_id.label("key")
    elif by == "salesperson":
        key = Contract.owner_id.label("key")
    stmt = readable(principal, src, src.company_id, key, src.bucket, func.count().label("contracts"),
                    func.sum(src.outstanding_principal).label("outstanding_principal"),
                    func.sum(src.overdue_amount).label("overdue_amount"),
                    func.sum(src.unapplied_credit).label("unapplied_credit"))
    stmt = stmt.where(src.snapshot_date == day) if snapshot else stmt.where(src.settled.is_(False))
    if by == "collector":
        # The case open on the day (at most one per contract): its holder, or nobody.
        stmt = stmt.outerjoin(CollectionCase, and_(
            CollectionCase.contract_id == src.contract_id, CollectionCase.opened_on <= day,
            or_(CollectionCase.closed_on.is_(None), CollectionCase.closed_on > day)))
    elif by == "salesperson":
        stmt = stmt.join(Contract, Contract.id == src.contract_id)
    stmt = stmt.group_by(src.company_id, key, src.bucket)
    return list((await session.execute(stmt)).all())


# --- roll rates ----------------------------------------------------------------------------------

async def snapshot_month_end(session: AsyncSession, day: date, company_ids: Sequence[uuid.UUID]) -> int:
    """Write the month-end snapshot of `day` for these companies' open accounts (INSERT … SELECT).
    Idempotent: a row is rewritten only while the account's figures are still those of `day` (a
    second run of the day after more payments), never once the account has moved on; an account
    a payment brought past the day counts with its figures then."""
    source = ledger_repo.open_accounts_figures(company_ids, day).subquery("account")
    columns = ("as_of", "dpd", "bucket", "outstanding_principal", "overdue_amount", "unapplied_credit")
    upsert = insert(BucketSnapshot).from_select(
        ["snapshot_date", "contract_id", "group_id", "company_id", *columns],
        select(literal(day, Date), source.c.contract_id, source.c.group_id, source.c.company_id,
               *(source.c[c] for c in columns)))
    upsert = upsert.on_conflict_do_update(
        index_elements=["snapshot_date", "contract_id"], set_={c: getattr(upsert.excluded, c) for c in columns},
        where=upsert.excluded.as_of == BucketSnapshot.snapshot_date)
    result = await session.execute(upsert)
    return result.rowcount or 0  # type: ignore[attr-defined]


async def roll_matrix(session: AsyncSession, principal: Principal, start: date, end: date) -> list[Any]:
    """(bucket at `start`, bucket at `end` or None when the contract left the book, contracts,
    outstanding principal at `start`) over the contracts in the snapshot of `start`."""
    later = aliased(BucketSnapshot)
    s = BucketSnapshot
    stmt = (readable(principal, s, s.bucket.label("from_bucket"), later.bucket.label("to_bucket"),
                     func.count().label("contracts"), func.sum(s.outstanding_principal).label("outstanding_principal"))
            .outerjoin(later, and_(later.contract_id == s.contract_id, later.snapshot_date == end))
            .where(s.snapshot_date == start).group_by(s.bucket, later.bucket))
    return list((await session.execute(stmt)).all())


async def bucket_series(session: AsyncSession, principal: Principal, days: Sequence[date]) -> list[Any]:
    """(month end, bucket, contracts, outstanding principal, overdue amount) for each of `days`."""
    s = BucketSnapshot
    stmt = (readable(principal, s, s.snapshot_date, s.bucket, func.count().label("contracts"),
                     func.sum(s.outstanding_principal).label("outstanding_principal"),
                     func.sum(s.overdue_amount).label("overdue_amount"))
            .where(s.snapshot_date.in_(list(days))).group_by(s.snapshot_date, s.bucket))
    return list((await session.execute(stmt)).all())


# --- collector performance -----------------------------------------------------------------------

async def collector_performance(session: AsyncSession, principal: Principal, start: date, end: date,
                                zones: Zones) -> list[Any]:
    """Per collector, over the cases they hold that were open at some time in [start, end]: what
    `service.collector_performance` documents. One statement: the held cases, then per case its
    logs, promises, payments and overdue at assignment, summed by collector."""
    c = CollectionCase
    held = (readable(principal, c, c.id, c.collector_id, c.contract_id, c.company_id, c.opened_on, c.closed_on,
                     c.assigned_at)
            .where(c.collector_id.is_not(None), c.opened_on <= end, or_(c.closed_on.is_(None), c.closed_on >= start))
            .cte("held"))

    # Only logs from the period's first day on count (its contacts, and the first contact of the
    # cases assigned in it): a day's margin covers every zone, the local date decides.
    log = CollectionLog
    log_day = local_date(log.occurred_at, log.company_id, zones)
    in_period = and_(log_day >= start, log_day <= end)
    since = datetime.combine(start, time.min, UTC) - timedelta(days=1)
    logs = (select(log.case_id, func.count().filter(in_period).label("contacts"),
                   func.count().filter(and_(in_period, log.action == "call")).label("calls"),
                   func.count().filter(and_(in_period, log.action == "visit")).label("visits"),
                   func.min(log.occurred_at).filter(log.occurred_at >= held.c.assigned_at).label("first_contact"))
            .join(held, and_(held.c.id == log.case_id, held.c.collector_id == log.author_id))
            .where(log.voided_at.is_(None), log.occurred_at >= since).group_by(log.case_id).subquery("logs"))

    p = PromiseToPay
    promises = (select(p.case_id, func.count().filter(p.created_on.between(start, end)).label("made"),
                       func.count().filter(and_(p.state == "kept", p.judged_on.between(start, end))).label("kept"),
                       func.count().filter(and_(p.state == "broken", p.judged_on.between(start, end))).label("broken"))
                .join(held, and_(held.c.id == p.case_id, held.c.collector_id == p.collector_id))
                .group_by(p.case_id).subquery("promises"))

    # The money (README, "Collector KPIs"): each case's base is what was overdue at the moment of its
    # assignment; a credit is before that moment when value-dated before its local day, or on that day
    # and recorded at or before it; every other payment of the case is after it, and counts while the
    # case is held (until it closed). Recovered in the period: what the payments after the assignment
    # had recovered by the period's end, less what they had recovered before its start, each capped
    # by the base (so a case never recovers more than its base, whatever the period).
    e = LedgerEntry
    assigned_on = local_date(held.c.assigned_at, held.c.company_id, zones)
    credit = e.kind.in_((EntryKind.PAYMENT, EntryKind.WAIVER))
    before = or_(e.value_date < assigned_on, and_(e.value_date == assigned_on, e.recorded_at <= held.c.assigned_at))
    owed = case((and_(e.kind.in_((EntryKind.INSTALMENT_DUE, EntryKind.CHARGE)), e.value_date < assigned_on), e.amount),
                (and_(e.kind == EntryKind.PENALTY, e.value_date <= assigned_on), e.amount),
                (and_(credit, before), -e.amount), else_=0)
    after = and_(e.kind == EntryKind.PAYMENT, ~before,
                 e.value_date <= func.least(end, func.coalesce(held.c.closed_on, end)))
    money = (select(held.c.id.label("case_id"), func.greatest(func.sum(owed), 0).label("base"),
                    func.coalesce(func.sum(e.amount).filter(after), 0).label("through_end"),
                    func.coalesce(func.sum(e.amount).filter(and_(after, e.value_date < start)), 0)
                    .label("before_start"))
             .join(e, e.contract_id == held.c.contract_id)
             .where(_standing(e)).group_by(held.c.id).subquery("money"))
    base = func.coalesce(money.c.base, 0)
    recovered = (func.least(func.coalesce(money.c.through_end, 0), base)
                 - func.least(func.coalesce(money.c.before_start, 0), base))

    assigned_in_period = local_date(held.c.assigned_at, held.c.company_id, zones).between(start, end)
    days_to_contact = extract("epoch", logs.c.first_contact - held.c.assigned_at) / 86400
    stmt = (select(held.c.collector_id, func.count().label("cases_held"),
                   func.count().filter(logs.c.contacts > 0).label("cases_contacted"),
                   func.coalesce(func.sum(logs.c.calls), 0).label("calls"),
                   func.coalesce(func.sum(logs.c.visits), 0).label("visits"),
                   func.coalesce(func.sum(promises.c.made), 0).label("promises_made"),
                   func.coalesce(func.sum(promises.c.kept), 0).label("promises_kept"),
                   func.coalesce(func.sum(promises.c.broken), 0).label("promises_broken"),
                   func.coalesce(func.sum(money.c.through_end - money.c.before_start), 0).label("collected"),
                   func.coalesce(func.sum(recovered), 0).label("recovered"),
                   func.coalesce(func.sum(base), 0).label("overdue_at_assignment"),
                   func.avg(days_to_contact).filter(assigned_in_period).label("days_to_first_contact"))
            .select_from(held)
            .outerjoin(logs, logs.c.case_id == held.c.id)
            .outerjoin(promises, promises.c.case_id == held.c.id)
            .outerjoin(money, money.c.case_id == held.c.id)
            .group_by(held.c.collector_id))
    return list((await session.execute(stmt)).all())


# --- promises ------------------------------------------------------------------------------------

def _promises_of(principal: Principal, today: date, yesterday: date, *columns: Any) -> Any:
    """Promises on readable cases due `today` (any state but superseded) or broken `yesterday`."""
    p = PromiseToPay
    return (readable(principal, CollectionCase, *columns).join(p, p.case_id == CollectionCase.id)
            .where(or_(and_(p.promised_date == today, p.state != "superseded"),
                       and_(p.promised_date == yesterday, p.state == "broken"))))


async def promise_counts(session: AsyncSession, principal: Principal, today: date, yesterday: date) -> list[Any]:
    """(collector, promised date, promises, amount) of the morning list, by collector and day."""
    p = PromiseToPay
    stmt = (_promises_of(principal, today, yesterday, p.collector_id, p.promised_date, func.count().label("promises"),
                         func.sum(p.amount).label("amount"))
            .group_by(p.collector_id, p.promised_date))
    return list((await session.execute(stmt)).all())


async def promise_items(session: AsyncSession, principal: Principal, today: date, yesterday: date,
                        limit: int) -> list[Any]:
    """The morning list itself, by collector then largest first, at most `limit` rows. Contract number
    and customer name as the case's own list shows them."""
    p = PromiseToPay
    stmt = (_promises_of(principal, today, yesterday, p.id, p.case_id, p.contract_id, p.collector_id, p.amount,
                         p.promised_date, p.state, p.amount_paid, Contract.number.label("contract_number"),
                         Customer.name.label("customer_name"))
            .join(Contract, Contract.id == p.contract_id).join(Customer, Customer.id == CollectionCase.customer_id)
            .order_by(p.collector_id, p.promised_date.desc(), p.amount.desc(), p.id).limit(limit))
    return list((await session.execute(stmt)).all())


# --- sales ---------------------------------------------------------------------------------------

def _month(day: Any) -> Any:
    return cast(func.date_trunc("month", day), Date).label("month")


async def contracts_signed(session: AsyncSession, principal: Principal, start: date, end: date) -> list[Any]:
    """(month, company, salesperson, contracts, financed) of the contracts signed in [start, end]."""
    c = Contract
    month = _month(c.signed_date)
    stmt = (readable(principal, c, month, c.company_id, c.owner_id, func.count().label("contracts"),
                     func.sum(c.price - c.down_payment).label("financed"))
            .where(c.signed_date.between(start, end), c.state.in_(SIGNED_STATES))
            .group_by(month, c.company_id, c.owner_id))
    return list((await session.execute(stmt)).all())


async def customers_won(session: AsyncSession, principal: Principal, start: date, end: date) -> list[Any]:
    """(month, company, salesperson, claimed, secured) from the customers' ownership history, over
    the customers the caller may read."""
    a = CustomerActivity
    month = _month(a.business_date)
    stmt = (readable(principal, Customer, month, a.company_id, a.user_id,
                     func.count().filter(a.kind == "claimed").label("claimed"),
                     func.count().filter(a.kind == "secured").label("secured"))
            .join(a, a.customer_id == Customer.id)
            .where(a.kind.in_(("claimed", "secured")), a.business_date.between(start, end), a.user_id.is_not(None))
            .group_by(month, a.company_id, a.user_id))
    return list((await session.execute(stmt)).all())


async def add_snapshots(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Snapshot rows computed elsewhere (the demo's past month ends, replayed from the ledger)."""
    if rows:
        await session.execute(insert(BucketSnapshot).values(list(rows)).on_conflict_do_nothing())
