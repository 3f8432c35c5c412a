"""The per-worker principal cache is never stale: every change to who somebody is takes effect on
the very next request, in this worker and in any other (a second app on the same database, with
its own cache, stands in for a second worker). Warm, a request resolves its caller in one query."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from app.auth.service import unlock_by_operator
from app.core import clock
from app.core.config import get_settings
from app.core.principal import DataScope, Principal, PrincipalCache, ScopeKind, VerifiedToken
from app.main import create_app
from app.org import repository as org_repo
from app.org.models import Department, Role, User, UserRole
from tests.conftest import token_for

ME = "/api/v1/me"
# Warm, statements per request: the stamp and the endpoint's own (the page of notifications; for
# /me the user with company and group, the department, the roles), plus the harness's SAVEPOINT and
# RELEASE where the app runs BEGIN and COMMIT.
WARM_QUERIES = {"/api/v1/notifications?limit=1": 4, ME: 6}


@pytest.fixture
def other_app(app):
    """A second worker: another app, so another principal cache, on the same database."""
    second = create_app()
    second.state.session_provider = app.state.session_provider
    return second


@pytest.fixture
async def other(other_app) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the second worker."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=other_app), base_url="http://test") as c:
        yield c


async def _warm(headers: dict[str, str], *clients: httpx.AsyncClient) -> dict:
    """Resolve the caller in every worker (twice: the second from the cache) and return /me."""
    bodies = []
    for c in clients:
        for _ in range(2):
            response = await c.get(ME, headers=headers)
            assert response.status_code == 200, response.text
            bodies.append(response.json())
    return bodies[-1]


async def test_each_worker_has_its_own_warm_cache(client, other, app, other_app, auth, org):
    await _warm(auth("clerk1"), client, other)
    caches = app.state.principal_cache, other_app.state.principal_cache
    assert caches[0] is not caches[1]
    assert all(len(cache) == 1 for cache in caches)


async def test_lock_takes_effect_on_the_next_request_in_every_worker(client, other, auth, org):
    clerk = auth("clerk1")
    await _warm(clerk, client, other)
    locked = await client.post(f"/api/v1/users/{org.users['clerk1'].id}/lock", headers=auth("admin"))
    assert locked.status_code == 200, locked.text
    for c in (other, client):
        response = await c.get(ME, headers=clerk)
        assert response.status_code == 401
        assert response.json()["code"] == "auth.invalid_token"
    unlocked = await other.post(f"/api/v1/users/{org.users['clerk1'].id}/unlock", headers=auth("admin"))
    assert unlocked.status_code == 200
    assert (await client.get(ME, headers=clerk)).status_code == 200


async def test_disable_takes_effect_on_the_next_request(client, other, auth, org):
    clerk = auth("clerk1")
    await _warm(clerk, client, other)
    response = await client.patch(f"/api/v1/users/{org.users['clerk1'].id}", json={"is_active": False},
                                  headers=auth("admin"))
    assert response.status_code == 200, response.text
    assert (await other.get(ME, headers=clerk)).status_code == 401


async def test_role_change_takes_effect_on_the_next_request(client, other, auth, org):
    clerk = auth("clerk1")
    before = await _warm(clerk, client, other)
    assert "customer.create" in before["permissions"]
    response = await client.patch(f"/api/v1/users/{org.users['clerk1'].id}",
                                  json={"role_ids": [str(org.roles["collector"].id)]}, headers=auth("admin"))
    assert response.status_code == 200, response.text
    after = (await other.get(ME, headers=clerk)).json()
    assert "customer.create" not in after["permissions"]
    assert after["scope"]["company_ids"] == [] and after["scope"]["kinds"] == [ScopeKind.SELF]
    assert (await other.post("/api/v1/customers", json={}, headers=clerk)).status_code == 403


async def test_permission_override_takes_effect_on_the_next_request(client, other, auth, org):
    clerk = auth("clerk1")
    await _warm(clerk, client, other)
    assert (await other.get("/api/v1/customers?limit=1", headers=clerk)).status_code == 200
    revoked = await client.put(f"/api/v1/users/{org.users['clerk1'].id}/permissions/customer.read",
                               json={"granted": False}, headers=auth("admin"))
    assert revoked.status_code == 204, revoked.text
    assert (await other.get("/api/v1/customers?limit=1", headers=clerk)).status_code == 403
    cleared = await client.delete(f"/api/v1/users/{org.users['clerk1'].id}/permissions/customer.read",
                                  headers=auth("admin"))
    assert cleared.status_code == 204
    assert (await other.get("/api/v1/customers?limit=1", headers=clerk)).status_code == 200


async def test_role_permission_revoke_takes_effect_for_every_holder(client, other, auth, org):
    clerk = auth("clerk1")
    await _warm(clerk, client, other)
    permissions = [p for p in org.roles["clerk"].permissions if p != "customer.read"]
    response = await client.patch(f"/api/v1/roles/{org.roles['clerk'].id}", json={"permissions": permissions},
                                  headers=auth("admin"))
    assert response.status_code == 200, response.text
    assert "customer.read" not in (await other.get(ME, headers=clerk)).json()["permissions"]
    assert (await other.get("/api/v1/customers?limit=1", headers=clerk)).status_code == 403


async def test_role_scope_change_takes_effect_on_the_next_request(client, other, auth, org):
    clerk = auth("clerk1")
    before = await _warm(clerk, client, other)
    assert before["scope"]["company_ids"] == [str(org.companies["C01"].id)]
    response = await client.patch(f"/api/v1/roles/{org.roles['clerk'].id}",
                                  json={"scope_kind": ScopeKind.SELF}, headers=auth("admin"))
    assert response.status_code == 200, response.text
    after = (await other.get(ME, headers=clerk)).json()
    assert after["scope"]["company_ids"] == [] and after["scope"]["kinds"] == [ScopeKind.SELF]


async def _department_tree_role(db, org, username: str) -> None:
    """Give `username` a department-tree role (set up before warming: it bumps the stamp itself)."""
    role = Role(group_id=org.group.id, code=f"tree-{uuid.uuid4().hex[:8]}", name="tree", permissions=["user.read"],
                scope_kind=ScopeKind.DEPARTMENT_TREE, scope_company_ids=[], rank=5)
    db.add(role)
    await db.flush()
    db.add(UserRole(user_id=org.users[username].id, role_id=role.id))
    await db.flush()


async def test_department_move_takes_effect_on_the_next_request(client, other, auth, org, db):
    await _department_tree_role(db, org, "clerk1")
    clerk = auth("clerk1")
    before = await _warm(clerk, client, other)
    assert str(org.departments[("C01", "sales")].id) in before["scope"]["department_ids"]
    finance = org.departments[("C01", "finance")].id
    response = await client.patch(f"/api/v1/users/{org.users['clerk1'].id}", json={"department_id": str(finance)},
                                  headers=auth("admin"))
    assert response.status_code == 200, response.text
    assert (await other.get(ME, headers=clerk)).json()["scope"]["department_ids"] == [str(finance)]


async def test_a_new_sub_department_widens_a_tree_scope_on_the_next_request(client, other, auth, org, db):
    await _department_tree_role(db, org, "clerk1")
    clerk = auth("clerk1")
    await _warm(clerk, client, other)
    sales = org.departments[("C01", "sales")]
    created = await client.post("/api/v1/departments", headers=auth("admin"), json={
        "company_id": str(sales.company_id), "parent_id": str(sales.id), "name": "华南销售组"})
    assert created.status_code == 201, created.text
    assert created.json()["id"] in (await other.get(ME, headers=clerk)).json()["scope"]["department_ids"]


async def test_handover_with_lock_takes_effect_on_the_next_request(client, other, auth, org):
    sales = auth("sales2")
    await _warm(sales, client, other)
    response = await client.post("/api/v1/handovers", headers=auth("admin"), json={
        "from_user_id": str(org.users["sales2"].id), "to_user_id": str(org.users["sales1"].id)})
    assert response.status_code == 201, response.text
    assert (await other.get(ME, headers=sales)).status_code == 401


async def test_changes_outside_the_services_are_seen_too(client, other, auth, org, db):
    """Triggers bump the stamps, so raw SQL, the lockout and scripts/unlock-user cannot forget."""
    clerk, clerk_id = auth("clerk1"), org.users["clerk1"].id
    await _warm(clerk, client, other)
    await db.execute(update(User).where(User.id == clerk_id).values(locked_at=text("now()")))
    assert (await other.get(ME, headers=clerk)).status_code == 401
    assert await unlock_by_operator(db, "clerk1") is not None
    assert (await other.get(ME, headers=clerk)).status_code == 200
    await db.execute(text("UPDATE role SET permissions = array_remove(permissions, 'customer.read') WHERE id = :r"),
                     {"r": org.roles["clerk"].id})
    assert (await client.get("/api/v1/customers?limit=1", headers=clerk)).status_code == 403
    await db.execute(text("UPDATE department SET parent_id = :p WHERE id = :d"), {
        "p": org.departments[("C01", "sales")].id, "d": org.departments[("C01", "finance")].id})
    await db.execute(text("DELETE FROM user_role WHERE user_id = :u"), {"u": clerk_id})
    assert (await other.get(ME, headers=clerk)).json()["permissions"] == []


async def test_unrelated_changes_leave_the_cache_warm(client, auth, org, count_queries):
    clerk = auth("clerk1")
    await _warm(clerk, client)
    renamed = await client.patch(f"/api/v1/users/{org.users['clerk1'].id}", json={"display_name": "陈内勤二"},
                                 headers=auth("admin"))
    assert renamed.status_code == 200
    async with count_queries() as warm:
        assert (await client.get("/api/v1/notifications?limit=1", headers=clerk)).status_code == 200
    assert warm.n <= WARM_QUERIES["/api/v1/notifications?limit=1"]


async def test_a_rolled_back_bump_never_comes_back_as_the_same_stamp(db, org):
    """A stamp read inside a transaction that rolls back must not match a later, different state."""
    user_id = org.users["clerk1"].id
    before = await org_repo.principal_stamp(db, user_id)
    async with db.begin_nested() as savepoint:
        await db.execute(text("DELETE FROM user_role WHERE user_id = :u"), {"u": user_id})
        rolled_back = await org_repo.principal_stamp(db, user_id)
        await savepoint.rollback()
    assert await org_repo.principal_stamp(db, user_id) == before
    await db.execute(update(User).where(User.id == user_id).values(department_id=None))
    after = await org_repo.principal_stamp(db, user_id)
    assert len({before, rolled_back, after}) == 3


@pytest.mark.parametrize("path", ["/api/v1/notifications?limit=1", ME])
async def test_warm_requests_run_a_fixed_number_of_queries(client, auth, org, db, count_queries, path):
    """Warm, resolving the caller is one query whatever the data: more roles and a deeper department
    tree change nothing (cold, it is the stamp plus the three or four queries of loading)."""
    headers = auth("clerk1")
    async with count_queries() as cold:
        assert (await client.get(path, headers=headers)).status_code == 200
    async with count_queries() as warm:
        assert (await client.get(path, headers=headers)).status_code == 200
    assert warm.n == cold.n - 3  # user, roles, overrides
    assert warm.n <= WARM_QUERIES[path]

    await _department_tree_role(db, org, "clerk1")
    for i in range(30):
        db.add(Department(group_id=org.group.id, company_id=org.companies["C01"].id,
                          parent_id=org.departments[("C01", "sales")].id, name=f"组{i}"))
    await db.flush()
    assert (await client.get(path, headers=headers)).status_code == 200  # the stamps moved: reload once
    async with count_queries() as bigger:
        assert (await client.get(path, headers=headers)).status_code == 200
    assert bigger.n == warm.n


async def test_concurrent_requests_through_a_tiny_cache_each_get_their_own_caller(app, engine, org):
    """Many users at once through a cache smaller than them (evicting all the time), each request
    on its own connection as in production: every answer is its own caller's."""
    sessions = async_sessionmaker(engine, expire_on_commit=False)

    @asynccontextmanager
    async def provider():
        async with sessions() as session:  # read-only requests: nothing to clean up
            yield session

    app.state.session_provider = provider
    app.state.principal_cache = PrincipalCache(size=3)
    usernames = [u for u in org.users if org.users[u].group_id == org.group.id] * 4
    tokens = {u: token_for(org, u) for u in usernames}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        responses = await asyncio.gather(*(c.get(ME, headers={"Authorization": f"Bearer {tokens[u]}"})
                                           for u in usernames))
    assert [r.json()["username"] for r in responses] == usernames
    assert len(app.state.principal_cache) == 3


def _principal(user_id: uuid.UUID) -> Principal:
    return Principal(user_id=user_id, group_id=uuid.uuid4(), company_id=None, department_id=None, username="u",
                     permissions=frozenset(), scope=DataScope())


def test_the_cache_is_a_bounded_lru():
    cache = PrincipalCache(size=2)
    a, b, c = (_principal(uuid.uuid4()) for _ in range(3))
    cache.keep_principal((1, 1), a)
    cache.keep_principal((1, 1), b)
    assert cache.principal(a.user_id, (1, 1)) is a  # a is now the most recent
    cache.keep_principal((1, 1), c)
    assert cache.principal(b.user_id, (1, 1)) is None
    assert cache.principal(a.user_id, (1, 1)) is a and cache.principal(c.user_id, (1, 1)) is c
    assert cache.principal(a.user_id, (1, 2)) is None  # only under the stamp it was resolved under
    assert len(cache) == 2


def test_a_remembered_token_expires_like_the_token():
    cache = PrincipalCache(size=2)
    verified = VerifiedToken(uuid.uuid4(), uuid.uuid4(), expires_at=1000.0)
    cache.keep_token("t", verified)
    assert cache.token("t", 999.0) == verified
    assert cache.token("t", 1000.0) is None
    assert cache.token("t", 10.0) is None  # forgotten once expired


async def test_an_expired_token_is_refused_although_remembered(client, app, org):
    settings = get_settings()
    ttl, settings.access_token_ttl_seconds = settings.access_token_ttl_seconds, 1
    try:
        headers = {"Authorization": f"Bearer {token_for(org, 'clerk1')}"}
    finally:
        settings.access_token_ttl_seconds = ttl
    assert (await client.get(ME, headers=headers)).status_code == 200
    remembered = app.state.principal_cache.token(headers["Authorization"].removeprefix("Bearer "), 0)
    assert remembered is not None
    await asyncio.sleep(max(0.0, remembered.expires_at + 1.05 - clock.timestamp()))
    response = await client.get(ME, headers=headers)
    assert response.status_code == 401 and response.json()["code"] == "auth.invalid_token"
