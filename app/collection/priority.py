"""The worklist's order: one integer per open case, higher first, refreshed by the close of business
(every day, set-based) and by anything that changes its inputs (a log, an assignment).

Lexicographic, most important first:
1. bucket: M4+ before M3 before M2 before M1 before current;
2. the promise: a promise due today or one broken (the latest promise of the case) comes first;
3. overdue amount, in whole thousands (capped at 9 999 thousand);
4. days since the last contact (never contacted counts as 99; capped at 99).

    priority = ((bucket_rank × 2 + promise_flag) × 10 000 + thousands) × 100 + days

so `ORDER BY priority DESC, id` is the documented order and one index walk
(`ix_collection_case_collector_priority`). `priority_sql` is the same formula for set-based SQL;
a test keeps the two equal.
"""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Integer, case, cast, func, literal

BUCKET_RANK = {"current": 0, "M1": 1, "M2": 2, "M3": 3, "M4+": 4}
NEVER_CONTACTED_DAYS = 99


def promise_flag(promise_state: str | None, promised_date: date | None, today: date) -> int:
    return int(promise_state == "broken" or (promise_state == "pending" and promised_date == today))


def days_since(last_contact_on: date | None, today: date) -> int:
    if last_contact_on is None:
        return NEVER_CONTACTED_DAYS
    return max(0, min(NEVER_CONTACTED_DAYS, (today - last_contact_on).days))


def priority(bucket: str, overdue_amount: Decimal, flag: int, days: int) -> int:
    thousands = min(int(overdue_amount // 1000), 9_999)
    return ((BUCKET_RANK[bucket] * 2 + flag) * 10_000 + thousands) * 100 + days


def priority_sql(bucket: ColumnElement, overdue_amount: ColumnElement, promise_state: ColumnElement,
                 promised_date: ColumnElement, last_contact_on: ColumnElement, today: date) -> ColumnElement:
    """The same formula over columns (`last_contact_on`: the business date of the last contact)."""
    rank = case(*((bucket == name, value) for name, value in BUCKET_RANK.items()), else_=0)
    flag = case((promise_state == "broken", 1),
                ((promise_state == "pending") & (promised_date == literal(today)), 1), else_=0)
    thousands = cast(func.least(func.floor(func.coalesce(overdue_amount, 0) / 1000), 9_999), Integer)
    # GREATEST and LEAST skip NULLs: "never contacted" must be said before them.
    days = case((last_contact_on.is_(None), NEVER_CONTACTED_DAYS),
                else_=func.least(func.greatest(literal(today) - last_contact_on, 0), NEVER_CONTACTED_DAYS))
    return ((rank * 2 + flag) * 10_000 + thousands) * 100 + days


def last_contact_date(at: datetime | None, tz: ZoneInfo) -> date | None:
    return None if at is None else at.astimezone(tz).date()
