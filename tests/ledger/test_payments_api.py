"""Payments and charges through the API: allocation in the answer, reversal, duplicates, scope
(out of scope answers 404 like missing), permissions, bad input as problems."""

import uuid
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.contracts.models import Contract
from app.core.audit import AuditEvent
from app.customers.models import Customer
from app.ledger import entries as ledger_entries
from app.ledger import repository as repo
from app.ledger import rules
from app.ledger import service as ledger
from app.org.repository import load_principal

D = Decimal

URL = "/api/v1/contracts/{}/payments"


async def test_the_worked_examples_settling_payment_through_the_api(client, auth, shipped, business_date):
    contract = await shipped()
    await business_date(date(2026, 2, 10))
    response = await client.post(URL.format(contract["id"]), headers=auth("clerk1"), json={
        "amount": "34588.67", "value_date": "2026-02-10", "method": "bank_transfer", "reference": "ICBC-1"})
    assert response.status_code == 201, response.text
    payment = response.json()
    assert response.headers["Location"] == f"/api/v1/payments/{payment['id']}"
    assert [(a["item"], a["component"], a["amount"]) for a in payment["allocation"]] == [
        ("instalment:1", "penalty", "162.10"), ("instalment:1", "interest", "2000.00"),
        ("instalment:1", "principal", "32426.57")]
    assert payment["unapplied"] == "0.00" and payment["reversal"] is None
    again = await client.post(URL.format(contract["id"]), headers=auth("clerk1"), json={
        "amount": "10.00", "value_date": "2026-02-10", "method": "cash", "reference": "ICBC-1"})
    assert again.status_code == 409 and again.json()["code"] == "payment.duplicate_reference"
    listed = await client.get(URL.format(contract["id"]), headers=auth("clerk1"))
    assert [p["id"] for p in listed.json()["items"]] == [payment["id"]]


async def test_a_retry_with_the_same_idempotency_key_records_one_payment(client, auth, shipped, business_date):
    contract = await shipped()
    await business_date(date(2026, 2, 10))
    body = {"amount": "100.00", "value_date": "2026-02-10", "method": "cash"}
    first = await client.post(URL.format(contract["id"]), headers=auth("clerk1", **{"Idempotency-Key": "k-1"}),
                              json=body)
    second = await client.post(URL.format(contract["id"]), headers=auth("clerk1", **{"Idempotency-Key": "k-1"}),
                               json=body)
    assert first.status_code == second.status_code == 201 and first.json()["id"] == second.json()["id"]
    assert len((await client.get(URL.format(contract["id"]), headers=auth("clerk1"))).json()["items"]) == 1


async def test_reversing_a_payment_takes_back_its_allocation_once(client, auth, shipped, business_date):
    contract = await shipped()
    await business_date(date(2026, 2, 10))
    paid = (await client.post(URL.format(contract["id"]), headers=auth("clerk1"), json={
        "amount": "1000.00", "value_date": "2026-02-05", "method": "cheque"})).json()
    url = f"/api/v1/payments/{paid['id']}/reverse"
    refused = await client.post(url, json={"reason": "退票"}, headers=auth("clerk1"))
    assert refused.status_code == 403 and refused.json()["code"] == "auth.missing_permission"
    reversed_ = await client.post(url, json={"reason": "退票"}, headers=auth("approver2"))
    assert reversed_.status_code == 200, reversed_.text
    assert reversed_.json()["allocation"] == [] and reversed_.json()["reversal"]["reason"] == "退票"
    twice = await client.post(url, json={"reason": "again"}, headers=auth("approver2"))
    assert twice.status_code == 409 and twice.json()["code"] == "ledger.cannot_reverse"


async def test_charges_are_posted_paid_by_later_payments_and_reversed(client, auth, shipped, business_date):
    contract = await shipped()
    await business_date(date(2026, 1, 25))
    posted = await client.post("/api/v1/charges", headers=auth("clerk1"), json={
        "contract_id": contract["id"], "kind": "gps_fee", "amount": "300.00", "due_date": "2026-01-25",
        "description": "GPS服务费 2026"})
    assert posted.status_code == 201, posted.text
    charge = posted.json()
    assert (charge["paid"], charge["unpaid"]) == ("0.00", "300.00")
    paid = await client.post(URL.format(contract["id"]), headers=auth("clerk1"), json={
        "amount": "300.00", "value_date": "2026-01-25", "method": "cash"})
    assert [(a["item"], a["amount"]) for a in paid.json()["allocation"]] == [(f"charge:{charge['id']}", "300.00")]
    assert (await client.get(f"/api/v1/charges/{charge['id']}", headers=auth("clerk1"))).json()["paid"] == "300.00"
    listed = await client.get("/api/v1/charges", params={"contract_id": contract["id"]}, headers=auth("clerk1"))
    assert [c["id"] for c in listed.json()["items"]] == [charge["id"]]
    reversed_ = await client.post(f"/api/v1/charges/{charge['id']}/reverse", json={"reason": "重复登记"},
                                  headers=auth("approver2"))
    assert reversed_.status_code == 200 and reversed_.json()["reversal"] is not None
    payment = (await client.get(f"/api/v1/payments/{paid.json()['id']}", headers=auth("clerk1"))).json()
    # What the charge had taken goes to the next item due after its value date: principal not yet due.
    assert [(a["item"], a["component"]) for a in payment["allocation"]] == [("instalment:1", "principal")]


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"amount": "10.00", "value_date": "2026-02-11", "method": "cash"}, 422, "ledger.future_value_date"),
    ({"amount": "10.00", "value_date": "2026-01-10", "method": "cash"}, 422, "ledger.before_shipment"),
    ({"amount": "10.005", "value_date": "2026-02-10", "method": "cash"}, 422, "request.validation_failed"),
    ({"amount": "-1", "value_date": "2026-02-10", "method": "cash"}, 422, "request.validation_failed"),
    ({"amount": "402162.11", "value_date": "2026-02-10", "method": "cash"}, 422, "payment.exceeds_outstanding"),
    ({"amount": "10.00", "value_date": "2026-02-10", "method": "card"}, 422, "request.validation_failed"),
    ({"amount": "10.00", "value_date": "2026-02-10", "method": "cash", "reference": "A\u0000B"}, 422,
     "request.validation_failed"),
])
async def test_bad_payments_answer_problems_with_stable_codes(client, auth, shipped, business_date, body, status,
                                                              code):
    contract = await shipped()
    await business_date(date(2026, 2, 10))
    response = await client.post(URL.format(contract["id"]), headers=auth("clerk1"), json=body)
    assert response.status_code == status, response.text
    assert response.json()["code"] == code


async def test_a_draft_contract_takes_no_payment(client, auth, new_contract):
    contract = await new_contract()
    response = await client.post(URL.format(contract["id"]), headers=auth("clerk1"), json={
        "amount": "10.00", "value_date": "2026-01-10", "method": "cash"})
    assert response.status_code == 409 and response.json()["code"] == "ledger.contract_not_active"


async def test_out_of_scope_payments_and_contracts_answer_404_like_missing(client, auth, shipped, business_date):
    contract = await shipped()
    await business_date(date(2026, 2, 10))
    paid = (await client.post(URL.format(contract["id"]), headers=auth("clerk1"), json={
        "amount": "10.00", "value_date": "2026-02-10", "method": "cash"})).json()
    for user in ("other-admin",):
        missing = await client.get(f"/api/v1/payments/{uuid.uuid4()}", headers=auth(user))
        hidden = await client.get(f"/api/v1/payments/{paid['id']}", headers=auth(user))
        assert missing.status_code == hidden.status_code == 404
        assert missing.json()["code"] == hidden.json()["code"] == "payment.not_found"
        posted = await client.post(URL.format(contract["id"]), headers=auth(user), json={
            "amount": "10.00", "value_date": "2026-02-10", "method": "cash"})
        assert posted.status_code == 404 and posted.json()["code"] == "contract.not_found"


async def test_a_payment_within_protection_secures_the_customer(client, auth, db, shipped, business_date):
    contract = await shipped()
    await business_date(date(2026, 2, 10))
    customer = await db.get(Customer, uuid.UUID(contract["customer_id"]))
    customer.secured_at = None
    await db.flush()
    await client.post(URL.format(contract["id"]), headers=auth("clerk1"), json={
        "amount": "10.00", "value_date": "2026-02-10", "method": "cash"})
    await db.refresh(customer)
    assert customer.secured_reason == "payment_received"


async def test_a_settled_contract_takes_no_payment_and_no_charge(client, auth, db, org, shipped, business_date):
    contract = await shipped()
    await business_date(date(2026, 1, 25))
    await ledger.settle(db, await load_principal(db, org.users["clerk1"].id),
                        await db.get(Contract, uuid.UUID(contract["id"])), reason="提前结清")
    paid = await client.post(URL.format(contract["id"]), headers=auth("clerk1"), json={
        "amount": "10.00", "value_date": "2026-01-25", "method": "cash"})
    assert paid.status_code == 409 and paid.json()["code"] == "ledger.contract_settled"
    charged = await client.post("/api/v1/charges", headers=auth("clerk1"), json={
        "contract_id": contract["id"], "kind": "gps_fee", "amount": "300.00", "due_date": "2026-01-25"})
    assert charged.status_code == 409 and charged.json()["code"] == "ledger.contract_settled"


# --- unapplied credit and the payoff paid (issue 25, items 3 and 3b) --------------------------------

async def _pay(client, auth, contract_id: str, amount: str, day: str) -> dict:
    response = await client.post(URL.format(contract_id), headers=auth("clerk1"), json={
        "amount": amount, "value_date": day, "method": "bank_transfer"})
    assert response.status_code == 201, response.text
    return response.json()


async def _figures(client, auth, contract_id: str) -> tuple[dict, dict]:
    url = f"/api/v1/contracts/{contract_id}"
    balance = await client.get(f"{url}/balance", headers=auth("clerk1"))
    payoff = await client.get(f"{url}/payoff", headers=auth("clerk1"))
    assert balance.status_code == payoff.status_code == 200, (balance.text, payoff.text)
    return balance.json(), payoff.json()


async def test_a_charge_reversal_leaves_unapplied_credit_that_balance_and_payoff_show(client, auth, shipped,
                                                                                    business_date):
    contract = await shipped()
    await business_date(date(2026, 2, 10))
    charge = (await client.post("/api/v1/charges", headers=auth("clerk1"), json={
        "contract_id": contract["id"], "kind": "tow", "amount": "500.00", "due_date": "2026-02-10"})).json()
    payment = await _pay(client, auth, contract["id"], "402662.10", "2026-02-10")  # the payoff, the charge in it
    reversed_ = await client.post(f"/api/v1/charges/{charge['id']}/reverse", json={"reason": "错账"},
                                  headers=auth("approver2"))
    assert reversed_.status_code == 200, reversed_.text
    shown = (await client.get(f"/api/v1/payments/{payment['id']}", headers=auth("clerk1"))).json()
    assert (shown["unapplied"], shown["refunded"]) == ("500.00", "0.00")
    balance, payoff = await _figures(client, auth, contract["id"])
    # Before: unapplied 500.00 while both said 0.00, the customer's money in no balance.
    assert (balance["unapplied_credit"], balance["payoff"]) == ("500.00", "-500.00")
    assert (payoff["unapplied_credit"], payoff["payoff"], payoff["principal"]) == ("500.00", "-500.00", "0.00")
    statement = (await client.get(f"/api/v1/contracts/{contract['id']}/statement", headers=auth("clerk1"))).json()
    assert (statement["closing_balance"], statement["unapplied_credit"]) == ("-500.00", "500.00")
    lines = {line["entry"]["id"]: line for line in statement["lines"]}
    assert lines[payment["id"]]["credit"] == "402662.10"  # all of it: what it paid and the credit it left


async def test_unapplied_credit_pays_the_next_charge_by_the_close_of_business_and_a_refund_pays_back_the_rest(
        client, auth, db, org, shipped, business_date):
    contract = await shipped()
    await business_date(date(2026, 2, 10))
    charge = (await client.post("/api/v1/charges", headers=auth("clerk1"), json={
        "contract_id": contract["id"], "kind": "tow", "amount": "500.00", "due_date": "2026-02-10"})).json()
    payment = await _pay(client, auth, contract["id"], "402662.10", "2026-02-10")
    await client.post(f"/api/v1/charges/{charge['id']}/reverse", json={"reason": "错账"}, headers=auth("approver2"))
    gps = (await client.post("/api/v1/charges", headers=auth("clerk1"), json={
        "contract_id": contract["id"], "kind": "gps_fee", "amount": "120.00", "due_date": "2026-02-15"})).json()
    await business_date(date(2026, 2, 16))
    assert (await client.post("/api/v1/close-of-business", headers=auth("admin"))).status_code == 200
    assert (await client.get(f"/api/v1/charges/{gps['id']}", headers=auth("clerk1"))).json()["paid"] == "120.00"
    balance, _ = await _figures(client, auth, contract["id"])
    assert (balance["unapplied_credit"], balance["payoff"], balance["dpd"]) == ("380.00", "-380.00", 0)

    url = f"/api/v1/contracts/{contract['id']}/refunds"
    body = {"amount": "380.01", "method": "bank_transfer", "reason": "退还多收拖车费"}
    refused = await client.post(url, json=body, headers=auth("approver2"))
    assert (refused.status_code, refused.json()["code"]) == (422, "refund.exceeds_unapplied_credit")
    assert (await client.post(url, json={**body, "amount": "380.00"}, headers=auth("clerk1"))).status_code == 403
    made = await client.post(url, json={**body, "amount": "380.00"}, headers=auth("approver2"))
    assert made.status_code == 201, made.text
    refund = made.json()
    assert (refund["amount"], refund["value_date"], refund["method"]) == ("380.00", "2026-02-16", "bank_transfer")
    assert made.headers["Location"] == f"/api/v1/refunds/{refund['id']}"
    balance, payoff = await _figures(client, auth, contract["id"])
    assert (balance["unapplied_credit"], balance["payoff"], payoff["payoff"]) == ("0.00", "0.00", "0.00")
    shown = (await client.get(f"/api/v1/payments/{payment['id']}", headers=auth("clerk1"))).json()
    assert (shown["unapplied"], shown["refunded"]) == ("0.00", "380.00")
    # The payment is not reversed from under the refund; the refund is reversed first.
    blocked = await client.post(f"/api/v1/payments/{payment['id']}/reverse", json={"reason": "退票"},
                                headers=auth("approver2"))
    assert (blocked.status_code, blocked.json()["code"]) == (422, "refund.exceeds_unapplied_credit")
    undone = await client.post(f"/api/v1/refunds/{refund['id']}/reverse", json={"reason": "退款失败"},
                               headers=auth("approver2"))
    assert undone.status_code == 200 and undone.json()["reversal"]["reason"] == "退款失败"
    assert (await _figures(client, auth, contract["id"]))[0]["unapplied_credit"] == "380.00"
    audited = await db.scalars(select(AuditEvent.action).where(AuditEvent.entity_type == "ledger_entry",
                                                               AuditEvent.action.like("refund.%")))
    assert sorted(audited) == ["refund.recorded", "refund.reversed"]


async def test_paying_the_payoff_writes_off_the_interest_not_yet_due_and_the_contract_never_turns_overdue(
        client, auth, db, org, shipped, business_date):
    contract = await shipped()
    await business_date(date(2026, 2, 10))
    payment = await _pay(client, auth, contract["id"], "402162.10", "2026-02-10")  # ledger.md's payoff that day
    for day in (date(2026, 3, 1), date(2026, 7, 1), date(2027, 1, 5)):
        await business_date(day)
        assert (await client.post("/api/v1/close-of-business", headers=auth("admin"))).status_code == 200
        balance, payoff = await _figures(client, auth, contract["id"])
        assert (balance["dpd"], balance["bucket"], balance["overdue_amount"], balance["payoff"]) == (
            0, "current", "0.00", "0.00"), day
        assert payoff["payoff"] == "0.00"
    schedule = (await client.get(f"/api/v1/contracts/{contract['id']}/schedule", headers=auth("clerk1"))).json()
    assert {r["status"] for r in schedule["instalments"]} == {"paid"}
    assert all(r["unpaid"]["interest"] == "0.00" for r in schedule["instalments"])
    entries = (await client.get(f"/api/v1/contracts/{contract['id']}/ledger", params={"kind": "write_off",
                                                                                   "limit": 50},
                                headers=auth("clerk1"))).json()["items"]
    assert sorted(e["instalment_number"] for e in entries) == list(range(2, 13))
    assert sum(D(e["amount"]) for e in entries) == D("13118.87") - D("2000.00")
    assert {e["value_date"] for e in entries} == {"2026-02-10"}

    # Reversed, the interest and the schedule come back exactly: the contract is overdue since 28 Feb.
    reversed_ = await client.post(f"/api/v1/payments/{payment['id']}/reverse", json={"reason": "退票"},
                                  headers=auth("approver2"))
    assert reversed_.status_code == 200, reversed_.text
    balance, _ = await _figures(client, auth, contract["id"])
    assert (balance["overdue_since"], balance["outstanding_principal"]) == ("2026-01-31", "400000.00")
    entries = await repo.entries_of(db, uuid.UUID(contract["id"]))
    state = rules.replay(ledger_entries.schedule_of(entries), [], through=date(2027, 1, 5))
    assert balance["payoff"] == f"{rules.payoff(state):.2f}"
    assert sum((e.amount for e in entries if e.kind == "write_off"), D(0)) == 0
