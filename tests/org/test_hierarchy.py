"""Nobody but the system administrator changes a user of their own level or above, gives away
a permission they do not hold, or hands out a data scope wider than their own."""

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


# --- data scope: nobody hands out more reach than they have --------------------------------------

MANAGER_PERMISSIONS = ("role.manage", "role.read", "user.manage", "user.read", "customer.read")


async def _company_manager(db, org, username="approver2"):
    """approver2: scope `company` (C01), rank 40, made a manager of roles and users."""
    from app.org.models import UserPermission

    for perm in MANAGER_PERMISSIONS:
        db.add(UserPermission(user_id=org.users[username].id, permission=perm, granted=True))
    await db.flush()


async def _role(db, org, kind, *, companies=(), rank=5, permissions=("customer.read",)):
    import uuid

    from app.org.models import Role

    role = Role(group_id=org.group.id, code=f"t-{uuid.uuid4().hex[:8]}", name="t", permissions=list(permissions),
                scope_kind=kind, scope_company_ids=[org.companies[c].id for c in companies], rank=rank)
    db.add(role)
    await db.flush()
    return role


async def test_a_company_manager_cannot_create_a_role_wider_than_their_company(client, auth, org, db):
    await _company_manager(db, org)
    everything = await _make_role(client, auth, "approver2", code="all-scope", scope_kind="all", rank=5)
    other_company = await _make_role(client, auth, "approver2", code="c02", scope_kind="companies",
                                     scope_company_ids=[str(org.companies["C02"].id)], rank=5)
    assert everything.status_code == 403 and everything.json()["code"] == "org.scope_escalation"
    # A company outside the manager's scope answers like a company that does not exist.
    assert other_company.status_code == 422 and other_company.json()["code"] == "role.unknown_company"
    for code, kind, companies in (("own", "companies", [str(org.companies["C01"].id)]), ("rel", "company", []),
                                  ("dept", "department_tree", []), ("me", "self", [])):
        ok = await _make_role(client, auth, "approver2", code=code, scope_kind=kind, scope_company_ids=companies,
                              rank=5)
        assert ok.status_code == 201, (code, ok.text)


async def test_a_company_manager_cannot_widen_a_role_by_editing_it(client, auth, org, db):
    await _company_manager(db, org)
    role = await _role(db, org, "self")
    own = await _role(db, org, "self")
    role_id, own_id = role.id, own.id  # a refused request rolls back and expires the objects
    widened = await client.patch(f"/api/v1/roles/{role_id}", json={"scope_kind": "all"}, headers=auth("approver2"))
    assert widened.status_code == 403 and widened.json()["code"] == "org.scope_escalation"
    # `company` is relative to its holders: harmless for a C01 holder, escalation for a C02 one.
    from app.org.models import UserRole

    db.add(UserRole(user_id=org.users["collector3"].id, role_id=role_id))  # collector3 works for C02
    db.add(UserRole(user_id=org.users["collector1"].id, role_id=own_id))  # C01
    await db.flush()
    relative = await client.patch(f"/api/v1/roles/{role_id}", json={"scope_kind": "company"},
                                  headers=auth("approver2"))
    assert relative.status_code == 403 and relative.json()["code"] == "org.scope_escalation"
    fine = await client.patch(f"/api/v1/roles/{own_id}", json={"scope_kind": "company"}, headers=auth("approver2"))
    assert fine.status_code == 200, fine.text


async def test_a_role_wider_than_the_manager_cannot_be_granted_to_a_user(client, auth, org, db):
    await _company_manager(db, org)
    role_ids = [(await _role(db, org, "all")).id, (await _role(db, org, "companies", companies=("C02",))).id]
    within = (await _role(db, org, "companies", companies=("C01",))).id
    for role_id in role_ids:
        granted = await client.patch(f"/api/v1/users/{org.users['collector1'].id}",
                                     json={"role_ids": [str(role_id)]}, headers=auth("approver2"))
        assert granted.status_code == 403 and granted.json()["code"] == "org.scope_escalation", granted.text
    ok = await client.patch(f"/api/v1/users/{org.users['collector1'].id}", json={"role_ids": [str(within)]},
                            headers=auth("approver2"))
    assert ok.status_code == 200, ok.text


async def test_the_escalation_attack_fails_a_new_user_with_a_wide_role(client, auth, org, db):
    """The reported attack: a one-company manager creates a user holding an `all` role, with a
    password they chose, to read every company's customers. The user is never created."""
    await _company_manager(db, org)
    everything = await _role(db, org, "all")
    body = {"username": "sneaky", "display_name": "x", "password": "Sneaky@12345",
            "company_id": str(org.companies["C01"].id), "role_ids": [str(everything.id)]}
    created = await client.post("/api/v1/users", json=body, headers=auth("approver2"))
    assert created.status_code == 403 and created.json()["code"] == "org.scope_escalation"
    login = await client.post("/api/v1/auth/token", data={"username": "sneaky", "password": "Sneaky@12345"})
    assert login.status_code != 200


async def test_a_user_cannot_be_placed_outside_the_managers_scope(client, auth, org, db):
    await _company_manager(db, org)
    body = {"username": "placed", "display_name": "x", "password": "Placed@12345",
            "company_id": str(org.companies["C02"].id)}
    elsewhere = await client.post("/api/v1/users", json=body, headers=auth("approver2"))
    assert elsewhere.status_code == 404
    moved = await client.patch(f"/api/v1/users/{org.users['collector1'].id}",
                               json={"department_id": str(org.departments[("C02", "sales")].id)},
                               headers=auth("approver2"))
    assert moved.status_code == 404


async def test_a_department_manager_cannot_grant_a_company_wide_role(client, auth, org, db):
    """`company` granted to somebody in the manager's own department still reaches the whole
    company: wider than a department-tree scope."""
    import uuid

    from app.org.models import User, UserRole

    head_role = await _role(db, org, "department_tree", rank=50, permissions=MANAGER_PERMISSIONS)
    head = User(group_id=org.group.id, company_id=org.companies["C01"].id,
                department_id=org.departments[("C01", "collections")].id, username=f"head-{uuid.uuid4().hex[:6]}",
                display_name="部门经理", password_hash="x")
    db.add(head)
    await db.flush()
    db.add(UserRole(user_id=head.id, role_id=head_role.id))
    company_role, dept_role = (await _role(db, org, "company")).id, (await _role(db, org, "department")).id
    await db.flush()
    org.users[head.username] = head
    try:
        headers = auth(head.username)  # before a refused request rolls back and expires `head`
    finally:
        del org.users[head.username]
    wide = await client.patch(f"/api/v1/users/{org.users['collector1'].id}",
                              json={"role_ids": [str(company_role)]}, headers=headers)
    narrow = await client.patch(f"/api/v1/users/{org.users['collector1'].id}",
                                json={"role_ids": [str(dept_role)]}, headers=headers)
    assert wide.status_code == 403 and wide.json()["code"] == "org.scope_escalation", wide.text
    assert narrow.status_code == 200, narrow.text


def test_scope_covers_orders_kinds_sets_and_subtrees():
    import uuid

    from app.core.principal import DataScope
    from app.org.service import scope_covers

    c1, c2, d1, d2 = (uuid.uuid4() for _ in range(4))
    companies = {d1: c1, d2: c2}
    everything = DataScope(all_companies=True)
    company1 = DataScope(company_ids=frozenset({c1}))
    tree1 = DataScope(department_ids=frozenset({d1}))
    assert scope_covers(everything, company1, companies)
    assert not scope_covers(company1, everything, companies)
    assert scope_covers(company1, tree1, companies)  # a department of a covered company
    assert not scope_covers(company1, DataScope(department_ids=frozenset({d2})), companies)
    assert not scope_covers(tree1, company1, companies)
    assert not scope_covers(company1, DataScope(company_ids=frozenset({c1, c2})), companies)
    assert scope_covers(DataScope(), DataScope(), companies)  # `self` reaches only own records
