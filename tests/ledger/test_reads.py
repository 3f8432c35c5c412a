"""The ledger's reads through the API: ledger.md's worked example (schedule, balance, payoff, the
settling payment), payoff projections and refusals, the paginated entries, statements that
reconcile (JSON and .xlsx), the schedule's statuses, scope (404) and permission (403)."""

import io
import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from app.contracts.models import Contract
from app.core.spreadsheet import XLSX_MEDIA_TYPE
from app.ledger import entries as ledger_entries
from app.ledger import repository as repo
from app.ledger import rules
from app.ledger import service as ledger
from app.ledger.reads import instalment_status
from app.org.repository import load_principal

D = Decimal
DAILY = D("16.21")  # instalment 1's penalty a day: round(32 426.57 × 0.0005)


@pytest.fixture
def example(db, org, shipped):
    """ledger.md's worked example shipped on 2026-01-20: (contract row, its API url, clerk1's principal)."""

    async def make() -> tuple[Contract, str, object]:
        active = await shipped()
        contract = await db.get(Contract, uuid.UUID(active["id"]))
        return contract, f"/api/v1/contracts/{active['id']}", await load_principal(db, org.users["clerk1"].id)

    return make


async def _get(client, auth, url: str, user: str = "clerk1", status: int = 200, **kwargs) -> dict:
    response = await client.get(url, headers=auth(user), **kwargs)
    assert response.status_code == status, response.text
    return response.json()


async def _all_entries(client, auth, url: str, query: str = "") -> list[dict]:
    items, cursor = [], None
    while True:
        page = await _get(client, auth, f"{url}/ledger?limit=7{query}" + (f"&cursor={cursor}" if cursor else ""))
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


async def test_the_worked_example_through_the_api(client, auth, db, example, business_date):
    contract, url, clerk = await example()
    schedule = await _get(client, auth, f"{url}/schedule")
    rows = schedule["instalments"]
    assert (rows[0]["due_date"], rows[0]["interest"], rows[0]["principal"], rows[0]["total"]) == (
        "2026-01-31", "2000.00", "32426.57", "34426.57")
    assert (rows[1]["due_date"], rows[1]["interest"], rows[1]["principal"]) == ("2026-02-28", "1837.87", "32588.70")
    assert (rows[11]["due_date"], rows[11]["interest"], rows[11]["principal"], rows[11]["total"]) == (
        "2026-12-31", "171.28", "34255.32", "34426.60")
    assert schedule["as_of"] == "2026-01-20" and {r["status"] for r in rows} == {"scheduled"}
    assert rows[0]["paid"] == {"principal": "0.00", "interest": "0.00", "penalty": "0.00"}

    # 16.21 a day from 1 February: 162.10 by 10 February.
    await business_date(date(2026, 2, 10))
    await ledger.resync(db, contract)
    penalty = await _all_entries(client, auth, url, "&kind=penalty")
    assert sorted((e["value_date"], e["amount"]) for e in penalty) == [
        ((date(2026, 2, 1) + timedelta(days=i)).isoformat(), "16.21") for i in range(10)]
    balance = await _get(client, auth, f"{url}/balance")
    assert balance == {
        "as_of": "2026-02-10", "outstanding_principal": "400000.00", "overdue_principal": "32426.57",
        "overdue_interest": "2000.00", "overdue_fee": "0.00", "overdue_penalty": "162.10",
        "overdue_amount": "34588.67", "overdue_since": "2026-01-31", "dpd": 10, "bucket": "M1",
        "unpaid_penalty": "162.10", "unapplied_credit": "0.00", "payoff": "402162.10", "settled": False}
    payoff = await _get(client, auth, f"{url}/payoff?date=2026-02-10")
    assert payoff == {"date": "2026-02-10", "payoff": "402162.10", "principal": "400000.00", "interest": "2000.00",
                      "fees": "0.00", "penalty": "162.10", "unapplied_credit": "0.00", "projected": False,
                      "as_of": "2026-02-10"}
    assert (await _get(client, auth, f"{url}/payoff"))["payoff"] == "402162.10"  # the business date by default
    rows = (await _get(client, auth, f"{url}/schedule"))["instalments"]
    assert (rows[0]["status"], rows[0]["unpaid"]) == (
        "overdue", {"principal": "32426.57", "interest": "2000.00", "penalty": "162.10"})
    assert rows[1]["status"] == "scheduled"

    # Paying 34 588.67 on 10 February settles instalment 1 with nothing left over.
    await ledger.record_payment(db, clerk, contract, amount=D("34588.67"), value_date=date(2026, 2, 10),
                                method="bank_transfer", reference="B-1")
    rows = (await _get(client, auth, f"{url}/schedule"))["instalments"]
    assert (rows[0]["status"], rows[0]["paid"], rows[0]["unpaid"]) == (
        "paid", {"principal": "32426.57", "interest": "2000.00", "penalty": "162.10"},
        {"principal": "0.00", "interest": "0.00", "penalty": "0.00"})
    balance = await _get(client, auth, f"{url}/balance")
    assert (balance["overdue_amount"], balance["dpd"], balance["bucket"], balance["outstanding_principal"]) == (
        "0.00", 0, "current", "367573.43")
    assert (await _get(client, auth, f"{url}/payoff"))["payoff"] == "367573.43"


async def test_a_future_payoff_projects_penalty_and_a_past_one_is_refused(client, auth, db, example, business_date):
    contract, url, _ = await example()
    await business_date(date(2026, 2, 10))
    # Not yet brought up to date (as_of 2026-01-20): the business date's payoff replays, to the same figure.
    lagging = await _get(client, auth, f"{url}/payoff")
    assert (lagging["payoff"], lagging["projected"], lagging["as_of"]) == ("402162.10", True, "2026-01-20")
    await ledger.resync(db, contract)

    later = await _get(client, auth, f"{url}/payoff?date=2026-02-20")
    assert (later["penalty"], later["interest"], later["payoff"], later["projected"]) == (
        f"{20 * DAILY:.2f}", "2000.00", f"{D('402000.00') + 20 * DAILY:.2f}", True)
    # 1 March: instalment 1 has 29 days of penalty, instalment 2 (due 28 February) its first day's.
    march = await _get(client, auth, f"{url}/payoff?date=2026-03-01")
    penalty = 29 * DAILY + D("16.29")  # round(32 588.70 × 0.0005)
    assert (march["interest"], march["penalty"], march["payoff"]) == (
        "3837.87", f"{penalty:.2f}", f"{D('403837.87') + penalty:.2f}")
    # The projection is exactly the figure a resync on that day stores.
    await business_date(date(2026, 3, 1))
    await ledger.resync(db, contract)
    assert (await _get(client, auth, f"{url}/balance"))["payoff"] == march["payoff"]

    refused = await _get(client, auth, f"{url}/payoff?date=2026-02-28", status=422)
    assert refused["code"] == "ledger.payoff_date_in_past"
    assert (await _get(client, auth, f"{url}/payoff?date=2026-02-30", status=422))["code"] == \
        "request.validation_failed"


async def test_the_schedule_says_due_on_the_due_date_and_partially_paid_after_a_part(
        client, auth, db, example, business_date):
    contract, url, clerk = await example()
    await business_date(date(2026, 1, 31))
    await ledger.resync(db, contract)
    assert (await _get(client, auth, f"{url}/schedule"))["instalments"][0]["status"] == "due"
    await ledger.record_payment(db, clerk, contract, amount=D("1000.00"), value_date=date(2026, 1, 31),
                                method="cash")
    first = (await _get(client, auth, f"{url}/schedule"))["instalments"][0]
    # The allocation order: penalty (none), fee (none), interest, principal.
    assert (first["status"], first["paid"]["interest"], first["unpaid"]["interest"]) == (
        "partially_paid", "1000.00", "1000.00")


@pytest.mark.parametrize(("due", "paid_any", "unpaid_any", "status"), [
    (date(2026, 2, 1), False, True, "scheduled"),
    (date(2026, 2, 1), True, True, "scheduled"),  # a prepayment of principal: still not due
    (date(2026, 2, 1), True, False, "paid"),
    (date(2026, 1, 31), False, True, "due"),
    (date(2026, 1, 31), True, True, "partially_paid"),
    (date(2026, 1, 30), True, True, "partially_paid"),
    (date(2026, 1, 30), False, True, "overdue"),
    (date(2026, 1, 30), True, False, "paid"),
])
def test_instalment_status(due, paid_any, unpaid_any, status):
    assert instalment_status(due, date(2026, 1, 31), paid_any=paid_any, unpaid_any=unpaid_any) == status


async def test_the_ledger_pages_newest_first_with_reversals_named(client, auth, db, example, business_date,
                                                                 count_queries):
    contract, url, clerk = await example()
    await business_date(date(2026, 2, 20))
    paid = await ledger.record_payment(db, clerk, contract, amount=D("1000.00"), value_date=date(2026, 2, 5),
                                       method="cheque", reference="CHK-7", payer="华东重工", notes="部分还款")
    reversal = await ledger.reverse_entry(db, clerk, contract, paid.entry, reason="退票")

    entries = await _all_entries(client, auth, url)
    stored = await repo.entries_of(db, contract.id)
    assert [e["seq"] for e in entries] == sorted((e.seq for e in stored), reverse=True)
    by_id = {e["id"]: e for e in entries}
    payment = by_id[str(paid.entry.id)]
    assert (payment["kind"], payment["amount"], payment["method"], payment["reference"], payment["payer"],
            payment["reason"], payment["reversed_by"], payment["actor_id"]) == (
        "payment", "1000.00", "cheque", "CHK-7", "华东重工", "部分还款", str(reversal.entry.id), str(clerk.user_id))
    taken_back = by_id[str(reversal.entry.id)]
    assert (taken_back["kind"], taken_back["reverses_id"], taken_back["reversed_by"]) == (
        "reversal", str(paid.entry.id), None)
    assert [e["kind"] for e in await _all_entries(client, auth, url, "&kind=payment")] == ["payment"]
    oldest = await _get(client, auth, f"{url}/ledger?sort=seq&limit=2")
    assert [e["kind"] for e in oldest["items"]] == ["instalment_due", "instalment_due"]

    async def statements() -> int:
        await client.get(f"{url}/ledger?limit=5", headers=auth("clerk1"))  # warm-up
        async with count_queries() as counted:
            assert (await client.get(f"{url}/ledger?limit=5", headers=auth("clerk1"))).status_code == 200
        return counted.n

    few = await statements()
    await business_date(date(2026, 6, 30))
    await ledger.resync(db, contract)  # some hundreds more penalty entries
    assert await statements() == few


async def test_out_of_scope_is_404_without_ledger_read_403_and_before_shipment_409(
        client, auth, db, example, new_contract):
    _, url, _ = await example()
    paths = ("ledger", "balance", "payoff", "statement")
    for path in paths:
        assert (await _get(client, auth, f"{url}/{path}", "other-admin", 404))["code"] == "contract.not_found"
        missing = f"/api/v1/contracts/{uuid.uuid4()}/{path}"
        assert (await _get(client, auth, missing, "admin", 404))["code"] == "contract.not_found"
        # sales1 owns the contract and reads it, but not its ledger.
        assert (await _get(client, auth, f"{url}/{path}", "sales1", 403))["code"] == "auth.missing_permission"
    rows = (await _get(client, auth, f"{url}/schedule", "sales1"))["instalments"]
    assert (rows[0]["paid"], rows[0]["unpaid"], rows[0]["status"]) == (None, None, "scheduled")

    draft = f"/api/v1/contracts/{(await new_contract())['id']}"
    for path in ("balance", "payoff", "statement"):
        assert (await _get(client, auth, f"{draft}/{path}", "clerk1", 409))["code"] == "ledger.contract_not_active"
    assert (await _get(client, auth, f"{draft}/ledger"))["items"] == []
    schedule = await _get(client, auth, f"{draft}/schedule")
    assert schedule["as_of"] is None and {r["status"] for r in schedule["instalments"]} == {"scheduled"}


async def _history(db, contract: Contract, clerk, business_date) -> None:
    """Instalment 1 paid late, a GPS fee, a back-dated payment and a tow cost reversed, a waiver, through
    15 March."""
    await business_date(date(2026, 3, 15))
    await ledger.record_payment(db, clerk, contract, amount=D("34588.67"), value_date=date(2026, 2, 10),
                                method="bank_transfer")
    await ledger.post_charge(db, clerk, contract, kind="gps_fee", amount=D("500.00"), due_date=date(2026, 2, 15),
                             description="GPS 服务费")
    wrong = await ledger.record_payment(db, clerk, contract, amount=D("3000.00"), value_date=date(2026, 3, 1),
                                        method="cash")
    await ledger.reverse_entry(db, clerk, contract, wrong.entry, reason="记错合同")
    tow = await ledger.post_charge(db, clerk, contract, kind="tow", amount=D("800.00"), due_date=date(2026, 3, 2))
    await ledger.reverse_entry(db, clerk, contract, tow.entry, reason="非本合同拖车")
    await ledger.record_payment(db, clerk, contract, amount=D("700.00"), value_date=date(2026, 3, 5),
                                method="cash")
    await ledger.post_waiver(db, clerk, contract, amount=D("50.00"), reason="=减免 1+1", value_date=date(2026, 3, 10))


async def _assert_reconciles(db, contract: Contract, statement: dict) -> None:
    """opening + Σ debit − Σ credit = closing, and after each value date's last line the running
    balance is that day's payoff-style outstanding from the replay."""
    lines = statement["lines"]
    total_debit = sum((D(line["debit"]) for line in lines), D(0))
    total_credit = sum((D(line["credit"]) for line in lines), D(0))
    assert (f"{total_debit:.2f}", f"{total_credit:.2f}") == (statement["total_debit"], statement["total_credit"])
    assert D(statement["opening_balance"]) + total_debit - total_credit == D(statement["closing_balance"])
    entries = await repo.entries_of(db, contract.id)
    policy = ledger.policy_of(contract)

    def outstanding(day: date) -> str:
        return f"{rules.payoff(ledger_entries.replay(entries, through=day, policy=policy)):.2f}"

    start = date.fromisoformat(statement["from"])
    assert statement["opening_balance"] == outstanding(start - timedelta(days=1))
    end_of_day = {line["entry"]["value_date"]: line["balance"] for line in lines}
    for day, balance in end_of_day.items():
        assert balance == outstanding(date.fromisoformat(day)), day
    assert statement["closing_balance"] == outstanding(date.fromisoformat(statement["to"]))


async def test_a_statement_reconciles(client, auth, db, example, business_date):
    contract, url, clerk = await example()
    await _history(db, contract, clerk, business_date)
    statement = await _get(client, auth, f"{url}/statement?from=2026-02-01&to=2026-03-15")
    await _assert_reconciles(db, contract, statement)
    assert statement["closing_balance"] == (await _get(client, auth, f"{url}/balance"))["payoff"]
    # 31 January's close: all principal and instalment 1's interest, no penalty yet.
    assert statement["opening_balance"] == "402000.00"
    kinds = {(line["entry"]["kind"], line["entry"]["reversed_by"] is not None): (line["debit"], line["credit"])
             for line in statement["lines"] if line["entry"]["kind"] in ("payment", "reversal", "charge")}
    assert kinds[("payment", True)] == kinds[("reversal", False)] == ("0.00", "0.00")
    assert kinds[("charge", False)] == ("500.00", "0.00")
    assert kinds[("charge", True)] == ("0.00", "0.00")
    dates = [(line["entry"]["value_date"], line["entry"]["seq"]) for line in statement["lines"]]
    assert dates == sorted(dates)

    whole = await _get(client, auth, f"{url}/statement")  # from the shipment to as_of
    assert (whole["from"], whole["to"], whole["opening_balance"]) == ("2026-01-20", "2026-03-15", "400000.00")
    await _assert_reconciles(db, contract, whole)
    early = await _get(client, auth, f"{url}/statement?from=2025-01-01&to=2026-01-31")
    assert (early["from"], early["closing_balance"]) == ("2026-01-20", "402000.00")

    for query in ("from=2026-03-02&to=2026-03-01", "to=2026-03-16"):
        refused = await _get(client, auth, f"{url}/statement?{query}", status=422)
        assert refused["code"] == "ledger.statement_period_invalid"


async def test_a_settled_contracts_statement_reconciles_without_the_written_off_interest(
        client, auth, db, example, business_date):
    contract, url, clerk = await example()
    await business_date(date(2026, 3, 5))
    await ledger.record_payment(db, clerk, contract, amount=D("402162.10"), value_date=date(2026, 2, 10),
                                method="bank_transfer")
    await ledger.settle(db, clerk, contract, reason="提前结清", value_date=date(2026, 2, 10))
    statement = await _get(client, auth, f"{url}/statement?from=2026-02-01")
    await _assert_reconciles(db, contract, statement)
    assert statement["closing_balance"] == "0.00"
    second_interest = next(line for line in statement["lines"] if line["entry"]["kind"] == "instalment_due"
                           and line["entry"]["instalment_number"] == 2 and line["entry"]["component"] == "interest")
    assert (second_interest["entry"]["amount"], second_interest["debit"]) == ("1837.87", "0.00")


async def test_a_statement_as_xlsx(client, auth, db, example, business_date):
    contract, url, clerk = await example()
    await _history(db, contract, clerk, business_date)
    statement = await _get(client, auth, f"{url}/statement?from=2026-02-01&to=2026-03-15")
    by_query = await client.get(f"{url}/statement?from=2026-02-01&to=2026-03-15&format=xlsx", headers=auth("clerk1"))
    by_accept = await client.get(f"{url}/statement?from=2026-02-01&to=2026-03-15",
                                 headers=auth("clerk1", Accept=XLSX_MEDIA_TYPE))
    for response in (by_query, by_accept):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == XLSX_MEDIA_TYPE
        assert response.headers["content-disposition"].startswith('attachment; filename="statement-')
    rows = list(load_workbook(io.BytesIO(by_query.content)).active.iter_rows(values_only=True))
    assert rows[0] == ("合同号", contract.number) + (None,) * 8
    assert (rows[2][0], f"{rows[2][1]:.2f}") == ("期初余额", "402000.00")
    header = rows.index(("起息日", "序号", "类型", "科目", "期次", "说明", "金额", "借方", "贷方", "余额"))
    body = rows[header + 1: header + 1 + len(statement["lines"])]
    assert [r[1] for r in body] == [line["entry"]["seq"] for line in statement["lines"]]
    assert [f"{r[9]:.2f}" for r in body] == [line["balance"] for line in statement["lines"]]
    assert next(r for r in body if r[2] == "费用")[5] == "gps_fee; GPS 服务费"
    assert next(r for r in body if r[2] == "减免")[5] == "'=减免 1+1"  # a formula-like reason stays text
    assert (rows[-1][0], f"{rows[-1][1]:.2f}") == ("期末余额", statement["closing_balance"])
