"""The request floor's scenarios (scripts/bench/floor.py, issue 16) run a bounded number of SQL
statements: as many with a lot more data as with little.

Each measurement follows a warm-up request, so a principal cached by the first request (or loaded
again after a change of roles) counts the same way on both sides of the comparison.
"""

import uuid

from app.core.db import utcnow
from app.demo.seed import DEMO_PASSWORD
from app.notifications.models import Notification
from app.org.models import Role, UserRole
from tests.customers.helpers import create_contact, create_customer, insert_customer, unique_name


async def _statements(client, count_queries, method: str, url: str, expect: int = 200, **kwargs) -> int:
    await client.request(method, url, **kwargs)  # warm-up
    async with count_queries() as counted:
        response = await client.request(method, url, **kwargs)
    assert response.status_code == expect, response.text
    return counted.n


async def test_the_no_op_runs_the_same_statements_with_many_notifications(client, auth, org, db, count_queries):
    few = await _statements(client, count_queries, "GET", "/api/v1/notifications?limit=1", headers=auth("admin"))
    admin = org.users["admin"]
    db.add_all(Notification(id=uuid.uuid4(), group_id=org.group.id, user_id=admin.id, kind="test", title=f"n{i}",
                            created_at=utcnow()) for i in range(40))
    await db.flush()
    many = await _statements(client, count_queries, "GET", "/api/v1/notifications?limit=1", headers=auth("admin"))
    assert few == many


async def test_me_runs_the_same_statements_with_more_roles(client, auth, org, db, count_queries):
    few = await _statements(client, count_queries, "GET", "/api/v1/me", headers=auth("clerk1"))
    clerk = org.users["clerk1"]
    for i in range(6):
        role = Role(id=uuid.uuid4(), group_id=org.group.id, code=f"extra{i}", name=f"额外角色{i}",
                    permissions=["customer.read"], scope_kind="self", scope_company_ids=[], rank=1)
        db.add(role)
        await db.flush()
        db.add(UserRole(user_id=clerk.id, role_id=role.id))
    await db.flush()
    many = await _statements(client, count_queries, "GET", "/api/v1/me", headers=auth("clerk1"))
    assert few == many


async def test_a_customer_detail_runs_the_same_statements_with_more_contacts_and_shares(
        client, auth, org, count_queries):
    customer = await create_customer(client, auth, "sales1")
    url = f"/api/v1/customers/{customer['id']}"
    # One of each first: an empty relation may skip its query, which is not growth.
    await _link_contact(client, auth, customer["id"])
    await _share(client, auth, org, url, "investigator1")
    few = await _statements(client, count_queries, "GET", url, headers=auth("admin"))
    for _ in range(5):
        await _link_contact(client, auth, customer["id"])
    await _share(client, auth, org, url, "sales2", "clerk1", "collector1")
    many = await _statements(client, count_queries, "GET", url, headers=auth("admin"))
    assert few == many


async def _share(client, auth, org, url: str, *usernames: str) -> None:
    shared = await client.post(f"{url}/shares", headers=auth("sales1"),
                               json={"user_ids": [str(org.users[u].id) for u in usernames]})
    assert shared.status_code < 300, shared.text


async def _link_contact(client, auth, customer_id: str) -> None:
    contact = await create_contact(client, auth, "sales1")
    linked = await client.post(f"/api/v1/customers/{customer_id}/contacts", json={"contact_id": contact["id"]},
                               headers=auth("sales1"))
    assert linked.status_code < 300, linked.text


async def test_a_list_page_runs_the_same_statements_with_more_customers(client, auth, org, db, count_queries):
    for owner in ("sales1", "sales2", "clerk1"):  # a page that is not empty: an empty one skips its lookups
        await insert_customer(db, org, owner=owner)
    few = await _statements(client, count_queries, "GET", "/api/v1/customers?limit=50", headers=auth("clerk1"))
    for i in range(60):
        await insert_customer(db, org, owner=("sales1", "sales2", "clerk1")[i % 3])
    many = await _statements(client, count_queries, "GET", "/api/v1/customers?limit=50", headers=auth("clerk1"))
    assert few == many


async def test_a_create_runs_the_same_statements_with_more_customers(client, auth, org, db, count_queries):
    async def create() -> int:
        await create_customer(client, auth, "sales1")  # warm-up
        async with count_queries() as counted:
            await create_customer(client, auth, "sales1")
        return counted.n

    few = await create()
    for _ in range(40):
        await insert_customer(db, org, owner="sales1", name=unique_name())
    many = await create()
    assert few == many


async def test_a_login_runs_the_same_statements_however_many_sessions_exist(client, count_queries):
    form = {"username": "clerk1", "password": DEMO_PASSWORD}
    few = await _statements(client, count_queries, "POST", "/api/v1/auth/token", data=form)
    for _ in range(5):
        assert (await client.post("/api/v1/auth/token", data=form)).status_code == 200
    many = await _statements(client, count_queries, "POST", "/api/v1/auth/token", data=form)
    assert few == many
