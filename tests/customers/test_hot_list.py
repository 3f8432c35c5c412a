"""The customer list takes the hot path (app/core/hotsql.py): whatever the caller's scope and
shares, and whichever sort, it answers exactly what the models would write, page by page, masking
included (owner, read-only and edit sharers, role scope)."""

import pytest

from app.core.pagination import PageParams, SortKey
from app.core.pagination import paginate as model_paginate
from app.customers import repository as repo
from app.customers import views
from app.customers.models import Customer
from app.customers.router import CustomerFilters
from app.org.repository import load_principal
from tests.customers.helpers import create_customer, unique_name
from tests.pages import every_page

SORTS = {"-created_at": SortKey("-created_at", Customer.created_at, True), "name": SortKey("name", Customer.name)}


async def _model_pages(db, principal, filters, sort, limit):
    pages, cursor = [], None
    while True:
        stmt = repo.filter_customers(repo.readable_customers(principal), filters)
        rows, cursor = await model_paginate(db, stmt, PageParams(limit, cursor, "/api/v1/customers"), SORTS[sort],
                                            Customer.id)
        items = await views.customer_views(db, principal, rows)
        pages.append({"items": [i.model_dump(mode="json") for i in items], "next_cursor": cursor})
        if cursor is None:
            return pages


@pytest.mark.parametrize("user", ["sales1", "sales2", "clerk1", "admin"])
@pytest.mark.parametrize("sort", ["-created_at", "name"])
async def test_the_hot_customer_list_answers_exactly_what_the_models_would(client, auth, db, org, user, sort):
    created = [await create_customer(client, auth, name=unique_name("热路径"), phones=["138-1234-5678"],
                                     email="boss@example.com") for _ in range(3)]
    sales2 = str(org.users["sales2"].id)
    for customer, can_edit in ((created[0], False), (created[1], True)):
        shared = await client.post(f"/api/v1/customers/{customer['id']}/shares", headers=auth("sales1"),
                                   json={"user_ids": [sales2], "can_edit": can_edit})
        assert shared.status_code == 201, shared.text
    principal = await load_principal(db, org.users[user].id)
    filters = CustomerFilters(q="热路径")

    expected = await _model_pages(db, principal, filters, sort, 2)
    got = await every_page(client, f"/api/v1/customers?limit=2&sort={sort}&q=热路径", auth(user))
    assert got == expected
    seen = {i["id"]: i for page in got for i in page["items"]}
    if user == "sales2":  # the read-only share masks, the edit share does not; the third is not theirs
        assert seen[created[0]["id"]]["masked"] and not seen[created[1]["id"]]["masked"]
        assert created[2]["id"] not in seen and seen[created[0]["id"]]["phones"] == ["138****5678"]


@pytest.mark.parametrize("user", ["sales1", "sales2", "clerk1", "admin"])
async def test_the_hot_customer_detail_answers_exactly_what_the_models_would(client, auth, db, org, user):
    customer = await create_customer(client, auth, name=unique_name("详情"), phones=["139-8765-4321"],
                                     email="boss@example.com")
    for name, mobile in (("王经理", "13811112222"), ("李会计", "13933334444")):
        contact = await client.post("/api/v1/contacts", headers=auth("sales1"),
                                    json={"name": name, "mobile": mobile, "email": "x@example.com"})
        assert contact.status_code == 201, contact.text
        linked = await client.post(f"/api/v1/customers/{customer['id']}/contacts", headers=auth("sales1"),
                                   json={"contact_id": contact.json()["id"], "relation": "guarantor"})
        assert linked.status_code in (200, 201), linked.text
    shared = await client.post(f"/api/v1/customers/{customer['id']}/shares", headers=auth("sales1"),
                               json={"user_ids": [str(org.users["sales2"].id)], "can_edit": False})
    assert shared.status_code == 201, shared.text
    principal = await load_principal(db, org.users[user].id)

    response = await client.get(f"/api/v1/customers/{customer['id']}", headers=auth(user))
    assert response.status_code == 200, response.text
    orm = await repo.get_customer(db, principal, customer["id"])
    model = await views.customer_detail(db, principal, orm)
    assert response.json() == model.model_dump(mode="json")
    assert response.headers["etag"] and len(model.contacts) == 2 and len(model.shares) == 1
    if user == "sales2":
        assert model.masked and all(c.masked for c in model.contacts)


async def test_a_customer_out_of_scope_is_404_on_the_hot_detail(client, auth, org):
    customer = await create_customer(client, auth, name=unique_name("看不见"))
    response = await client.get(f"/api/v1/customers/{customer['id']}", headers=auth("collector3"))
    assert response.status_code == 404 and response.json()["code"] == "customer.not_found"
