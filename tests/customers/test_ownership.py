"""Assignment by managers and handover of a leaving employee."""

from sqlalchemy import func, select

from app.core.audit import AuditEvent
from tests.customers.helpers import create_contact, create_customer


async def test_a_manager_assigns_customers_to_a_subordinate(client, auth, org, db):
    a = await create_customer(client, auth, "sales1")
    b = await create_customer(client, auth, "sales1")
    response = await client.post("/api/v1/customers/assign", json={
        "customer_ids": [a["id"], b["id"]], "to_user_id": str(org.users["sales2"].id)}, headers=auth("approver1"))
    assert response.status_code == 200, response.text
    assert set(response.json()["assigned"]) == {a["id"], b["id"]}
    assert (await client.get(f"/api/v1/customers/{a['id']}", headers=auth("sales2"))).json()["owner_id"] == \
        str(org.users["sales2"].id)
    assert (await client.get(f"/api/v1/customers/{a['id']}", headers=auth("sales1"))).status_code == 404
    events = await db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "customer.assigned", AuditEvent.entity_id.in_([a["id"], b["id"]])))
    assert events == 2


async def test_assigning_needs_the_permission(client, auth, org):
    a = await create_customer(client, auth, "sales1")
    response = await client.post("/api/v1/customers/assign", json={
        "customer_ids": [a["id"]], "to_user_id": str(org.users["sales2"].id)}, headers=auth("sales1"))
    assert response.status_code == 403


async def test_a_manager_cannot_assign_to_a_superior(client, auth, org):
    a = await create_customer(client, auth, "sales1")
    response = await client.post("/api/v1/customers/assign", json={
        "customer_ids": [a["id"]], "to_user_id": str(org.users["approver2"].id)}, headers=auth("approver1"))
    assert response.status_code == 403 and response.json()["code"] == "org.hierarchy"


async def test_a_manager_cannot_assign_customers_outside_their_scope(client, auth, org):
    c02 = await create_customer(client, auth, "admin", company_id=str(org.companies["C02"].id))
    response = await client.post("/api/v1/customers/assign", json={
        "customer_ids": [c02["id"]], "to_user_id": str(org.users["sales2"].id)}, headers=auth("approver1"))
    assert response.status_code == 404


async def test_creating_for_somebody_else_is_an_assignment(client, auth, org):
    created = await create_customer(client, auth, "admin",
                                    owner_id=str(org.users["sales2"].id))
    assert created["owner_id"] == str(org.users["sales2"].id)
    refused = await client.post("/api/v1/customers", json={"name": "代建客户有限公司",
                                                           "owner_id": str(org.users["sales2"].id)},
                                headers=auth("clerk1"))
    assert refused.status_code == 403


async def test_handover_moves_everything_locks_the_leaver_and_is_one_audit_event(client, auth, org, db):
    customers = [await create_customer(client, auth, "sales1") for _ in range(3)]
    contacts = [await create_contact(client, auth, "sales1", name=f"交接联系人{i}") for i in range(2)]
    response = await client.post("/api/v1/handovers", json={
        "from_user_id": str(org.users["sales1"].id), "to_user_id": str(org.users["sales2"].id),
        "lock_from_user": True}, headers=auth("admin"))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["moved"]["customers"] == 3 and body["moved"]["contacts"] == 2 and body["locked"] is True
    for c in customers:
        seen = await client.get(f"/api/v1/customers/{c['id']}", headers=auth("sales2"))
        assert seen.json()["owner_id"] == str(org.users["sales2"].id)
    for c in contacts:
        assert (await client.get(f"/api/v1/contacts/{c['id']}", headers=auth("sales2"))).json()["masked"] is False
    # The leaver's token no longer works.
    assert (await client.get("/api/v1/customers", headers=auth("sales1"))).status_code == 401
    events = (await db.scalars(select(AuditEvent).where(
        AuditEvent.request_id == response.headers["x-request-id"]))).all()
    assert [e.action for e in events] == ["user.handed_over"]
    assert events[0].after["moved"] == {"customers": 3, "contacts": 2, "customer_shares": 0, "requests": 0,
                                       "approvals": 0, "draft_contracts": 0, "contracts": 0, "investigations": 0,
                                       "open_collection_cases": 0, "tow_tasks": 0, "webhook_subscriptions": 0}
    assert events[0].after["locked"] is True


async def test_handover_without_lock_keeps_the_account(client, auth, org):
    await create_customer(client, auth, "sales1")
    response = await client.post("/api/v1/handovers", json={
        "from_user_id": str(org.users["sales1"].id), "to_user_id": str(org.users["sales2"].id),
        "lock_from_user": False}, headers=auth("admin"))
    assert response.status_code == 201 and response.json()["locked"] is False
    assert (await client.get("/api/v1/customers", headers=auth("sales1"))).status_code == 200


async def test_handover_respects_the_hierarchy(client, auth, org):
    response = await client.post("/api/v1/handovers", json={
        "from_user_id": str(org.users["approver2"].id), "to_user_id": str(org.users["sales2"].id)},
        headers=auth("leader"))
    assert response.status_code == 403  # leader lacks handover.create
    same = await client.post("/api/v1/handovers", json={
        "from_user_id": str(org.users["sales1"].id), "to_user_id": str(org.users["sales1"].id)},
        headers=auth("admin"))
    assert same.status_code == 422 and same.json()["code"] == "handover.same_user"


async def test_handover_hooks_of_later_areas_run_in_the_same_transaction(client, auth, org):
    from app.org import handover

    calls = []

    async def hook(session, ctx):
        calls.append((ctx.from_user.id, ctx.to_user.id))
        return 7

    handover.register_handover_hook("test_cases", hook)
    try:
        response = await client.post("/api/v1/handovers", json={
            "from_user_id": str(org.users["sales1"].id), "to_user_id": str(org.users["sales2"].id),
            "lock_from_user": False}, headers=auth("admin"))
    finally:
        handover._HOOKS.pop("test_cases")
        handover._COVERS.pop("test_cases")
    assert response.json()["moved"]["test_cases"] == 7
    assert calls == [(org.users["sales1"].id, org.users["sales2"].id)]
