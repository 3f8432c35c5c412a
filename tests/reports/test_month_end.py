"""The close of business of a month's last day snapshots every open account's bucket, set-based and
idempotent: a second run of the same day takes in that day's later payments, a run after the day
changes nothing, and other days write nothing."""

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from app.contracts.models import Contract
from app.ledger import service as ledger
from app.ledger.calendar import business_today
from app.ledger.cob import close_of_business
from app.ledger.models import BusinessDateOverride, LedgerAccount
from app.org.repository import load_principal
from app.reports.cob import month_end_snapshot
from app.reports.models import BucketSnapshot


async def _month_ends(db, org) -> tuple[date, date]:
    """The month end the demo's accounts reach next (today, when today is one) and the one before it:
    the demo is built for the business date, whatever day the suite runs on."""
    today = await business_today(db, org.companies["C01"].id)
    first = today.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return following - timedelta(days=1), first - timedelta(days=1)


async def _set_day(db, org, day: date) -> None:
    stmt = insert(BusinessDateOverride).values(group_id=org.group.id, business_date=day)
    await db.execute(stmt.on_conflict_do_update(index_elements=["group_id"], set_={"business_date": day}))
    await db.flush()


async def _snapshot(db, day: date) -> dict:
    rows = (await db.scalars(select(BucketSnapshot).where(BucketSnapshot.snapshot_date == day))).all()
    return {r.contract_id: (r.as_of, r.dpd, r.bucket, r.outstanding_principal, r.overdue_amount) for r in rows}


async def _accounts(db) -> dict:
    rows = (await db.scalars(select(LedgerAccount).where(LedgerAccount.settled.is_(False)))).all()
    return {a.contract_id: (a.as_of, a.dpd, a.bucket, a.outstanding_principal, a.overdue_amount) for a in rows}


async def test_the_month_ends_close_of_business_snapshots_every_open_account_once(client, auth, db, org):
    month_end, previous = await _month_ends(db, org)
    before = {d for d in (await db.scalars(select(BucketSnapshot.snapshot_date).distinct())).all()}
    await _set_day(db, org, month_end)
    await close_of_business(db, org.group.id)
    snapshot = await _snapshot(db, month_end)
    assert snapshot == await _accounts(db) and len(snapshot) >= 10
    assert {d for d in (await db.scalars(select(BucketSnapshot.snapshot_date).distinct())).all()} == {
        *before, month_end}  # the days up to the month end wrote nothing
    # The same day again (the periodic job runs all day): nothing doubled; a payment made since counts.
    contract_id = next(cid for cid, row in snapshot.items() if row[4] > 0)
    contract = await db.get(Contract, contract_id)
    clerk = await load_principal(db, org.users["admin"].id)
    await ledger.record_payment(db, clerk, contract, amount=Decimal("100.00"), value_date=month_end,
                                method="bank_transfer")
    await close_of_business(db, org.group.id)
    again = await _snapshot(db, month_end)
    assert again == await _accounts(db) and again[contract_id][4] == snapshot[contract_id][4] - Decimal("100.00")
    # The next day moves the accounts on; the month end's snapshot stays as it was, even rerun.
    await _set_day(db, org, month_end + timedelta(days=1))
    await close_of_business(db, org.group.id)
    await month_end_snapshot(db, month_end, list({c.id for c in org.companies.values()}))
    assert await _snapshot(db, month_end) == again
    # The roll rates into that month end count every contract once.
    r = await client.get(f"/api/v1/reports/roll-rates?from={previous}&to={month_end}", headers=auth("admin"))
    assert r.status_code == 200, r.text
    into = {}
    for cell in r.json()["matrix"]:
        into[cell["to_bucket"]] = into.get(cell["to_bucket"], 0) + cell["contracts"]
    before_month = await _snapshot(db, previous)
    assert sum(into.values()) == len(before_month)
    assert into.get("closed", 0) == len(set(before_month) - set(again))
