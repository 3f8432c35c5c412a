"""Investigation before shipment and the shipment request: approval opens the investigation, the
dispatcher assigns it, the investigator's questionnaire is scored; the leader approves the shipment
seeing the score; the contract becomes active. Scoping of the outbound list."""

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from app.contracts.models import Contract, ShipmentRequest
from app.customers.models import Customer
from tests.contracts.conftest import ANNUITY_TERMS

STRONG = {"business": {"years_in_business": 6, "fleet_size": 12, "projects": ["沪宁高速扩建"]},
          "assets_liabilities": {"total_assets": "2000000", "total_liabilities": "500000"},
          "financial": {"existing_loans": "300000", "overdue_count_24m": 0},
          "guarantors": [{"name": "李四", "relation": "股东", "net_assets": "500000"}],
          "documents": ["营业执照.pdf", "银行流水.pdf"]}
WEAK = {"business": {"years_in_business": 1},
        "assets_liabilities": {"total_assets": "1000000", "total_liabilities": "800000"},
        "financial": {"overdue_count_24m": 3},
        "guarantors": [{"name": "王五", "net_assets": "100000"}]}


async def _approved(client, auth, flows, new_contract, act, approval_of, **fields) -> dict:
    """A contract financed 250 000 (L1 and L2 only), approved."""
    await flows()
    contract = await new_contract({**ANNUITY_TERMS, "down_payment": "250000.00", **fields.pop("terms", {})},
                                  **fields)
    url = f"/api/v1/contracts/{contract['id']}"
    assert (await client.post(f"{url}/submit", headers=auth("clerk1"))).status_code == 200
    approval = await approval_of(contract["id"])
    for user in ("approver1", "approver2"):
        assert (await act(user, approval["id"], "approve", {})).status_code == 200
    return (await client.get(url, headers=auth("clerk1"))).json()


async def _investigation(client, auth, contract_id: str) -> dict:
    listed = await client.get("/api/v1/investigations", params={"contract_id": contract_id},
                              headers=auth("dispatcher"))
    assert listed.status_code == 200, listed.text
    (investigation,) = listed.json()["items"]
    return investigation


async def _dispatched_and_submitted(client, auth, org, contract_id: str, answers: dict) -> dict:
    """The contract's investigation assigned to investigator1, who submits `answers`: the scored result."""
    url = f"/api/v1/investigations/{(await _investigation(client, auth, contract_id))['id']}"
    dispatched = await client.post(f"{url}/dispatch", json={"investigator_id": str(org.users["investigator1"].id)},
                                   headers=auth("dispatcher"))
    assert dispatched.status_code == 200, dispatched.text
    submitted = await client.post(f"{url}/submit", json={"answers": answers}, headers=auth("investigator1"))
    assert submitted.status_code == 200, submitted.text
    return submitted.json()


async def test_investigation_then_shipment_end_to_end(client, auth, org, flows, new_contract, act, approval_of):
    contract = await _approved(client, auth, flows, new_contract, act, approval_of, needs_investigation=True)
    assert contract["state"] == "investigating"
    url = f"/api/v1/contracts/{contract['id']}"
    early = await client.post(f"{url}/shipment-request", json={}, headers=auth("clerk1"))
    assert early.status_code == 409 and early.json()["code"] == "contract.illegal_transition"

    investigation = await _investigation(client, auth, contract["id"])
    assert investigation["state"] == "pending_dispatch"
    iurl = f"/api/v1/investigations/{investigation['id']}"
    not_yet = await client.post(f"{iurl}/submit", json={"answers": STRONG}, headers=auth("investigator1"))
    assert not_yet.status_code in (404, 409)  # not theirs to see until assigned
    wrong = await client.post(f"{iurl}/dispatch", json={"investigator_id": str(org.users["sales2"].id)},
                              headers=auth("dispatcher"))
    assert wrong.status_code == 422 and wrong.json()["code"] == "investigation.invalid_investigator"
    dispatched = await client.post(f"{iurl}/dispatch", json={"investigator_id": str(org.users["investigator1"].id)},
                                   headers=auth("dispatcher"))
    assert dispatched.status_code == 200 and dispatched.json()["state"] == "dispatched"
    mine = await client.get("/api/v1/investigations", params={"mine": True}, headers=auth("investigator1"))
    assert [i["id"] for i in mine.json()["items"]] == [investigation["id"]]

    submitted = await client.post(f"{iurl}/submit", headers=auth("investigator1"), json={
        "answers": STRONG, "recommendation": "ship", "comment": "经营稳定"})
    assert submitted.status_code == 200, submitted.text
    scored = submitted.json()
    # financed 250 000 of 500 000: every factor earns its full weight (down payment share 0.5,
    # guarantors 500 000 / 250 000 = 2, debt/assets 0.25, no overdue, 6 years).
    assert (scored["score"], scored["recommendation"]) == ("100.00", "ship")
    assert {f["name"]: f["contribution"] for f in scored["factors"]} == {
        "debt_to_assets": "30.00", "overdue_history": "25.00", "years_in_business": "15.00",
        "down_payment_share": "15.00", "guarantor_strength": "15.00"}
    again = await client.post(f"{iurl}/submit", json={"answers": STRONG}, headers=auth("investigator1"))
    assert again.status_code == 409 and again.json()["code"] == "investigation.illegal_transition"
    assert (await client.get(url, headers=auth("clerk1"))).json()["state"] == "approved"

    shipment = await client.post(f"{url}/shipment-request", json={"notes": "随车附件齐全"}, headers=auth("clerk1"))
    assert shipment.status_code == 201, shipment.text
    assert shipment.json()["investigation"]["recommendation"] == "ship"
    assert (await client.get(url, headers=auth("clerk1"))).json()["state"] == "shipping"
    approval = (await client.get(f"/api/v1/approvals/{shipment.json()['approval_id']}", headers=auth("leader"))).json()
    assert approval["snapshot"]["investigation"]["score"] == "100.00"
    assert approval["snapshot"]["investigation"]["factors"]
    approved = await act("leader", approval["id"], "approve", {"comment": "同意发车"})
    assert approved.status_code == 200, approved.text
    active = (await client.get(url, headers=auth("clerk1"))).json()
    assert active["state"] == "active" and active["shipment_date"] is not None
    assert active["machines"][0]["delivered_date"] == active["shipment_date"]
    outbound = await client.get("/api/v1/shipments", headers=auth("leader"))
    assert shipment.json()["id"] in [s["id"] for s in outbound.json()["items"]]


async def test_a_weak_questionnaire_recommends_against_shipping(client, auth, org, flows, new_contract, act,
                                                                 approval_of):
    contract = await _approved(client, auth, flows, new_contract, act, approval_of, needs_investigation=True)
    scored = await _dispatched_and_submitted(client, auth, org, contract["id"], WEAK)
    # financed 250 000 of 500 000: down payment share 0.5 → 15; guarantors 100 000 / 250 000 = 0.4 → 4.50;
    # debt/assets 0.8 → 0; 3 overdue → 0; 1 year → 3. Total 22.50.
    assert (scored["score"], scored["recommendation"]) == ("22.50", "do_not_ship")
    factors = {f["name"]: f for f in scored["factors"]}
    assert factors["debt_to_assets"]["value"] == "0.8" and factors["debt_to_assets"]["contribution"] == "0.00"


async def test_a_shipment_after_the_first_due_date_is_refused(client, auth, org, flows, new_contract, act,
                                                              approval_of):
    # A first due date in a past month: only a contract migrated from history has one.
    granted = await client.put(f"/api/v1/users/{org.users['sales1'].id}/permissions/contract.migrate_history",
                               json={"granted": True}, headers=auth("admin"))
    assert granted.status_code == 204, granted.text
    contract = await _approved(client, auth, flows, new_contract, act, approval_of,
                               terms={"first_due_date": "2020-01-31"})
    response = await client.post(f"/api/v1/contracts/{contract['id']}/shipment-request", json={},
                                 headers=auth("clerk1"))
    assert response.status_code == 409 and response.json()["code"] == "shipment.after_first_due_date"
    assert (await client.get(f"/api/v1/contracts/{contract['id']}", headers=auth("clerk1"))).json()["state"] == \
        "approved"


async def test_a_rejected_shipment_returns_the_contract_to_approved(client, auth, flows, new_contract, act,
                                                                   approval_of):
    contract = await _approved(client, auth, flows, new_contract, act, approval_of)
    shipment = (await client.post(f"/api/v1/contracts/{contract['id']}/shipment-request", json={},
                                  headers=auth("clerk1"))).json()
    rejected = await act("leader", shipment["approval_id"], "reject", {"reason": "首付未到账"})
    assert rejected.status_code == 200, rejected.text
    assert (await client.get(f"/api/v1/contracts/{contract['id']}", headers=auth("clerk1"))).json()["state"] == \
        "approved"


async def test_the_leader_sees_shipments_of_c01_to_c07_only(client, auth, db, org):
    ids = {}
    for code in ("C01", "C07", "C08"):
        company = org.companies[code]
        contract = Contract(group_id=org.group.id, company_id=company.id, requester_id=org.users["admin"].id,
                            owner_id=org.users["admin"].id, status="approved", state="shipping",
                            number=f"HT-{code}-2026-9{uuid.uuid4().int % 100000:05d}",
                            customer_id=await _customer_in(db, org, company.id), sale_kind="instalment_sale",
                            price=Decimal("100000"), down_payment=Decimal("0"), annual_rate=Decimal("0.06"),
                            term_months=12, first_due_date=date(2099, 1, 31), schedule_kind="annuity",
                            penalty_daily_rate=Decimal("0.0005"), grace_days=0,
                            allocation_order=["penalty", "fee", "interest", "principal"])
        db.add(contract)
        await db.flush()
        shipment = ShipmentRequest(group_id=org.group.id, company_id=company.id, requester_id=org.users["admin"].id,
                                   status="pending", contract_id=contract.id, contract_number=contract.number,
                                   financed=Decimal("100000"), planned_date=date(2026, 12, 1))
        db.add(shipment)
        await db.flush()
        ids[code] = str(shipment.id)
        ids[f"contract-{code}"] = str(contract.id)
    seen = [s["id"] for s in (await client.get("/api/v1/shipments", params={"limit": 200},
                                               headers=auth("leader"))).json()["items"]]
    assert ids["C01"] in seen and ids["C07"] in seen and ids["C08"] not in seen
    assert (await client.get(f"/api/v1/shipments/{ids['C08']}", headers=auth("leader"))).status_code == 404
    assert (await client.get(f"/api/v1/shipments/{ids['C01']}", headers=auth("other-admin"))).status_code == 404
    for code, status in (("C01", 200), ("C07", 200), ("C08", 404)):
        seen_contract = await client.get(f"/api/v1/contracts/{ids[f'contract-{code}']}", headers=auth("leader"))
        assert seen_contract.status_code == status, code
    everything = (await client.get("/api/v1/shipments", params={"limit": 200}, headers=auth("admin"))).json()
    assert ids["C08"] in [s["id"] for s in everything["items"]]


async def _customer_in(db, org, company_id):
    """A pool customer of the company (contracts are always in their customer's company)."""
    customer = Customer(group_id=org.group.id, company_id=company_id, kind="company",
                        name=f"发车测试{uuid.uuid4().hex[:6]}有限公司", name_norm=uuid.uuid4().hex, owner_id=None,
                        status="pool", created_by_id=org.users["admin"].id, category="intended")
    db.add(customer)
    await db.flush()
    return (await db.scalars(select(Customer.id).where(Customer.id == customer.id))).one()


async def test_the_lists_cost_the_same_for_one_row_or_fifty(client, auth, flows, new_contract, act, approval_of,
                                                          count_queries):
    await _approved(client, auth, flows, new_contract, act, approval_of, needs_investigation=True)
    contract = await _approved(client, auth, _no_flows, new_contract, act, approval_of, needs_investigation=True)
    for path, user in (("/api/v1/machines", "clerk1"), ("/api/v1/investigations", "dispatcher"),
                       ("/api/v1/shipments", "leader")):
        await client.get(path, params={"limit": 1}, headers=auth(user))  # a warm caller (principal caches)
        async with count_queries() as one:
            assert (await client.get(path, params={"limit": 1}, headers=auth(user))).status_code == 200
        async with count_queries() as fifty:
            assert (await client.get(path, params={"limit": 50}, headers=auth(user))).status_code == 200
        assert one.n == fifty.n, path
    assert contract["state"] == "investigating"


async def _no_flows() -> None:
    """The flows are already there."""


async def test_a_groups_own_scoring_model_scores_later_submissions(client, auth, org, flows, new_contract, act,
                                                                   approval_of):
    default = await client.get("/api/v1/investigation-scoring", headers=auth("dispatcher"))
    assert default.status_code == 200 and default.json()["is_default"] is True
    assert default.json()["ship_at"] == "70" and default.json()["factors"]["debt_to_assets"]["weight"] == "30"
    model = {k: v for k, v in default.json().items() if k != "is_default"}
    bad = await client.put("/api/v1/investigation-scoring", headers=auth("admin"),
                           json={**model, "conditions_at": "90", "ship_at": "80"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["pointer"] == "/body/conditions_at"
    assert (await client.put("/api/v1/investigation-scoring", headers=auth("dispatcher"), json=model)).status_code \
        == 403
    stale = await client.put("/api/v1/investigation-scoring", json=model,
                             headers=auth("admin", **{"If-Match": 'W/"5"'}))
    assert stale.status_code == 412
    # A strict group: shipping needs 101 points, so even a perfect questionnaire ships with conditions.
    strict = await client.put("/api/v1/investigation-scoring", headers=auth("admin", **{"If-Match": 'W/"0"'}),
                              json={**model, "ship_at": "101"})
    assert strict.status_code == 200 and strict.json()["is_default"] is False
    other = await client.get("/api/v1/investigation-scoring", headers=auth("other-admin"))
    assert other.json()["is_default"] is True and other.json()["ship_at"] == "70"

    contract = await _approved(client, auth, flows, new_contract, act, approval_of, needs_investigation=True)
    scored = await _dispatched_and_submitted(client, auth, org, contract["id"], STRONG)
    assert (scored["score"], scored["recommendation"]) == ("100.00", "ship_with_conditions")
