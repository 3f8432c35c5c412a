"""Reports through the API: the caller's scope (the leader's seven companies, a collector's own
cases), the permission, bad periods, the .xlsx with its chart, and a bounded number of queries."""

import io
from datetime import timedelta
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import select

from app.collection.models import CollectionCase
from app.ledger.calendar import business_today
from app.ledger.models import LedgerAccount
from app.org import repository as org_repo
from app.reports.permissions import REPORT_READ

LEADER_COMPANIES = {f"C0{i}" for i in range(1, 8)}
REPORTS = ("aging", "aging?by=collector", "aging?by=salesperson", "roll-rates", "collector-performance",
           "promises", "sales")


async def _get(client, auth, user: str, path: str) -> dict:
    r = await client.get(f"/api/v1/reports/{path}", headers=auth(user))
    assert r.status_code == 200, r.text
    return r.json()


async def test_the_leader_sees_the_figures_of_c01_to_c07_only(client, auth, db, org):
    # The demo ships contracts in C01-C03 only: move one of C03's receivables to C08, out of the leader's reach.
    # An open account (aging leaves settled ones out; the demo's approved settlement requests settle some).
    account = (await db.scalars(select(LedgerAccount).where(LedgerAccount.company_id == org.companies["C03"].id,
                                                            LedgerAccount.settled.is_(False))
                                .order_by(LedgerAccount.contract_id).limit(1))).one()
    account.company_id = org.companies["C08"].id
    await db.flush()
    everything = await _get(client, auth, "admin", "aging?by=salesperson")
    assert {r["company_code"] for r in everything["rows"]} - LEADER_COMPANIES  # the demo has accounts elsewhere
    leader = await _get(client, auth, "leader", "aging?by=salesperson")
    assert {r["company_code"] for r in leader["rows"]} <= LEADER_COMPANIES
    assert leader["rows"] == [r for r in everything["rows"] if r["company_code"] in LEADER_COMPANIES]
    for path, key in (("sales", "rows"), ("roll-rates", "matrix")):
        mine, all_ = await _get(client, auth, "leader", path), await _get(client, auth, "admin", path)
        if key == "rows":
            assert {r["company_code"] for r in mine[key]} <= LEADER_COMPANIES
            assert mine[key] == [r for r in all_[key] if r["company_code"] in LEADER_COMPANIES]
        else:
            assert 0 < sum(c["contracts"] for c in mine[key]) <= sum(c["contracts"] for c in all_[key])


async def test_a_dispatcher_sees_their_company_and_another_group_sees_nothing(client, auth):
    dispatcher = await _get(client, auth, "dispatcher", "aging")
    assert {r["company_code"] for r in dispatcher["rows"]} == {"C01"}
    for path in REPORTS:
        body = await _get(client, auth, "other-admin", path)
        assert not body.get("rows") and not body.get("matrix") and not body.get("items"), path


async def test_collector1s_performance_counts_only_their_cases(client, auth, db, org):
    collector1 = org.users["collector1"].id
    held = (await db.scalars(select(CollectionCase.id).where(CollectionCase.collector_id == collector1))).all()
    row = next(r for r in (await _get(client, auth, "dispatcher", "collector-performance"))["rows"]
               if r["collector_id"] == str(collector1))
    assert row["cases_held"] == len(held) > 0
    # Given the permission, collector1 (own records) sees their own row and nobody else's.
    assert (await client.get("/api/v1/reports/collector-performance", headers=auth("collector1"))).status_code == 403
    await org_repo.set_permission_override(db, collector1, REPORT_READ, True)
    await db.flush()
    own = await _get(client, auth, "collector1", "collector-performance")
    assert own["rows"] == [row]
    assert (await _get(client, auth, "collector1", "aging"))["rows"] == []  # accounts are company-scoped


async def test_bad_periods_and_dates_are_422_problems(client, auth, db, org):
    today = await business_today(db, org.companies["C01"].id)
    month_end = today.replace(day=1) - timedelta(days=1)
    cases = [("collector-performance?from=2026-05-02&to=2026-05-01", "report.period_invalid"),
             ("collector-performance?from=2024-01-01&to=2026-01-01", "report.period_invalid"),
             ("sales?from=2020-01-01&to=2026-01-01", "report.period_invalid"),
             (f"roll-rates?from={month_end - timedelta(days=3)}&to={month_end}", "report.period_invalid"),
             (f"roll-rates?from={month_end}&to={month_end}", "report.period_invalid"),
             (f"aging?as_of={month_end - timedelta(days=2)}", "report.date_unavailable"),
             (f"aging?as_of={today + timedelta(days=31)}", "report.date_unavailable"),
             ("collector-performance?from=0001-01-01&to=0001-01-01", "request.validation_failed"),
             ("roll-rates?to=0001-01-31", "request.validation_failed"),
             ("promises?date=0001-01-01", "request.validation_failed"),
             ("aging?as_of=9999-12-31", "request.validation_failed"),
             ("sales?from=9999-12-30&to=9999-12-31", "request.validation_failed"),
             ("aging?by=nobody", None), ("roll-rates?months=100", None), ("promises?limit=0", None),
             ("sales?from=2026-13-01", None)]
    for path, code in cases:
        r = await client.get(f"/api/v1/reports/{path}", headers=auth("admin"))
        assert r.status_code == 422, (path, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        if code:
            assert r.json()["code"] == code, (path, r.json())


async def test_aging_and_roll_rates_xlsx_open_with_openpyxl_and_hold_their_charts(client, auth):
    for path, sheet in (("aging", "账龄"), ("roll-rates", "迁徙率")):
        r = await client.get(f"/api/v1/reports/{path}?format=xlsx", headers=auth("leader"))
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
        assert r.headers["content-disposition"].startswith("attachment; filename=")
        wb = load_workbook(io.BytesIO(r.content))
        assert wb.sheetnames[0] == sheet
        assert len(wb[sheet]._charts) == 1, path
    r = await client.get("/api/v1/reports/aging", headers=auth("leader", Accept="application/vnd.openxmlformats-"
                                                                 "officedocument.spreadsheetml.sheet"))
    wb = load_workbook(io.BytesIO(r.content))
    leader = await _get(client, auth, "leader", "aging")
    companies = [row[0].value for row in wb["账龄"].iter_rows(min_row=4)]
    assert companies == sorted({row["company_code"] for row in leader["rows"]})


async def test_reports_run_a_bounded_number_of_queries(client, auth, count_queries):
    headers = auth("leader")
    for path in REPORTS:
        await client.get(f"/api/v1/reports/{path}", headers=headers)  # warm the principal cache
        async with count_queries() as counted:
            r = await client.get(f"/api/v1/reports/{path}", headers=headers)
        assert r.status_code == 200
        # the principal (stamp), the business date (3), the report (1-2), names, company codes or zones,
        # and the test's savepoint and its release: the same whatever the number of rows
        assert counted.n <= 10, (path, counted.n)


async def test_report_routes_need_report_read(client, auth):
    for path in REPORTS:
        r = await client.get(f"/api/v1/reports/{path}", headers=auth("sales1"))
        assert r.status_code == 403, path
        assert (await client.get(f"/api/v1/reports/{path}")).status_code == 401


async def test_aging_lists_the_accounts_unapplied_credit_as_a_credit_apart_from_what_they_owe(client, auth, db, org):
    # ledger.md "Unapplied credit": listed in aging as a credit. (The account's figure, as a fact's sync stores it.)
    account = (await db.scalars(select(LedgerAccount).where(LedgerAccount.company_id == org.companies["C01"].id,
                                                            LedgerAccount.settled.is_(False))
                                .order_by(LedgerAccount.contract_id).limit(1))).one()
    before = await _get(client, auth, "admin", "aging")
    account.unapplied_credit = Decimal("500.00")
    await db.flush()
    after = await _get(client, auth, "admin", "aging")
    total = {t["bucket"]: t for t in after["totals"]}[account.bucket]
    assert total["unapplied_credit"] == "500.00"
    assert sum(Decimal(r["unapplied_credit"]) for r in after["rows"]) == Decimal("500.00")
    # What the accounts owe is untouched: the credit is listed apart.
    assert [(t["outstanding_principal"], t["overdue_amount"]) for t in after["totals"]] == [
        (t["outstanding_principal"], t["overdue_amount"]) for t in before["totals"]]
