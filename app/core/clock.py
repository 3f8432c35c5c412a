"""The application's one clock: every "now" of the app, the demo seeder and the tests comes from here.

Business dates are derived from it (`core.business_date`, `ledger.calendar`), timestamps written by
the app are taken from it, and SQL that compares with "now" is handed its value as a parameter, so
that the database's own `now()` never decides a rule (it serves only as a column default for rows
written by triggers and as the queue's internal timer).

Outside production, `CLOCK_START` (an ISO 8601 instant with its offset) sets where the clock
starts; it then runs on at the real pace, so timeouts and TTLs still elapse. `./scripts/test
--clock-matrix` runs the date-sensitive tests with the clock at the awkward days (README, "Tests");
a test that needs a day of its own moves the clock with `travel_to`.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from app.core.config import get_settings

_offset: timedelta | None = None


def _configured_offset() -> timedelta:
    start = get_settings().clock_start
    return timedelta(0) if start is None else start - datetime.now(UTC)


def now() -> datetime:
    """The current instant, timezone-aware UTC."""
    global _offset
    if _offset is None:
        _offset = _configured_offset()
    return datetime.now(UTC) + _offset


def timestamp() -> float:
    """`now()` as POSIX seconds (for signatures and token claims)."""
    return now().timestamp()


def set_now(at: datetime) -> None:
    """Move the clock so that it reads `at` now and runs on from there (never in production)."""
    global _offset
    if get_settings().environment == "production":
        raise RuntimeError("the clock cannot be moved in production")
    if at.tzinfo is None:
        raise ValueError("a clock setting needs a time zone")
    _offset = at - datetime.now(UTC)


def reset() -> None:
    """Back to the configured clock (CLOCK_START, else the real one)."""
    global _offset
    _offset = None


@contextmanager
def travel_to(at: datetime) -> Iterator[None]:
    """`with clock.travel_to(moment):` the clock reads `moment` inside the block, then returns."""
    global _offset
    before = _offset
    set_now(at)
    try:
        yield
    finally:
        _offset = before
