"""Settlement requests (approved only at a zero payoff: the contract settled, its case closed, the
documents released once afterwards) and GPS service fees (posted once as a charge on approval)."""

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from app.collection.models import CollectionCase
from app.contracts.models import Contract
from app.ledger.models import LedgerEntry
from tests.requests.conftest import GPS_FEES, SETTLEMENTS

RELEASE = {"documents": ["invoice", "certificate_of_conformity"], "recipient": "张三 (客户法人)",
           "released_on": "2026-03-10"}


async def _payoff(client, auth, contract_id) -> str:
    form = await client.get(f"/api/v1/contracts/{contract_id}/interest-waiver-form", headers=auth("clerk1"))
    return form.json()["payoff"]


async def _approve(act, approval_id: str, *users: str):
    for user in users:
        answer = await act(user, approval_id, "approve", {})
        if answer.status_code != 200:
            return answer
    return answer


async def test_a_settlement_is_refused_at_a_nonzero_payoff_and_accepted_at_zero(client, auth, db, act,
                                                                                  overdue_case, request_flows):
    await request_flows()
    case = await overdue_case(on=date(2026, 3, 10))
    payoff = await _payoff(client, auth, case.contract_id)
    created = await client.post(SETTLEMENTS, headers=auth("clerk1"), json={
        "contract_id": str(case.contract_id), "submit": True})
    assert created.status_code == 201, created.text
    request = created.json()
    assert request["status"] == "pending" and request["payoff_at_submission"] == payoff
    url = f"{SETTLEMENTS}/{request['id']}"
    early = await client.post(f"{url}/release", json=RELEASE, headers=auth("clerk1"))
    assert early.status_code == 409 and early.json()["code"] == "settlement.not_approved"

    refused = await _approve(act, request["approval_id"], "approver1", "approver2")
    assert refused.status_code == 409 and refused.json()["code"] == "settlement.balance_not_zero"
    contract = await db.get(Contract, case.contract_id)
    await db.refresh(contract)
    assert contract.state == "active"
    assert (await client.get(url, headers=auth("clerk1"))).json()["status"] == "pending"

    paid = await client.post(f"/api/v1/contracts/{case.contract_id}/payments", headers=auth("clerk1"), json={
        "amount": payoff, "value_date": "2026-03-10", "method": "bank_transfer", "reference": "S-1"})
    assert paid.status_code == 201, paid.text
    assert await _payoff(client, auth, case.contract_id) == "0.00"
    approved = await act("approver2", request["approval_id"], "approve", {})
    assert approved.status_code == 200, approved.text
    assert (await client.get(url, headers=auth("clerk1"))).json()["status"] == "approved"
    await db.refresh(contract)
    assert contract.state == "settled"
    closed = await db.get(CollectionCase, case.id)
    await db.refresh(closed)
    assert (closed.state, closed.outcome) == ("closed", "settled")
    settlements = await db.scalar(select(func.count()).select_from(LedgerEntry).where(
        LedgerEntry.contract_id == case.contract_id, LedgerEntry.kind == "settlement"))
    assert settlements == 1

    released = await client.post(f"{url}/release", json=RELEASE, headers=auth("clerk1"))
    assert released.status_code == 200, released.text
    body = released.json()
    assert body["released_documents"] == RELEASE["documents"] and body["released_to"] == RELEASE["recipient"]
    assert body["released_by_id"] and body["released_on"] == "2026-03-10"
    again = await client.post(f"{url}/release", json=RELEASE, headers=auth("clerk1"))
    assert again.status_code == 409 and again.json()["code"] == "settlement.already_released"
    assert (await client.post(f"{url}/release", json=RELEASE, headers=auth("approver1"))).status_code == 403
    assert (await client.post(f"{url}/release", json=RELEASE, headers=auth("other-admin"))).status_code == 404


async def test_a_gps_fee_is_posted_once_as_a_charge(client, auth, db, act, overdue_case, request_flows):
    await request_flows()
    case = await overdue_case()
    contract = (await client.get(f"/api/v1/contracts/{case.contract_id}", headers=auth("clerk1"))).json()
    machine_id = contract["machines"][0]["id"] if "machines" in contract else contract["machine_ids"][0]
    body = {"contract_id": str(case.contract_id), "machine_id": machine_id, "kind": "renewal",
            "period_from": "2026-03-01", "period_to": "2027-02-28", "amount": "1200.00"}
    wrong = await client.post(GPS_FEES, headers=auth("clerk1"), json={**body, "machine_id": str(case.id)})
    assert wrong.status_code == 422 and wrong.json()["code"] == "gps_fee.machine_not_of_contract"
    created = await client.post(GPS_FEES, headers=auth("clerk1"), json={**body, "submit": True})
    assert created.status_code == 201, created.text
    fee = created.json()
    approved = await _approve(act, fee["approval_id"], "approver1", "approver2")
    assert approved.status_code == 200, approved.text
    again = await act("approver2", fee["approval_id"], "approve", {})
    assert again.status_code in (403, 409)
    fee = (await client.get(f"{GPS_FEES}/{fee['id']}", headers=auth("clerk1"))).json()
    assert fee["status"] == "approved" and fee["charge_entry_id"]
    charges = (await db.execute(select(LedgerEntry.charge_kind, LedgerEntry.amount).where(
        LedgerEntry.contract_id == case.contract_id, LedgerEntry.kind == "charge"))).all()
    assert charges == [("gps_fee", Decimal("1200.00"))]
    assert (await client.post(GPS_FEES, headers=auth("collector1"), json=body)).status_code == 403
    listed = await client.get(GPS_FEES, params={"requester_id": str(fee["requester_id"]),
                                                "created_from": "2020-01-01"}, headers=auth("leader"))
    assert [f["id"] for f in listed.json()["items"]] == [fee["id"]]
