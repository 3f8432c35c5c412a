"""Customers through the API: data scope, masking, edits with If-Match, soft deletion, sharing."""

from sqlalchemy import select

from app.core.audit import AuditEvent
from tests.conftest import new_id
from tests.customers.helpers import create_contact, create_customer, insert_customer, unique_name


async def test_salesperson_b_cannot_see_salesperson_a_customer(client, auth):
    mine = await create_customer(client, auth, "sales1")
    hidden = await client.get(f"/api/v1/customers/{mine['id']}", headers=auth("sales2"))
    assert hidden.status_code == 404
    assert hidden.json()["code"] == "customer.not_found"
    listed = (await client.get("/api/v1/customers", headers=auth("sales2"))).json()["items"]
    assert mine["id"] not in [c["id"] for c in listed]
    own = await client.get(f"/api/v1/customers/{mine['id']}", headers=auth("sales1"))
    assert own.status_code == 200 and own.headers["etag"] == 'W/"1"'


async def test_salesperson_b_cannot_see_the_phone_numbers_of_a_contacts(client, auth, org):
    customer = await create_customer(client, auth, "sales1")
    contact = await create_contact(client, auth, "sales1", mobile="13812345678", email="zhang@example.com")
    await client.post(f"/api/v1/customers/{customer['id']}/contacts", json={"contact_id": contact["id"],
                                                                             "relation": "purchaser"},
                      headers=auth("sales1"))
    assert (await client.get(f"/api/v1/contacts/{contact['id']}", headers=auth("sales2"))).status_code == 404
    # Shared read-only: B sees the customer and the contact's name, but not the phone.
    shared = await client.post(f"/api/v1/customers/{customer['id']}/shares",
                               json={"user_ids": [str(org.users["sales2"].id)], "can_edit": False},
                               headers=auth("sales1"))
    assert shared.status_code == 201, shared.text
    detail = (await client.get(f"/api/v1/customers/{customer['id']}", headers=auth("sales2"))).json()
    linked = detail["contacts"][0]
    assert linked["name"] == "张三" and linked["masked"] is True
    assert linked["mobile"] == "138****5678" and linked["email"] == "z***@example.com"
    seen = (await client.get(f"/api/v1/contacts/{contact['id']}", headers=auth("sales2"))).json()
    assert seen["mobile"] == "138****5678"
    # The owner sees it in full.
    own = (await client.get(f"/api/v1/contacts/{contact['id']}", headers=auth("sales1"))).json()
    assert own["mobile"] == "13812345678" and own["masked"] is False


async def test_an_edit_share_shows_the_contacts_phones(client, auth, org):
    customer = await create_customer(client, auth, "sales1")
    contact = await create_contact(client, auth, "sales1", mobile="13812340001")
    await client.post(f"/api/v1/customers/{customer['id']}/contacts", json={"contact_id": contact["id"]},
                      headers=auth("sales1"))
    await client.post(f"/api/v1/customers/{customer['id']}/shares",
                      json={"user_ids": [str(org.users["sales2"].id)], "can_edit": True}, headers=auth("sales1"))
    detail = (await client.get(f"/api/v1/customers/{customer['id']}", headers=auth("sales2"))).json()
    assert detail["contacts"][0]["mobile"] == "13812340001"
    assert detail["shares"][0]["can_edit"] is True


async def test_leader_sees_customers_of_c01_to_c07_only(client, auth, org):
    ids = {}
    for code in ("C01", "C07", "C08"):
        created = await create_customer(client, auth, "admin", company_id=str(org.companies[code].id))
        ids[code] = created["id"]
    listed = {c["id"] for c in (await client.get("/api/v1/customers", params={"limit": 200},
                                                 headers=auth("leader"))).json()["items"]}
    assert ids["C01"] in listed and ids["C07"] in listed and ids["C08"] not in listed
    assert (await client.get(f"/api/v1/customers/{ids['C08']}", headers=auth("leader"))).status_code == 404
    assert (await client.get(f"/api/v1/customers/{ids['C07']}", headers=auth("leader"))).status_code == 200


async def test_other_group_never_sees_demo_customers(client, auth):
    mine = await create_customer(client, auth, "sales1")
    assert (await client.get(f"/api/v1/customers/{mine['id']}", headers=auth("other-admin"))).status_code == 404


async def test_identity_numbers_and_phones_are_masked_for_read_only_sharers(client, auth, org):
    customer = await create_customer(client, auth, "sales1", credit_code="91310000MA1K123412",
                                     phones=["138-1234-5678"])
    assert customer["credit_code"] == "91310000MA1K123412" and customer["phones"] == ["13812345678"]
    await client.post(f"/api/v1/customers/{customer['id']}/shares",
                      json={"user_ids": [str(org.users["sales2"].id)]}, headers=auth("sales1"))
    seen = (await client.get(f"/api/v1/customers/{customer['id']}", headers=auth("sales2"))).json()
    assert seen["credit_code"] == "91310000****3412"
    assert seen["phones"] == ["138****5678"] and seen["masked"] is True
    # A company-scope clerk covers the customer: full view.
    clerk = (await client.get(f"/api/v1/customers/{customer['id']}", headers=auth("clerk1"))).json()
    assert clerk["credit_code"] == "91310000MA1K123412" and clerk["masked"] is False


async def test_read_share_cannot_edit_but_edit_share_can(client, auth, org):
    customer = await create_customer(client, auth, "sales1")
    url = f"/api/v1/customers/{customer['id']}"
    assert (await client.patch(url, json={"grade": "A"}, headers=auth("sales2"))).status_code == 404
    await client.post(f"{url}/shares", json={"user_ids": [str(org.users["sales2"].id)]}, headers=auth("sales1"))
    read_only = await client.patch(url, json={"grade": "A"}, headers=auth("sales2"))
    assert read_only.status_code == 403 and read_only.json()["code"] == "scope.read_only"
    await client.post(f"{url}/shares", json={"user_ids": [str(org.users["sales2"].id)], "can_edit": True},
                      headers=auth("sales1"))
    edited = await client.patch(url, json={"grade": "A"}, headers=auth("sales2"))
    assert edited.status_code == 200 and edited.json()["grade"] == "A"


async def test_only_owner_or_administrator_shares(client, auth, org):
    customer = await create_customer(client, auth, "sales1")
    url = f"/api/v1/customers/{customer['id']}/shares"
    await client.post(url, json={"user_ids": [str(org.users["sales2"].id)], "can_edit": True},
                      headers=auth("sales1"))
    reshare = await client.post(url, json={"user_ids": [str(org.users["collector1"].id)]}, headers=auth("sales2"))
    assert reshare.status_code == 403 and reshare.json()["code"] == "customer.share_not_allowed"
    by_admin = await client.post(url, json={"user_ids": [str(org.users["collector1"].id)]}, headers=auth("admin"))
    assert by_admin.status_code == 201


async def test_sharing_is_revocable_and_audited(client, auth, org, db):
    customer = await create_customer(client, auth, "sales1")
    url = f"/api/v1/customers/{customer['id']}"
    await client.post(f"{url}/shares", json={"user_ids": [str(org.users["sales2"].id)]}, headers=auth("sales1"))
    assert (await client.get(url, headers=auth("sales2"))).status_code == 200
    revoked = await client.delete(f"{url}/shares/{org.users['sales2'].id}", headers=auth("sales1"))
    assert revoked.status_code == 204
    assert (await client.get(url, headers=auth("sales2"))).status_code == 404
    actions = (await db.scalars(select(AuditEvent.action).where(AuditEvent.entity_id == customer["id"]))).all()
    assert {"customer.created", "customer.shared", "customer.unshared"} <= set(actions)


async def test_edits_need_a_current_if_match(client, auth):
    customer = await create_customer(client, auth, "sales1")
    url = f"/api/v1/customers/{customer['id']}"
    ok = await client.patch(url, json={"notes": "first"}, headers=auth("sales1", **{"If-Match": 'W/"1"'}))
    assert ok.status_code == 200 and ok.headers["etag"] == 'W/"2"'
    stale = await client.patch(url, json={"notes": "second"}, headers=auth("sales1", **{"If-Match": 'W/"1"'}))
    assert stale.status_code == 412


async def test_deletion_is_soft_and_audited(client, auth, db):
    customer = await create_customer(client, auth, "admin")
    url = f"/api/v1/customers/{customer['id']}"
    assert (await client.delete(url, headers=auth("sales1"))).status_code == 403  # no customer.delete
    assert (await client.delete(url, headers=auth("admin"))).status_code == 204
    assert (await client.get(url, headers=auth("admin"))).status_code == 404
    from app.customers.models import Customer

    row = await db.get(Customer, customer["id"])
    assert row is not None and row.deleted_at is not None
    actions = (await db.scalars(select(AuditEvent.action).where(AuditEvent.entity_id == customer["id"]))).all()
    assert "customer.deleted" in actions


async def test_exact_duplicate_name_is_refused_unless_confirmed(client, auth):
    await create_customer(client, auth, "sales1", name="上海宏达机械有限公司")
    again = await client.post("/api/v1/customers", json={"name": "上海 宏达机械（有限公司）"}, headers=auth("sales2"))
    assert again.status_code == 409 and again.json()["code"] == "customer.duplicate_name"
    confirmed = await client.post("/api/v1/customers", json={"name": "上海宏达机械", "confirm_duplicate": True},
                                  headers=auth("sales2"))
    assert confirmed.status_code == 201
    assert any(w["name"] == "上海宏达机械有限公司" for w in confirmed.json()["warnings"])


async def test_same_credit_code_is_always_refused(client, auth):
    await create_customer(client, auth, "sales1", credit_code="91310000MA1K999999")
    again = await client.post("/api/v1/customers", json={"name": unique_name(), "credit_code": "91310000MA1K999999",
                                                         "confirm_duplicate": True}, headers=auth("sales2"))
    assert again.status_code == 409 and again.json()["code"] == "customer.duplicate_identity"


async def test_invalid_phone_is_a_validation_problem_with_pointer(client, auth):
    response = await client.post("/api/v1/customers", json={"name": unique_name(), "phones": ["12"]},
                                 headers=auth("sales1"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/body/phones/0"


async def test_list_filters_sorts_and_paginates(client, auth, org):
    for grade in ("A", "B", "A"):
        await create_customer(client, auth, "sales2", grade=grade)
    page1 = (await client.get("/api/v1/customers", params={"grade": "A", "limit": 1, "sort": "name"},
                              headers=auth("sales2"))).json()
    assert len(page1["items"]) == 1 and page1["next_cursor"]
    page2 = (await client.get("/api/v1/customers", params={"grade": "A", "limit": 1, "sort": "name",
                                                           "cursor": page1["next_cursor"]},
                              headers=auth("sales2"))).json()
    assert len(page2["items"]) == 1 and page2["items"][0]["id"] != page1["items"][0]["id"]
    assert page2["items"][0]["name"] > page1["items"][0]["name"]
    by_owner = (await client.get("/api/v1/customers", params={"owner_id": str(org.users["sales2"].id)},
                                 headers=auth("clerk1"))).json()["items"]
    assert len(by_owner) == 3
    searched = (await client.get("/api/v1/customers", params={"q": by_owner[0]["name"][2:-4]},
                                 headers=auth("clerk1"))).json()["items"]
    assert by_owner[0]["id"] in [c["id"] for c in searched]


async def test_protection_expiring_filter(client, auth, org, db):
    soon = await insert_customer(db, org, owner="sales1", protected_days=2)
    later = await insert_customer(db, org, owner="sales1", protected_days=12)
    from datetime import timedelta

    from app.core.db import utcnow

    items = (await client.get("/api/v1/customers", params={
        "protection_expiring_before": (utcnow() + timedelta(days=5)).isoformat()},
        headers=auth("sales1"))).json()["items"]
    ids = {c["id"] for c in items}
    assert str(soon.id) in ids and str(later.id) not in ids


async def test_unknown_customer_answers_404_problem(client, auth):
    response = await client.get(f"/api/v1/customers/{new_id()}", headers=auth("admin"))
    assert response.status_code == 404 and response.headers["content-type"] == "application/problem+json"


async def test_the_detail_lists_contacts_only_to_those_who_may_read_contacts(client, auth, org):
    customer = await create_customer(client, auth, "sales1")
    contact = await create_contact(client, auth, "sales1", name="保密联系人")
    await client.post(f"/api/v1/customers/{customer['id']}/contacts", json={"contact_id": contact["id"]},
                      headers=auth("sales1"))
    await client.post(f"/api/v1/customers/{customer['id']}/shares",
                      json={"user_ids": [str(org.users["investigator1"].id)]}, headers=auth("sales1"))
    detail = (await client.get(f"/api/v1/customers/{customer['id']}", headers=auth("investigator1"))).json()
    assert detail["contacts"] == [] and detail["name"] == customer["name"]


async def test_lists_run_a_bounded_number_of_queries(client, auth, org, db, count_queries):
    async def statements_for_list() -> int:
        async with count_queries() as counted:
            response = await client.get("/api/v1/customers", params={"limit": 200}, headers=auth("clerk1"))
        assert response.status_code == 200
        return counted.n

    await statements_for_list()  # the first request also loads clerk1's principal into the cache
    for _ in range(2):
        await insert_customer(db, org, owner="sales1")
    few = await statements_for_list()
    for _ in range(20):
        await insert_customer(db, org, owner="sales2")
    many = await statements_for_list()
    assert few == many


async def test_an_explicit_null_on_a_required_field_is_refused_and_clears_an_optional_one(client, auth):
    customer = await create_customer(client, auth, "sales1", email="a@example.com")
    url = f"/api/v1/customers/{customer['id']}"
    etag = (await client.get(url, headers=auth("sales1"))).headers["ETag"]
    refused = await client.patch(url, json={"name": None}, headers={**auth("sales1"), "If-Match": etag})
    assert refused.status_code == 422 and refused.json()["code"] == "request.field_not_nullable"
    cleared = await client.patch(url, json={"email": None}, headers={**auth("sales1"), "If-Match": etag})
    assert cleared.status_code == 200 and cleared.json()["email"] is None
    assert cleared.headers["ETag"] != etag
