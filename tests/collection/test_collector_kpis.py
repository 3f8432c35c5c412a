"""The collector KPIs of `GET /reports/collector-performance` (README, "Collector KPIs") on hand-made
histories: one case of collector1's (tests/collection/log_fixtures.py, business date 2026-02-10 in
Shanghai), payments recorded at chosen moments around the case's assignment (the `travel` clock
dates what the ledger records), the report read for February."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import update

from app.collection.models import CollectionCase
from app.contracts.models import Contract
from app.ledger import repository as ledger_repo
from app.ledger import service as ledger
from app.org.repository import load_principal
from app.reports import service as reports
from tests.collection.log_fixtures import *  # noqa: F403 - the case fixtures

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(hour: int, day: int = 10) -> datetime:
    return datetime(2026, 2, day, hour, tzinfo=SHANGHAI)


async def pay(db, org, travel, case, amount: str, value_date: date, moment: datetime) -> None:
    """Through the ledger's service (an API call would carry a token issued by the real clock)."""
    travel(moment)
    clerk = await load_principal(db, org.users["clerk1"].id)
    contract = await db.get(Contract, case.contract_id, populate_existing=True)
    await ledger.record_payment(db, clerk, contract, amount=Decimal(amount), value_date=value_date, method="cash")


async def overdue(db, case) -> Decimal:
    account = await ledger_repo.account(db, case.contract_id)
    await db.refresh(account)
    return account.overdue_amount


async def assign(db, case, moment: datetime) -> None:
    await db.execute(update(CollectionCase).where(CollectionCase.id == case.id).values(assigned_at=moment))
    await db.flush()


async def collector1_row(db, org) -> dict:
    admin = await load_principal(db, org.users["admin"].id)
    report = await reports.collector_performance(db, admin, date(2026, 2, 1), date(2026, 2, 28))
    return next(r for r in report.model_dump(mode="json")["rows"]
                if r["collector_id"] == str(org.users["collector1"].id))


async def test_the_base_is_what_was_overdue_at_the_moment_of_assignment_not_after_that_days_payment(
        db, org, open_case, travel):
    case = await open_case()
    await pay(db, org, travel, case, "100.00", date(2026, 2, 10), at(9))  # the same day, before the assignment
    base = await overdue(db, case)
    await assign(db, case, at(10))
    await pay(db, org, travel, case, "1.00", date(2026, 2, 10), at(14))  # later that day: recovered
    row = await collector1_row(db, org)
    assert Decimal(row["overdue_at_assignment"]) == base > Decimal("30000")
    assert (Decimal(row["collected"]), Decimal(row["recovered"])) == (Decimal("1.00"), Decimal("1.00"))
    assert row["recovery_rate"] == round(1 / float(base), 4)


async def test_a_payoff_recorded_before_the_assignment_recovers_nothing_and_the_rate_stays_within_one(
        db, org, open_case, travel):
    case = await open_case()
    # Paid before the case was assigned (value-dated the day before, recorded that morning): not the
    # collector's; what it left overdue is the base.
    await pay(db, org, travel, case, "34000.00", date(2026, 2, 9), at(8))
    base = await overdue(db, case)
    assert Decimal("0") < base < Decimal("1000")
    await assign(db, case, at(10))
    await pay(db, org, travel, case, "5000.00", date(2026, 2, 10), at(15))  # more than the base
    row = await collector1_row(db, org)
    assert Decimal(row["overdue_at_assignment"]) == base
    assert Decimal(row["collected"]) == Decimal("5000.00")
    assert Decimal(row["recovered"]) == base  # capped by the base
    assert row["recovery_rate"] == 1.0


async def test_nothing_overdue_at_assignment_has_no_rate_whatever_is_paid_after(db, org, open_case, travel):
    case = await open_case()
    await pay(db, org, travel, case, "40000.00", date(2026, 2, 10), at(9))  # everything overdue and more
    assert await overdue(db, case) == Decimal("0.00")
    await assign(db, case, at(10))
    await pay(db, org, travel, case, "2000.00", date(2026, 2, 10), at(11))
    row = await collector1_row(db, org)
    assert (Decimal(row["overdue_at_assignment"]), Decimal(row["recovered"])) == (Decimal("0"), Decimal("0"))
    assert Decimal(row["collected"]) == Decimal("2000.00") and row["recovery_rate"] is None
