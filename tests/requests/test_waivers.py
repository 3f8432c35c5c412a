"""Interest waivers: filed on a contract in scope (or of a case the collector holds), drafted or
submitted at once, approved through the seed's amount tiers, posted on approval; refused with 409
and nothing changed when a payment lowered the penalty after submission."""

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from app.ledger.models import LedgerEntry
from tests.requests.conftest import WAIVERS


async def _waivers_posted(db, contract_id) -> int:
    return await db.scalar(select(func.count()).select_from(LedgerEntry).where(
        LedgerEntry.contract_id == contract_id, LedgerEntry.kind == "waiver"))

async def test_the_seed_example_waivers_go_through_their_amount_tiers(client, auth, db, overdue_case, request_flows,
                                                                       act):
    await request_flows()
    case = await overdue_case(on=date(2026, 12, 31))
    form = await client.get(f"/api/v1/contracts/{case.contract_id}/interest-waiver-form", headers=auth("clerk1"))
    assert form.status_code == 200, form.text
    assert Decimal(form.json()["unpaid_penalty"]) > Decimal("17500.00"), form.json()
    tiers = {"800.00": ["approver1"], "5000.00": ["approver1", "approver2"],
             "12000.00": ["approver1", "approver2", "leader"]}
    for amount, approvers in tiers.items():
        created = await client.post(WAIVERS, headers=auth("clerk1"), json={
            "contract_id": str(case.contract_id), "amount": amount, "reason": "罚息减免", "submit": True})
        assert created.status_code == 201, created.text
        waiver = created.json()
        assert waiver["status"] == "pending" and waiver["bucket"] != "current" and waiver["dpd"] > 0
        for user in approvers:
            assert waiver["status"] == "pending"
            assert (await act(user, waiver["approval_id"], "approve", {})).status_code == 200
            waiver = (await client.get(f"{WAIVERS}/{waiver['id']}", headers=auth("clerk1"))).json()
        assert waiver["status"] == "approved", (amount, waiver)
    assert await _waivers_posted(db, case.contract_id) == 3
    after = await client.get(f"/api/v1/contracts/{case.contract_id}/interest-waiver-form", headers=auth("clerk1"))
    assert Decimal(after.json()["unpaid_penalty"]) == Decimal(form.json()["unpaid_penalty"]) - Decimal("17800.00")

async def test_a_payment_after_submission_makes_the_approval_a_409_that_changes_nothing(
        client, auth, db, overdue_case, request_flows, act):
    await request_flows()
    case = await overdue_case(on=date(2026, 3, 10))
    form = f"/api/v1/contracts/{case.contract_id}/interest-waiver-form"
    penalty = (await client.get(form, headers=auth("clerk1"))).json()["unpaid_penalty"]
    assert Decimal(penalty) > 0
    created = await client.post(WAIVERS, headers=auth("clerk1"), json={
        "contract_id": str(case.contract_id), "amount": penalty, "reason": "全部罚息减免", "submit": True})
    assert created.status_code == 201, created.text
    waiver = created.json()
    assert Decimal(waiver["unpaid_penalty"]) == Decimal(penalty)
    paid = await client.post(f"/api/v1/contracts/{case.contract_id}/payments", headers=auth("clerk1"), json={
        "amount": "50000.00", "value_date": "2026-03-10", "method": "bank_transfer", "reference": "W-1"})
    assert paid.status_code == 201, paid.text
    refused = await act("approver1", waiver["approval_id"], "approve", {})
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "waiver.amount_exceeds_penalty"
    assert await _waivers_posted(db, case.contract_id) == 0
    still = (await client.get(f"{WAIVERS}/{waiver['id']}", headers=auth("clerk1"))).json()
    assert still["status"] == "pending"
    approval = (await client.get(f"/api/v1/approvals/{waiver['approval_id']}", headers=auth("approver1"))).json()
    assert approval["status"] == "pending"

async def test_a_waiver_above_the_unpaid_penalty_is_refused_when_filed_and_when_submitted(
        client, auth, overdue_case, request_flows):
    await request_flows()
    case = await overdue_case(on=date(2026, 3, 10))
    form = f"/api/v1/contracts/{case.contract_id}/interest-waiver-form"
    penalty = Decimal((await client.get(form, headers=auth("clerk1"))).json()["unpaid_penalty"])
    above = f"{penalty + Decimal('0.01'):.2f}"
    for submit in (False, True):
        refused = await client.post(WAIVERS, headers=auth("clerk1"), json={
            "contract_id": str(case.contract_id), "amount": above, "reason": "超额", "submit": submit})
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "waiver.amount_exceeds_penalty"
        assert refused.json()["unpaid_penalty"] == f"{penalty:.2f}"
    listed = await client.get(WAIVERS, params={"contract_id": str(case.contract_id)}, headers=auth("clerk1"))
    assert listed.json()["items"] == []
    # A draft within the penalty, edited above it: refused when submitted, and still a draft.
    draft = (await client.post(WAIVERS, headers=auth("clerk1"), json={
        "contract_id": str(case.contract_id), "amount": f"{penalty:.2f}", "reason": "全部"})).json()
    url = f"{WAIVERS}/{draft['id']}"
    edited = await client.patch(url, json={"amount": above}, headers=auth("clerk1", **{"If-Match": '"1"'}))
    assert edited.status_code == 200, edited.text
    submitted = await client.post(f"{url}/submit", headers=auth("clerk1"))
    assert submitted.status_code == 409 and submitted.json()["code"] == "waiver.amount_exceeds_penalty"
    assert (await client.get(url, headers=auth("clerk1"))).json()["status"] == "draft"


async def test_a_payment_between_two_steps_makes_the_next_approval_a_409(client, auth, db, overdue_case,
                                                                        request_flows, act):
    # 5,000.00 needs L1 then L2; a payment after submission leaves less penalty than that: L1 (not
    # the last step) may not approve what no longer stands.
    await request_flows()
    case = await overdue_case(on=date(2026, 12, 31))
    created = await client.post(WAIVERS, headers=auth("clerk1"), json={
        "contract_id": str(case.contract_id), "amount": "5000.00", "reason": "罚息减免", "submit": True})
    assert created.status_code == 201, created.text
    waiver = created.json()
    balance = (await client.get(f"/api/v1/contracts/{case.contract_id}/balance", headers=auth("clerk1"))).json()
    paid = await client.post(f"/api/v1/contracts/{case.contract_id}/payments", headers=auth("clerk1"), json={
        "amount": balance["overdue_amount"], "value_date": "2026-12-31", "method": "bank_transfer",
        "reference": "W-2"})  # everything overdue, the penalty with it
    assert paid.status_code == 201, paid.text
    refused = await act("approver1", waiver["approval_id"], "approve", {})
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "waiver.amount_exceeds_penalty"
    approval = (await client.get(f"/api/v1/approvals/{waiver['approval_id']}", headers=auth("approver1"))).json()
    assert approval["status"] == "pending" and approval["current_step"]["name"] == "L1", approval
    assert await _waivers_posted(db, case.contract_id) == 0


async def test_drafts_are_edited_then_submitted_and_withdrawn(client, auth, overdue_case, request_flows):
    await request_flows()
    case = await overdue_case()
    draft = (await client.post(WAIVERS, headers=auth("clerk1"), json={
        "contract_id": str(case.contract_id), "amount": "10.00", "reason": "x"})).json()
    assert draft["status"] == "draft" and draft["approval_id"] is None
    url = f"{WAIVERS}/{draft['id']}"
    edited = await client.patch(url, json={"amount": "20.00"}, headers=auth("clerk1", **{"If-Match": '"1"'}))
    assert edited.status_code == 200, edited.text
    assert edited.json()["amount"] == "20.00"
    submitted = await client.post(f"{url}/submit", headers=auth("clerk1"))
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["status"] == "pending"
    locked = await client.patch(url, json={"amount": "30.00"}, headers=auth("clerk1"))
    assert locked.status_code == 409
    withdrawn = await client.post(f"{url}/withdraw", headers=auth("clerk1"))
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    listed = await client.get(WAIVERS, params={"status": "withdrawn", "contract_id": str(case.contract_id)},
                              headers=auth("approver1"))
    assert [w["id"] for w in listed.json()["items"]] == [draft["id"]]
    assert (await client.get(WAIVERS, params={"status": "pending"}, headers=auth("approver1"))).json()["items"] == []

async def test_scope_collectors_of_the_case_and_permissions(client, auth, org, overdue_case, request_flows):
    await request_flows()
    case = await overdue_case()
    body = {"contract_id": str(case.contract_id), "amount": "10.00", "reason": "x"}
    # Not the collector of the case yet: the contract is not theirs (404 like missing).
    assert (await client.post(WAIVERS, json=body, headers=auth("collector1"))).status_code == 404
    assigned = await client.post("/api/v1/collection-cases/assign", headers=auth("dispatcher"), json={
        "case_ids": [str(case.id)], "collector_id": str(org.users["collector1"].id), "reason": "片区"})
    assert assigned.status_code == 200, assigned.text
    created = await client.post(WAIVERS, json=body, headers=auth("collector1"))
    assert created.status_code == 201, created.text
    url = f"{WAIVERS}/{created.json()['id']}"
    assert (await client.get(url, headers=auth("collector1"))).status_code == 200
    for outsider in ("collector2", "other-admin"):
        assert (await client.post(WAIVERS, json=body, headers=auth(outsider))).status_code in (403, 404)
        assert (await client.get(url, headers=auth(outsider))).status_code in (403, 404)
    assert (await client.get(url, headers=auth("collector3"))).status_code == 404
    assert (await client.get(url, headers=auth("other-admin"))).status_code == 404
    assert (await client.post(WAIVERS, json=body, headers=auth("sales1"))).status_code == 403
    assert (await client.get(WAIVERS, headers=auth("sales1"))).status_code == 403
    missing = await client.post(WAIVERS, json={**body, "contract_id": str(org.users["sales1"].id)},
                                headers=auth("clerk1"))
    assert missing.status_code == 404 and missing.json()["code"] == "contract.not_found"
