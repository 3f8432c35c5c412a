"""Nobody but the system administrator changes a user of their own level or above, or gives away
a permission they do not hold."""

from app.core.principal import ScopeKind


async def _make_role(client, auth, who, **fields):
    body = {"code": fields.pop("code"), "name": "r", "scope_kind": ScopeKind.COMPANY, **fields}
    return await client.post("/api/v1/roles", json=body, headers=auth(who))


async def test_system_admin_changes_anybody(client, auth, org):
    response = await client.patch(f"/api/v1/users/{org.users['approver2'].id}", json={"display_name": "新名字"},
                                  headers=auth("admin"))
    assert response.status_code == 200
    assert response.json()["display_name"] == "新名字"


async def test_a_manager_of_users_cannot_change_a_peer(client, auth, org, db):
    # Give approver1 user.manage; approver1 (rank 30) may change a collector (10) but not approver2 (40)
    # nor another rank-30 user.
    from app.org.models import UserPermission

    for perm in ("user.manage", "user.read"):
        db.add(UserPermission(user_id=org.users["approver1"].id, permission=perm, granted=True))
    await db.flush()
    below = await client.patch(f"/api/v1/users/{org.users['collector1'].id}", json={"display_name": "x"},
                               headers=auth("approver1"))
    above = await client.patch(f"/api/v1/users/{org.users['approver2'].id}", json={"display_name": "x"},
                               headers=auth("approver1"))
    itself = await client.patch(f"/api/v1/users/{org.users['approver1'].id}", json={"display_name": "x"},
                                headers=auth("approver1"))
    assert below.status_code == 200, below.text
    assert above.status_code == itself.status_code == 403
    assert above.json()["code"] == "org.hierarchy"


async def test_cannot_give_away_a_permission_one_lacks(client, auth, org, db):
    from app.org.models import UserPermission

    for perm in ("role.manage", "role.read", "user.manage", "user.read"):
        db.add(UserPermission(user_id=org.users["approver2"].id, permission=perm, granted=True))
    await db.flush()
    role = await _make_role(client, auth, "approver2", code="too-much", permissions=["company.manage"], rank=5)
    assert role.status_code == 403
    ok = await _make_role(client, auth, "approver2", code="fine", permissions=["user.read"], rank=5)
    assert ok.status_code == 201, ok.text
    grant = await client.put(f"/api/v1/users/{org.users['collector1'].id}/permissions/company.manage",
                             json={"granted": True}, headers=auth("approver2"))
    assert grant.status_code == 403


async def test_role_ranked_at_or_above_own_level_cannot_be_created(client, auth, org, db):
    from app.org.models import UserPermission

    for perm in ("role.manage", "role.read"):
        db.add(UserPermission(user_id=org.users["approver2"].id, permission=perm, granted=True))
    await db.flush()
    response = await _make_role(client, auth, "approver2", code="peer", permissions=[], rank=40)
    assert response.status_code == 403


async def test_only_the_system_admin_grants_the_admin_role(client, auth, org):
    response = await client.patch(f"/api/v1/users/{org.users['collector1'].id}",
                                  json={"role_ids": [str(org.roles["sysadmin"].id)]}, headers=auth("admin"))
    assert response.status_code == 200


async def test_companies_scope_must_name_companies_of_the_group(client, auth, org):
    response = await _make_role(client, auth, "admin", code="bad-scope", scope_kind="companies",
                                scope_company_ids=[str(org.other_group.id)])
    assert response.status_code == 422
    assert response.json()["code"] == "role.unknown_company"
