"""The group-wide duplicate check and contact duplicate rules."""

from app.customers.normalize import normalize_name, normalize_phone
from tests.customers.helpers import create_contact, create_customer, insert_customer


def test_names_are_normalised_for_width_case_spaces_punctuation_and_suffixes():
    assert normalize_name("上海宏达机械有限公司") == normalize_name("上海 宏达机械") == "上海宏达机械"
    assert normalize_name("ＡＢＣ（上海）股份有限公司") == normalize_name("abc 上海") == "abc上海"
    assert normalize_name("宏达机械有限责任公司") == "宏达机械"


def test_phones_are_normalised_to_e164_in_region_cn():
    assert normalize_phone("138-1234-5678") == normalize_phone("+86 138 1234 5678") == "+8613812345678"
    assert normalize_phone("not a phone") is None


async def test_duplicate_check_finds_the_company_by_a_spaced_shortened_name(client, auth):
    await create_customer(client, auth, "sales1", name="上海宏达机械有限公司")
    hits = (await client.get("/api/v1/customers/duplicates", params={"name": "上海 宏达机械"},
                             headers=auth("sales2"))).json()["items"]
    assert hits[0]["name"] == "上海宏达机械有限公司" and hits[0]["matched_on"] == "name"


async def test_duplicate_check_is_fuzzy(client, auth):
    await create_customer(client, auth, "sales1", name="上海宏达机械设备有限公司")
    hits = (await client.get("/api/v1/customers/duplicates", params={"name": "宏达机械"},
                             headers=auth("sales2"))).json()["items"]
    assert "上海宏达机械设备有限公司" in [h["name"] for h in hits]


async def test_duplicate_check_finds_a_contact_by_a_differently_written_mobile(client, auth):
    customer = await create_customer(client, auth, "sales1", name="苏州联合机械有限公司")
    contact = await create_contact(client, auth, "sales1", name="李四", mobile="+8613812345678")
    await client.post(f"/api/v1/customers/{customer['id']}/contacts", json={"contact_id": contact["id"]},
                      headers=auth("sales1"))
    hits = (await client.get("/api/v1/customers/duplicates", params={"phone": "138-1234-5678"},
                             headers=auth("sales2"))).json()["items"]
    assert [(h["type"], h["name"], h["matched_on"]) for h in hits] == [("customer", "苏州联合机械有限公司", "phone")]


async def test_duplicate_check_finds_an_unlinked_contact_by_mobile_name_and_email(client, auth):
    await create_contact(client, auth, "sales1", name="王五", mobile="13900001111", email="Wang@Example.com")
    for params in ({"phone": "139 0000 1111"}, {"contact_name": "王五"}, {"email": "wang@example.com"}):
        hits = (await client.get("/api/v1/customers/duplicates", params=params, headers=auth("sales2"))).json()["items"]
        assert [(h["type"], h["name"]) for h in hits] == [("contact", "王五")], params


async def test_duplicate_check_shows_only_name_status_and_claimability_group_wide(client, auth, org, db):
    await create_customer(client, auth, "sales1", name="南京恒通工程有限公司", phones=["13700001234"])
    pooled = await insert_customer(db, org, name="南京恒通工程机械有限公司")
    hits = (await client.get("/api/v1/customers/duplicates", params={"name": "南京恒通工程"},
                             headers=auth("sales2"))).json()["items"]
    assert {h["name"]: (h["status"], h["claimable"]) for h in hits} == {
        "南京恒通工程有限公司": ("negotiating", False), "南京恒通工程机械有限公司": ("unfollowed", True)}
    assert set(hits[0]) == {"type", "id", "name", "status", "claimable", "matched_on"}
    # Claimable from there.
    assert (await client.post(f"/api/v1/customers/{pooled.id}/claim", headers=auth("sales2"))).status_code == 200
    other = (await client.get("/api/v1/customers/duplicates", params={"name": "南京恒通工程"},
                              headers=auth("other-admin"))).json()["items"]
    assert other == []


async def test_duplicate_check_reports_signed_customers(client, auth):
    await create_customer(client, auth, "sales1", name="合肥长江重工有限公司", category="signed")
    hits = (await client.get("/api/v1/customers/duplicates", params={"name": "合肥长江重工"},
                             headers=auth("sales2"))).json()["items"]
    assert hits[0]["status"] == "signed"


async def test_duplicate_check_needs_a_search_field(client, auth):
    response = await client.get("/api/v1/customers/duplicates", headers=auth("sales1"))
    assert response.status_code == 422 and response.json()["code"] == "customer.duplicate_check_empty"


async def test_an_exact_duplicate_mobile_is_refused_unless_confirmed(client, auth, org):
    first = await create_contact(client, auth, "sales1", name="赵六", mobile="13600001111")
    refused = await client.post("/api/v1/contacts", json={"name": "赵六2", "mobile": "136-0000-1111"},
                                headers=auth("sales2"))
    assert refused.status_code == 409 and refused.json()["code"] == "contact.duplicate_mobile"
    # sales2 may not see sales1's contact: the problem says a duplicate exists, but not which.
    assert refused.json()["duplicates"] == [{"field": "mobile", "contact_id": None, "name": None}]
    confirmed = await client.post("/api/v1/contacts", json={"name": "赵六2", "mobile": "13600001111",
                                                            "confirm_duplicate": True}, headers=auth("sales2"))
    assert confirmed.status_code == 201
    # The owner sees which record it duplicates.
    mine = await client.post("/api/v1/contacts", json={"name": "赵六3", "mobile": "13600001111",
                                                       "confirm_duplicate": True}, headers=auth("sales1"))
    assert {"field": "mobile", "contact_id": first["id"], "name": "赵六"} in mine.json()["warnings"]


async def test_duplicate_office_phone_or_email_only_warns(client, auth):
    await create_contact(client, auth, "sales1", name="钱七", office_phone="021-62345678", email="q7@example.com")
    created = await client.post("/api/v1/contacts", json={"name": "钱七二", "office_phone": "02162345678",
                                                          "email": "Q7@example.com"}, headers=auth("sales1"))
    assert created.status_code == 201
    assert {w["field"] for w in created.json()["warnings"]} == {"office_phone", "email"}


async def test_editing_a_contact_checks_duplicates_too(client, auth):
    await create_contact(client, auth, "sales1", name="孙八", mobile="13500001111")
    other = await create_contact(client, auth, "sales1", name="孙九", mobile="13500002222")
    response = await client.patch(f"/api/v1/contacts/{other['id']}", json={"mobile": "13500001111"},
                                  headers=auth("sales1"))
    assert response.status_code == 409 and response.json()["code"] == "contact.duplicate_mobile"


async def test_same_identity_number_is_the_same_person(client, auth):
    contact = await create_contact(client, auth, "sales1", name="周九", id_number="31010119900101123X")
    customer = await create_customer(client, auth, "sales1", kind="individual", name="周九",
                                     id_number="31010119900101123x")
    detail = (await client.get(f"/api/v1/customers/{customer['id']}", headers=auth("sales1"))).json()
    assert [(c["contact_id"], c["relation"]) for c in detail["contacts"]] == [(contact["id"], "self")]
    again = await client.post("/api/v1/contacts", json={"name": "周九", "id_number": "31010119900101123X"},
                              headers=auth("sales2"))
    assert again.status_code == 409 and again.json()["code"] == "contact.same_person"


async def test_contacts_link_to_several_customers_with_a_relation(client, auth):
    contact = await create_contact(client, auth, "sales1", name="吴十")
    a = await create_customer(client, auth, "sales1")
    b = await create_customer(client, auth, "sales1")
    for customer, relation in ((a, "legal_representative"), (b, "guarantor")):
        linked = await client.post(f"/api/v1/customers/{customer['id']}/contacts",
                                   json={"contact_id": contact["id"], "relation": relation}, headers=auth("sales1"))
        assert linked.status_code == 201
    listed = (await client.get(f"/api/v1/customers/{b['id']}/contacts", headers=auth("sales1"))).json()
    assert [(c["name"], c["relation"]) for c in listed] == [("吴十", "guarantor")]
    unlinked = await client.delete(f"/api/v1/customers/{b['id']}/contacts/{contact['id']}", headers=auth("sales1"))
    assert unlinked.status_code == 204
    assert (await client.get(f"/api/v1/customers/{b['id']}/contacts", headers=auth("sales1"))).json() == []


async def test_contact_phones_visible_to_those_whose_scope_covers_the_owner(client, auth):
    contact = await create_contact(client, auth, "sales1", name="郑十一", mobile="13400001111")
    clerk = (await client.get(f"/api/v1/contacts/{contact['id']}", headers=auth("clerk1"))).json()
    assert clerk["mobile"] == "13400001111" and clerk["masked"] is False
    # collector3 (C02, own records only) cannot see it at all.
    assert (await client.get(f"/api/v1/contacts/{contact['id']}", headers=auth("collector3"))).status_code == 404
    listed = (await client.get("/api/v1/contacts", headers=auth("sales2"))).json()["items"]
    assert contact["id"] not in [c["id"] for c in listed]
