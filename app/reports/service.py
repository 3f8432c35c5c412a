"""The reports: which day or period a report covers (the caller's business date by default), what
each figure means, and the shaping of the grouped rows `repository` returns. Every figure is within
the caller's data scope (the repository starts from `readable()`), and reconciles with the ledger
and the cases (tests/reports/test_reconciliation.py).

Days: the business date is the caller's (`ledger.cob.business_date_of`). The close of business
closes every calendar day, so a month's last business day is its last day: the month-end
snapshot is written then (`reports.cob`)."""

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.principal import Principal
from app.ledger.cob import business_date_of
from app.ledger.rules import Bucket
from app.org import repository as org_repo
from app.reports import repository as repo
from app.reports.errors import ReportDateUnavailable, ReportPeriodInvalid
from app.reports.schemas import (
    AgingOut,
    AgingRow,
    BucketTotal,
    CollectorPerformanceOut,
    CollectorRow,
    PromiseCount,
    PromiseItem,
    PromisesOut,
    RollCell,
    RollRatesOut,
    SalesOut,
    SalesRow,
    SeriesPoint,
)

ZERO = Decimal("0.00")
BUCKETS = [b.value for b in Bucket]
MAX_PERIOD_DAYS = 366
MAX_SALES_DAYS = 3 * 366
MAX_PROMISE_ITEMS = 1000
# The days a report may be asked about: far enough from date.min and date.max that a month end
# before, a day before and a day's margin in time zones stay dates.


def is_month_end(day: date) -> bool:
    return (day + timedelta(days=1)).day == 1


def month_end_before(day: date) -> date:
    """The last month end strictly before `day`'s month (the day before its first)."""
    return day.replace(day=1) - timedelta(days=1)


def month_ends(last: date, count: int) -> list[date]:
    """`count` month ends, oldest first, the newest `last` (a month end)."""
    days = [last]
    while len(days) < count:
        days.append(month_end_before(days[-1]))
    return days[::-1]


async def _today(session: AsyncSession, principal: Principal) -> date:
    return (await business_date_of(session, principal)).business_date


def _period(start: date | None, end: date | None, today: date, *, default_start: date,
            max_days: int) -> tuple[date, date]:
    end = end or today
    start = start or default_start
    if start > end or (end - start).days >= max_days:
        raise ReportPeriodInvalid(f"The period {start}–{end} must run forwards and span at most {max_days} days",
                                  errors=[{"pointer": "/query/from", "message": f"from ≤ to, ≤ {max_days} days"}])
    return start, end


async def _names(session: AsyncSession, user_ids: Iterable[Any]) -> dict[Any, str]:
    return await org_repo.display_names(session, [u for u in user_ids if u is not None])


async def _zones(session: AsyncSession, principal: Principal) -> dict[str, list[Any]]:
    """The group's companies by time zone (a report's local dates)."""
    zones: dict[str, list[Any]] = defaultdict(list)
    companies = await org_repo.company_codes(session, principal.group_id)
    for company_id, (_, tz) in (await org_repo.company_zones(session, companies)).items():
        zones[tz.key].append(company_id)
    return zones


# --- aging ---------------------------------------------------------------------------------------

async def aging(session: AsyncSession, principal: Principal, as_of: date | None, by: str) -> AgingOut:
    """As of the business date (the ledger's accounts, every one brought to it by the close of
    business), or of a past month end (its snapshot); any other day answers 422
    `report.date_unavailable` (the accounts hold today's figures only)."""
    today = await _today(session, principal)
    day = as_of or today
    snapshot = day != today
    if snapshot and not (is_month_end(day) and day < today):
        raise ReportDateUnavailable(f"Aging is kept for the business date {today} and past month ends, not {day}",
                                    errors=[{"pointer": "/query/as_of", "message": "the business date or a past "
                                             "month end"}])
    rows = await repo.aging(session, principal, day, snapshot=snapshot, by=by)
    codes = await org_repo.company_codes(session, principal.group_id)
    names = await _names(session, (r.key for r in rows))
    order = {b: n for n, b in enumerate(BUCKETS)}
    out = [AgingRow(company_id=r.company_id, company_code=codes.get(r.company_id, ""), key_id=r.key,
                    key_name=names.get(r.key), bucket=r.bucket, contracts=r.contracts,
                    outstanding_principal=r.outstanding_principal, overdue_amount=r.overdue_amount,
                    unapplied_credit=r.unapplied_credit)
           for r in rows]
    out.sort(key=lambda r: (r.company_code, r.key_name or "", order[r.bucket]))
    totals = []
    for b in BUCKETS:
        mine = [r for r in out if r.bucket == b]
        totals.append(BucketTotal(bucket=b, contracts=sum(r.contracts for r in mine),
                                  outstanding_principal=sum((r.outstanding_principal for r in mine), ZERO),
                                  overdue_amount=sum((r.overdue_amount for r in mine), ZERO),
                                  unapplied_credit=sum((r.unapplied_credit for r in mine), ZERO)))
    return AgingOut(as_of=day, source="snapshot" if snapshot else "accounts", by=by, rows=out, totals=totals)


# --- roll rates ----------------------------------------------------------------------------------

async def roll_rates(session: AsyncSession, principal: Principal, start: date | None, end: date | None,
                     months: int) -> RollRatesOut:
    """Between two month ends (default: the last two before the business date, or ending on it when
    it is a month end): for each bucket at `from`, how many of its contracts were in each bucket at
    `to` (`closed`: no longer open), and the share of the bucket. `months` month ends of bucket
    totals end at `to`, for the trend chart."""
    today = await _today(session, principal)
    end = end or (today if is_month_end(today) else month_end_before(today))
    start = start or month_end_before(end)
    if not (is_month_end(start) and is_month_end(end)) or start >= end or end > today:
        raise ReportPeriodInvalid(f"from {start} and to {end} must be month ends, from before to, to not after "
                                  f"the business date {today}",
                                  errors=[{"pointer": "/query/from", "message": "month ends, from < to ≤ today"}])
    cells = await repo.roll_matrix(session, principal, start, end)
    totals: dict[str, int] = defaultdict(int)
    for c in cells:
        totals[c.from_bucket] += c.contracts
    order = {b: n for n, b in enumerate([*BUCKETS, "closed"])}
    matrix = sorted((RollCell(from_bucket=c.from_bucket, to_bucket=c.to_bucket or "closed", contracts=c.contracts,
                              outstanding_principal=c.outstanding_principal,
                              share=round(c.contracts / totals[c.from_bucket], 4)) for c in cells),
                    key=lambda c: (order[c.from_bucket], order[c.to_bucket]))
    series = [SeriesPoint(month_end=r.snapshot_date, bucket=r.bucket, contracts=r.contracts,
                          outstanding_principal=r.outstanding_principal, overdue_amount=r.overdue_amount)
              for r in await repo.bucket_series(session, principal, month_ends(end, months))]
    series.sort(key=lambda p: (p.month_end, order[p.bucket]))
    return RollRatesOut(**{"from": start}, to=end, matrix=matrix, series=series)


# --- collector performance -----------------------------------------------------------------------

def _rate(part: Decimal | int, whole: Decimal | int) -> float | None:
    return round(float(part) / float(whole), 4) if whole else None


async def collector_performance(session: AsyncSession, principal: Principal, start: date | None,
                                end: date | None) -> CollectorPerformanceOut:
    """Per collector over [from, to] (default: the month to the business date), counting only the
    cases they hold (a case goes with its holder: a reassigned case counts for its new collector)
    that were open at some time in the period, and on those only their own logs and promises.
    Log dates are in the company's time zone. The money is judged from the moment of each case's
    assignment (the README's "Collector KPIs": base, collected, recovered, recovery rate)."""
    today = await _today(session, principal)
    start, end = _period(start, end, today, default_start=today.replace(day=1), max_days=MAX_PERIOD_DAYS)
    rows = await repo.collector_performance(session, principal, start, end, await _zones(session, principal))
    names = await _names(session, (r.collector_id for r in rows))
    out = [CollectorRow(
        collector_id=r.collector_id, collector_name=names.get(r.collector_id, ""), cases_held=r.cases_held,
        cases_contacted=r.cases_contacted, calls=r.calls, visits=r.visits, promises_made=r.promises_made,
        promises_kept=r.promises_kept, promises_broken=r.promises_broken,
        kept_rate=_rate(r.promises_kept, r.promises_kept + r.promises_broken), collected=r.collected,
        overdue_at_assignment=r.overdue_at_assignment, recovered=r.recovered,
        recovery_rate=_rate(r.recovered, r.overdue_at_assignment),
        days_to_first_contact=round(float(r.days_to_first_contact), 1) if r.days_to_first_contact is not None
        else None) for r in rows]
    out.sort(key=lambda r: (-r.collected, r.collector_name))
    return CollectorPerformanceOut(**{"from": start}, to=end, rows=out)


# --- promises ------------------------------------------------------------------------------------

async def promises(session: AsyncSession, principal: Principal, day: date | None, limit: int) -> PromisesOut:
    """The morning list of `day` (default: the business date): promises due that day and those broken
    the day before, counted by collector, and listed (at most `limit`)."""
    day = day or await _today(session, principal)
    yesterday = day - timedelta(days=1)
    counts = await repo.promise_counts(session, principal, day, yesterday)
    items = await repo.promise_items(session, principal, day, yesterday, limit + 1)
    names = await _names(session, (r.collector_id for r in counts))
    by: dict[Any, dict[str, Any]] = {}
    for r in counts:
        row = by.setdefault(r.collector_id, {"collector_id": r.collector_id, "due_today": 0, "due_today_amount": ZERO,
                                             "broken_yesterday": 0, "broken_yesterday_amount": ZERO,
                                             "collector_name": names.get(r.collector_id, "")})
        kind = "due_today" if r.promised_date == day else "broken_yesterday"
        row[kind] += r.promises
        row[f"{kind}_amount"] += r.amount
    listed = [PromiseItem(kind="due_today" if i.promised_date == day else "broken_yesterday", promise_id=i.id,
                          case_id=i.case_id, contract_id=i.contract_id, contract_number=i.contract_number,
                          customer_name=i.customer_name, collector_id=i.collector_id, amount=i.amount,
                          promised_date=i.promised_date, state=i.state, amount_paid=i.amount_paid)
              for i in items[:limit]]
    return PromisesOut(date=day, by_collector=sorted((PromiseCount(**v) for v in by.values()),
                                                     key=lambda c: c.collector_name),
                       items=listed, truncated=len(items) > limit)


# --- sales ---------------------------------------------------------------------------------------

async def sales(session: AsyncSession, principal: Principal, start: date | None, end: date | None) -> SalesOut:
    """By month (of the signing date; of the claim or securing), company and salesperson, over
    [from, to] (default: the year to the business date; at most three years)."""
    today = await _today(session, principal)
    start, end = _period(start, end, today, default_start=today.replace(month=1, day=1), max_days=MAX_SALES_DAYS)
    rows: dict[tuple[Any, Any, Any], dict[str, Any]] = {}

    def row(month: date, company_id: Any, user_id: Any) -> dict[str, Any]:
        return rows.setdefault((month, company_id, user_id), {
            "month": month, "company_id": company_id, "salesperson_id": user_id, "contracts_signed": 0,
            "financed": ZERO, "customers_claimed": 0, "customers_secured": 0})

    for r in await repo.contracts_signed(session, principal, start, end):
        row(r.month, r.company_id, r.owner_id).update(contracts_signed=r.contracts, financed=r.financed)
    for r in await repo.customers_won(session, principal, start, end):
        row(r.month, r.company_id, r.user_id).update(customers_claimed=r.claimed, customers_secured=r.secured)
    codes = await org_repo.company_codes(session, principal.group_id)
    names = await _names(session, (k[2] for k in rows))
    out = [SalesRow(**v, company_code=codes.get(v["company_id"], ""),
                    salesperson_name=names.get(v["salesperson_id"], "")) for v in rows.values()]
    out.sort(key=lambda r: (r.month, r.company_code, r.salesperson_name))
    return SalesOut(**{"from": start}, to=end, rows=out)
