"""A department scope follows the owner's current department (customer.owner_department_id, kept
by triggers): a move of the owner or a change of owner shows on the very next request, whichever
way it was written."""

import asyncio
import uuid

from sqlalchemy import select, text

from app.core.principal import ScopeKind
from app.core.security import create_access_token
from app.customers.models import Customer
from app.org.models import Role, User, UserRole
from tests.customers.helpers import create_customer


async def _department_viewer(db, org, company: str = "C01", dept_key: str = "sales") -> dict[str, str]:
    """A user placed in `dept_key` of `company` whose role reads the customers of their department:
    bearer headers."""
    role_id, user_id = uuid.uuid4(), uuid.uuid4()
    db.add_all([
        Role(id=role_id, group_id=org.group.id, code=f"dept-{role_id.hex[:8]}", name="部门经理",
             permissions=["customer.read"], scope_kind=ScopeKind.DEPARTMENT, scope_company_ids=[], rank=20),
        User(id=user_id, group_id=org.group.id, company_id=org.companies[company].id, display_name="部门经理",
             department_id=org.departments[(company, dept_key)].id, username=f"dv-{user_id.hex[:10]}",
             password_hash="x"),
    ])
    await db.flush()
    db.add(UserRole(user_id=user_id, role_id=role_id))
    await db.flush()
    return {"Authorization": f"Bearer {create_access_token(user_id=user_id, group_id=org.group.id)[0]}"}


async def _listed(client, headers) -> set[str]:
    ids: set[str] = set()
    cursor = None
    while True:
        params = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        response = await client.get("/api/v1/customers", params=params, headers=headers)
        assert response.status_code == 200, response.text
        ids |= {c["id"] for c in response.json()["items"]}
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return ids


async def _visible(client, headers, customer_id: str) -> bool:
    detail = (await client.get(f"/api/v1/customers/{customer_id}", headers=headers)).status_code
    listed = customer_id in await _listed(client, headers)
    assert (detail == 200) == listed, (detail, listed)
    assert detail in (200, 404)
    return listed


async def test_moving_the_owner_through_the_org_service_moves_their_customers(client, auth, org, db):
    viewer = await _department_viewer(db, org)
    customer = await create_customer(client, auth, "sales1")
    assert await _visible(client, viewer, customer["id"])
    sales1 = org.users["sales1"].id
    moved = await client.patch(f"/api/v1/users/{sales1}", json={
        "department_id": str(org.departments[("C01", "collections")].id)}, headers=auth("admin"))
    assert moved.status_code == 200, moved.text
    assert not await _visible(client, viewer, customer["id"])
    back = await client.patch(f"/api/v1/users/{sales1}", json={
        "department_id": str(org.departments[("C01", "sales")].id)}, headers=auth("admin"))
    assert back.status_code == 200, back.text
    assert await _visible(client, viewer, customer["id"])


async def test_moving_the_owner_with_raw_sql_moves_their_customers(client, auth, org, db):
    viewer = await _department_viewer(db, org)
    customer = await create_customer(client, auth, "sales1")
    params = {"user": org.users["sales1"].id}
    await db.execute(text("UPDATE app_user SET department_id = :dept WHERE id = :user"),
                     {**params, "dept": org.departments[("C01", "finance")].id})
    await db.commit()
    assert not await _visible(client, viewer, customer["id"])
    # Placed at company level: in no department, so in no department scope.
    await db.execute(text("UPDATE app_user SET department_id = NULL WHERE id = :user"), params)
    await db.commit()
    assert not await _visible(client, viewer, customer["id"])
    assert await db.scalar(select(Customer.owner_department_id).where(Customer.id == uuid.UUID(customer["id"]))
                           .execution_options(populate_existing=True)) is None
    await db.execute(text("UPDATE app_user SET department_id = :dept WHERE id = :user"),
                     {**params, "dept": org.departments[("C01", "sales")].id})
    await db.commit()
    assert await _visible(client, viewer, customer["id"])


async def test_reassigning_the_customer_moves_it_between_departments(client, auth, org, db):
    viewer = await _department_viewer(db, org)
    collections = await _department_viewer(db, org, dept_key="collections")
    customer = await create_customer(client, auth, "sales1")
    assert await _visible(client, viewer, customer["id"]) and not await _visible(client, collections, customer["id"])
    assigned = await client.post("/api/v1/customers/assign", json={
        "customer_ids": [customer["id"]], "to_user_id": str(org.users["dispatcher"].id)}, headers=auth("admin"))
    assert assigned.status_code == 200, assigned.text
    assert not await _visible(client, viewer, customer["id"]) and await _visible(client, collections, customer["id"])
    # Raw SQL too: the trigger, not the service, keeps the column.
    await db.execute(text("UPDATE customer SET owner_id = :owner WHERE id = :id"),
                     {"owner": org.users["sales2"].id, "id": uuid.UUID(customer["id"])})
    await db.commit()
    assert await _visible(client, viewer, customer["id"]) and not await _visible(client, collections, customer["id"])


async def test_the_column_cannot_be_written_out_of_step(client, auth, org, db):
    customer = await create_customer(client, auth, "sales1")
    await db.execute(text("UPDATE customer SET owner_department_id = :dept WHERE id = :id"),
                     {"dept": org.departments[("C01", "finance")].id, "id": uuid.UUID(customer["id"])})
    stored = await db.scalar(text("SELECT owner_department_id FROM customer WHERE id = :id"),
                             {"id": uuid.UUID(customer["id"])})
    assert stored == org.departments[("C01", "sales")].id


async def _insert_customer(conn, org, owner_id: uuid.UUID) -> uuid.UUID:
    customer_id = uuid.uuid4()
    await conn.execute(text(
        "INSERT INTO customer (id, group_id, company_id, kind, name, name_norm, category, owner_id, created_by_id, "
        "status, version) VALUES (:id, :group, :company, 'company', :name, :name, 'intended', :owner, :owner, "
        "'private', 1)"), {"id": customer_id, "group": org.group.id, "company": org.companies["C01"].id,
                           "name": f"并发客户{customer_id.hex[:8]}", "owner": owner_id})
    return customer_id


async def _stored(conn, owner_id: uuid.UUID) -> dict[uuid.UUID, uuid.UUID | None]:
    rows = await conn.execute(text("SELECT id, owner_department_id FROM customer WHERE owner_id = :id"),
                              {"id": owner_id})
    await conn.commit()
    return dict(rows.all())


async def test_a_move_racing_a_new_customer_of_the_mover_never_leaves_it_behind(owner_engine, org):
    """Committed transactions on two connections: a customer inserted while its owner moves ends up
    in the department the owner ends up in, whichever transaction goes first (the insert's read of
    the owner's department holds the owner's row FOR SHARE)."""
    sales, finance = org.departments[("C01", "sales")].id, org.departments[("C01", "finance")].id
    user_id = uuid.uuid4()
    async with owner_engine.connect() as a, owner_engine.connect() as b:
        await a.execute(text(
            "INSERT INTO app_user (id, group_id, company_id, department_id, username, display_name, password_hash, "
            "is_active, failed_login_count, version) VALUES (:id, :group, :company, :dept, :name, :name, 'x', true, "
            "0, 1)"), {"id": user_id, "group": org.group.id, "company": org.companies["C01"].id, "dept": sales,
                       "name": f"race-{user_id.hex[:8]}"})
        await a.commit()
        move = "UPDATE app_user SET department_id = :dept WHERE id = :id"
        try:
            # The insert first: the move waits for it, then finds its row.
            first = await _insert_customer(a, org, user_id)
            moving = asyncio.create_task(b.execute(text(move), {"dept": finance, "id": user_id}))
            await asyncio.sleep(0.3)
            assert not moving.done()
            await a.commit()
            await moving
            await b.commit()
            assert await _stored(a, user_id) == {first: finance}
            # The move first (to company level): the insert waits for it, then reads where the
            # owner went.
            await b.execute(text(move), {"dept": None, "id": user_id})
            inserting = asyncio.create_task(_insert_customer(a, org, user_id))
            await asyncio.sleep(0.3)
            assert not inserting.done()
            await b.commit()
            second = await inserting
            await a.commit()
            assert await _stored(a, user_id) == {first: None, second: None}
        finally:
            await a.rollback()
            await b.rollback()
            await a.execute(text("DELETE FROM customer WHERE owner_id = :id"), {"id": user_id})
            await a.execute(text("DELETE FROM app_user WHERE id = :id"), {"id": user_id})
            await a.execute(text("DELETE FROM authz_stamp WHERE subject_id = :id"), {"id": user_id})
            await a.commit()
