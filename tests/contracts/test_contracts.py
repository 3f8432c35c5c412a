"""Contracts: numbering, the state machine and its 409s, the seed's approval flow end to end, the
effects of approval, schedules before and after, scoping."""
import uuid
from datetime import date, timedelta

from sqlalchemy import select, update

from app.contracts.models import Contract, ContractInstalment
from app.core.business_date import business_date, business_zone
from app.core.db import utcnow
from app.customers.models import Customer, CustomerActivity, CustomerContact
from app.ledger.calendar import business_today
from tests.contracts.conftest import ANNUITY_TERMS, create_machine


async def test_a_draft_gets_a_number_per_company_and_year(new_contract, org):
    first, second = await new_contract(), await new_contract()
    year = business_date(utcnow(), business_zone()).year
    assert first["number"].startswith(f"HT-C01-{year}-") and len(first["number"]) == len("HT-C01-2026-000001")
    assert int(second["number"][-6:]) == int(first["number"][-6:]) + 1
    assert first["state"] == "draft" and first["approval_status"] == "draft"
    assert first["terms"]["financed"] == "400000.00" and first["company_id"] == str(org.companies["C01"].id)
    assert len(first["machines"]) == 1 and first["contacts"][0]["relation"] == "legal_representative"


async def test_the_seed_flow_end_to_end(client, auth, flows, new_contract, act, approval_of, db, org):
    """Salesperson drafts → clerk completes and submits → L1 rejects with a reason → clerk revises
    and resubmits → L1 → L2 → the leader's final step (above ¥300 000 financed)."""
    await flows()
    contract = await new_contract()
    url = f"/api/v1/contracts/{contract['id']}"
    completed = await client.patch(url, json={"notes": "内勤已完善"}, headers=auth("clerk1"))
    assert completed.status_code == 200, completed.text
    assert completed.json()["clerk_id"] == str(org.users["clerk1"].id)
    submitted = await client.post(f"{url}/submit", headers=auth("clerk1"))
    assert submitted.status_code == 200, submitted.text
    assert (submitted.json()["state"], submitted.json()["approval_status"]) == ("submitted", "pending")

    under_approval = await client.patch(url, json={"notes": "x"}, headers=auth("clerk1"))
    assert under_approval.status_code == 409 and under_approval.json()["code"] == "contract.not_editable"

    approval = await approval_of(contract["id"])
    rejected = await act("approver1", approval["id"], "reject", {"reason": "首付比例需提高"})
    assert rejected.status_code == 200, rejected.text
    back = (await client.get(url, headers=auth("clerk1"))).json()
    assert (back["state"], back["rejection_reason"]) == ("draft", "首付比例需提高")

    revised = await client.patch(url, json={"terms": {**ANNUITY_TERMS, "down_payment": "150000.00"}},
                                 headers=auth("clerk1"))
    assert revised.status_code == 200 and revised.json()["terms"]["financed"] == "350000.00"
    assert (await client.post(f"{url}/submit", headers=auth("clerk1"))).status_code == 200
    approval = await approval_of(contract["id"])
    for user in ("approver1", "approver2"):
        response = await act(user, approval["id"], "approve", {"comment": "同意"})
        assert response.status_code == 200, response.text
        assert (await client.get(url, headers=auth("clerk1"))).json()["state"] == "submitted"
    final = await act("leader", approval["id"], "approve", {"comment": "终审同意"})
    assert final.status_code == 200, final.text
    approved = (await client.get(url, headers=auth("clerk1"))).json()
    assert (approved["state"], approved["approval_status"]) == ("approved", "approved")
    assert approved["terms_frozen_at"] is not None and approved["signed_date"] is not None

    schedule = (await client.get(f"{url}/schedule", headers=auth("sales1"))).json()
    assert schedule["frozen"] is True and schedule["total_principal"] == "350000.00"
    rows = (await db.scalars(select(ContractInstalment).where(ContractInstalment.contract_id == contract["id"]))).all()
    assert len(rows) == 12


async def test_below_the_threshold_no_final_step(client, auth, flows, new_contract, act, approval_of):
    await flows()
    contract = await new_contract({**ANNUITY_TERMS, "down_payment": "250000.00"})  # financed 250 000
    url = f"/api/v1/contracts/{contract['id']}"
    assert (await client.post(f"{url}/submit", headers=auth("clerk1"))).status_code == 200
    approval = await approval_of(contract["id"])
    for user in ("approver1", "approver2"):
        assert (await act(user, approval["id"], "approve", {})).status_code == 200
    assert (await client.get(url, headers=auth("clerk1"))).json()["state"] == "approved"


async def test_approval_links_the_contacts_and_secures_the_customer_once(client, auth, flows, new_contract, act,
                                                                         approval_of, db):
    await flows()
    contract = await new_contract({**ANNUITY_TERMS, "down_payment": "250000.00"})
    url = f"/api/v1/contracts/{contract['id']}"
    await client.post(f"{url}/submit", headers=auth("clerk1"))
    approval = await approval_of(contract["id"])
    for user in ("approver1", "approver2"):
        assert (await act(user, approval["id"], "approve", {})).status_code == 200
    links = (await db.execute(select(CustomerContact.contact_id, CustomerContact.relation)
                              .where(CustomerContact.customer_id == contract["customer_id"]))).all()
    assert [(str(c), r) for c, r in links] == [(contract["contacts"][0]["contact_id"], "legal_representative")]
    customer = await db.scalar(select(Customer).where(Customer.id == contract["customer_id"]))
    assert customer.secured_reason == "contract_signed" and customer.secured_at is not None
    secured = await db.scalars(select(CustomerActivity.kind).where(
        CustomerActivity.customer_id == contract["customer_id"], CustomerActivity.kind == "secured"))
    assert len(secured.all()) == 1


async def test_illegal_transitions_answer_409_with_a_stable_code(client, auth, flows, new_contract):
    await flows()
    contract = await new_contract()
    url = f"/api/v1/contracts/{contract['id']}"
    withdrawn = await client.post(f"{url}/withdraw", headers=auth("clerk1"))
    assert withdrawn.status_code == 409 and withdrawn.json()["code"] == "contract.illegal_transition"
    shipment = await client.post(f"{url}/shipment-request", json={}, headers=auth("clerk1"))
    assert shipment.status_code == 409 and shipment.json()["code"] == "contract.illegal_transition"
    assert (await client.post(f"{url}/submit", headers=auth("clerk1"))).status_code == 200
    again = await client.post(f"{url}/submit", headers=auth("clerk1"))
    assert again.status_code == 409 and again.json()["code"] == "contract.illegal_transition"
    cancel = await client.post(f"{url}/cancel", json={"reason": "客户放弃"}, headers=auth("clerk1"))
    assert cancel.status_code == 409 and cancel.json()["code"] == "contract.illegal_transition"
    assert (await client.post(f"{url}/withdraw", headers=auth("clerk1"))).json()["state"] == "draft"
    cancelled = await client.post(f"{url}/cancel", json={"reason": "客户放弃"}, headers=auth("clerk1"))
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert cancelled.json()["machines"][0]["contract_id"] is None
    after = await client.post(f"{url}/submit", headers=auth("clerk1"))
    assert after.status_code == 409 and after.json()["code"] == "contract.illegal_transition"


async def test_a_contract_needs_a_machine_to_be_submitted(client, auth, flows, new_contract):
    await flows()
    contract = await new_contract(machine=False)
    response = await client.post(f"/api/v1/contracts/{contract['id']}/submit", headers=auth("clerk1"))
    assert response.status_code == 422 and response.json()["code"] == "contract.machines_required"


async def test_a_machine_on_a_live_contract_cannot_be_sold_twice(client, auth, new_contract):
    contract = await new_contract()
    machine_id = contract["machines"][0]["id"]
    other = await new_contract(machine=False)
    response = await client.patch(f"/api/v1/contracts/{other['id']}", json={"machine_ids": [machine_id]},
                                  headers=auth("clerk1"))
    assert response.status_code == 409 and response.json()["code"] == "contract.machine_taken"
    assert response.json()["errors"][0]["pointer"] == "/body/machine_ids/0"


async def test_the_customer_must_be_visible_to_the_creator(client, auth, org):
    customer = await client.post("/api/v1/customers", json={"name": "别人的客户有限公司"}, headers=auth("sales2"))
    body = {"customer_id": customer.json()["id"], "terms": ANNUITY_TERMS}
    response = await client.post("/api/v1/contracts", json=body, headers=auth("sales1"))
    assert response.status_code == 404 and response.json()["code"] == "customer.not_found"
    other = await client.post("/api/v1/contracts", json=body, headers=auth("other-admin"))
    assert other.status_code == 404


async def test_scoping_other_tenants_and_out_of_scope_get_404(client, auth, new_contract):
    contract = await new_contract()
    url = f"/api/v1/contracts/{contract['id']}"
    for user in ("other-admin", "sales2", "collector3"):
        response = await client.get(url, headers=auth(user))
        assert response.status_code in (403, 404), (user, response.status_code)
        if response.status_code == 403:  # lacks contract.read altogether
            continue
        assert response.json()["code"] == "contract.not_found"
    assert (await client.get(f"{url}/schedule", headers=auth("other-admin"))).status_code == 404
    changed = await client.patch(url, json={"notes": "x"}, headers=auth("other-admin"))
    assert changed.status_code == 404
    for user in ("sales1", "clerk1", "approver1", "leader", "admin"):
        assert (await client.get(url, headers=auth(user))).status_code == 200, user


async def test_list_filters_and_bounded_queries(client, auth, new_contract, count_queries):
    for _ in range(3):
        await new_contract()
    contract = await new_contract()
    serial = contract["machines"][0]["serial_number"]
    found = await client.get("/api/v1/contracts", params={"machine_serial": serial}, headers=auth("clerk1"))
    assert [c["id"] for c in found.json()["items"]] == [contract["id"]]
    by_number = await client.get("/api/v1/contracts", params={"number": contract["number"]}, headers=auth("clerk1"))
    assert [c["id"] for c in by_number.json()["items"]] == [contract["id"]]
    drafts = await client.get("/api/v1/contracts", params={"state": "draft", "limit": 2}, headers=auth("sales1"))
    assert len(drafts.json()["items"]) == 2 and drafts.json()["next_cursor"]
    await client.get("/api/v1/contracts", params={"limit": 1}, headers=auth("clerk1"))  # a warm caller
    async with count_queries() as small:
        await client.get("/api/v1/contracts", params={"limit": 1}, headers=auth("clerk1"))
    async with count_queries() as large:
        await client.get("/api/v1/contracts", params={"limit": 50}, headers=auth("clerk1"))
    assert large.n == small.n


async def test_a_retried_client_ref_returns_the_first_contract(client, auth, new_contract):
    contract = await new_contract()
    body = {"client_ref": "6f1c8a56-1111-4c5e-9f59-0d1d6c1f0a01", "customer_id": contract["customer_id"],
            "terms": ANNUITY_TERMS}
    first = await client.post("/api/v1/contracts", json=body, headers=auth("sales1"))
    again = await client.post("/api/v1/contracts", json=body, headers=auth("sales1"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"] and first.json()["number"] == again.json()["number"]


async def test_machines_unique_serial_and_gps_id(client, auth):
    machine = await create_machine(client, auth)
    twin = await client.post("/api/v1/machines", headers=auth("clerk1"),
                             json={"model": "X", "serial_number": machine["serial_number"]})
    assert twin.status_code == 409 and twin.json()["code"] == "machine.duplicate_serial_number"
    gps = await client.post("/api/v1/machines", headers=auth("clerk1"),
                            json={"model": "X", "serial_number": "NEW-1", "gps_device_id": machine["gps_device_id"]})
    assert gps.status_code == 409 and gps.json()["code"] == "machine.device_taken"
    url = f"/api/v1/machines/{machine['id']}"
    assert (await client.get(url, headers=auth("other-admin"))).status_code == 404
    stale = await client.patch(url, json={"model": "Y"}, headers=auth("clerk1", **{"If-Match": 'W/"99"'}))
    assert stale.status_code == 412
    updated = await client.patch(url, json={"model": "SY235"}, headers=auth("clerk1"))
    assert updated.status_code == 200 and updated.json()["model"] == "SY235" and updated.json()["version"] == 2


async def test_a_leaving_salespersons_drafts_and_running_contracts_move_to_the_receiver(client, auth, org, flows,
                                                                                       new_contract, db):
    await flows()
    draft, submitted, cancelled = await new_contract(), await new_contract(), await new_contract()
    assert (await client.post(f"/api/v1/contracts/{submitted['id']}/submit", headers=auth("clerk1"))).status_code == 200
    # A closed contract keeps its salesperson of record.
    await db.execute(update(Contract).where(Contract.id == uuid.UUID(cancelled["id"])).values(state="cancelled"))
    response = await client.post("/api/v1/handovers", headers=auth("admin"), json={
        "from_user_id": str(org.users["sales1"].id), "to_user_id": str(org.users["sales2"].id), "reason": "离职"})
    assert response.status_code == 201, response.text
    assert response.json()["moved"]["draft_contracts"] >= 1 and response.json()["moved"]["contracts"] >= 1
    for contract in (draft, submitted):
        moved = (await client.get(f"/api/v1/contracts/{contract['id']}", headers=auth("sales2"))).json()
        assert moved["owner_id"] == str(org.users["sales2"].id)
    kept = (await client.get(f"/api/v1/contracts/{cancelled['id']}", headers=auth("admin"))).json()
    assert kept["owner_id"] == str(org.users["sales1"].id)


async def test_a_first_due_date_before_the_business_dates_month_is_refused_unless_the_caller_migrates_history(
        client, auth, org, new_contract, db):
    today = await business_today(db, org.companies["C01"].id)
    month_start = today.replace(day=1)
    last_month = (month_start - timedelta(days=1)).isoformat()
    draft = await new_contract({**ANNUITY_TERMS, "first_due_date": month_start.isoformat()})  # this month: fine
    customer = (await client.get(f"/api/v1/contracts/{draft['id']}", headers=auth("sales1"))).json()["customer_id"]
    for terms in ({**ANNUITY_TERMS, "first_due_date": last_month}, {**ANNUITY_TERMS, "first_due_date": "2019-03-31"}):
        refused = await client.post("/api/v1/contracts", headers=auth("sales1"),
                                    json={"customer_id": customer, "terms": terms})
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == "terms.first_due_date_in_past"
        assert refused.json()["errors"][0]["pointer"] == "/body/terms/first_due_date"
        patched = await client.patch(f"/api/v1/contracts/{draft['id']}", json={"terms": terms},
                                     headers=auth("clerk1"))
        assert patched.status_code == 422 and patched.json()["code"] == "terms.first_due_date_in_past"
    # Migrating history takes its own permission (the administrator holds every one).
    migrated = await client.post("/api/v1/contracts", headers=auth("admin"), json={
        "customer_id": customer, "terms": {**ANNUITY_TERMS, "first_due_date": "2019-03-31"}})
    assert migrated.status_code == 201, migrated.text
    assert migrated.json()["terms"]["first_due_date"] == date(2019, 3, 31).isoformat()
