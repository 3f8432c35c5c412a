"""Every data-scope kind, resolved from roles and applied through readable()."""

import uuid

import pytest
from sqlalchemy import select

from app.core.principal import ScopeKind
from app.core.scoping import readable
from app.org.models import Department, Role, User, UserRole
from app.org.repository import load_principal


async def _user_with_role(db, org, kind, *, company="C01", dept_key="sales", companies=()):
    role = Role(group_id=org.group.id, code=f"t-{uuid.uuid4().hex[:8]}", name="t", permissions=["user.read"],
                scope_kind=kind, scope_company_ids=[org.companies[c].id for c in companies], rank=5)
    user = User(group_id=org.group.id, company_id=org.companies[company].id,
                department_id=org.departments[(company, dept_key)].id, username=f"u-{uuid.uuid4().hex[:10]}",
                display_name="t", password_hash="x")
    db.add_all([role, user])
    await db.flush()
    db.add(UserRole(user_id=user.id, role_id=role.id))
    await db.flush()
    return user


async def _visible_usernames(db, principal) -> set[str]:
    return set((await db.scalars(readable(principal, User, User.username))).all())


async def test_scope_all_sees_every_user_of_the_group_and_none_of_another(db, org):
    user = await _user_with_role(db, org, ScopeKind.ALL)
    visible = await _visible_usernames(db, await load_principal(db, user.id))
    assert {"collector3", "admin", "leader"} <= visible
    assert "other-admin" not in visible


async def test_scope_companies_sees_exactly_the_listed_companies(db, org):
    user = await _user_with_role(db, org, ScopeKind.COMPANIES, companies=("C02",))
    visible = await _visible_usernames(db, await load_principal(db, user.id))
    assert "collector3" in visible  # C02
    assert "collector1" not in visible  # C01
    assert user.username in visible  # own record


async def test_scope_company_sees_own_company(db, org):
    user = await _user_with_role(db, org, ScopeKind.COMPANY, company="C02")
    visible = await _visible_usernames(db, await load_principal(db, user.id))
    assert "collector3" in visible and "collector1" not in visible


async def test_scope_department_tree_includes_sub_departments(db, org):
    parent = org.departments[("C01", "collections")]
    child = Department(group_id=org.group.id, company_id=parent.company_id, parent_id=parent.id, name="一组")
    grandchild_user = None
    db.add(child)
    await db.flush()
    grandchild_user = User(group_id=org.group.id, company_id=parent.company_id, department_id=child.id,
                           username=f"deep-{uuid.uuid4().hex[:8]}", display_name="t", password_hash="x")
    db.add(grandchild_user)
    await db.flush()
    user = await _user_with_role(db, org, ScopeKind.DEPARTMENT_TREE, dept_key="collections")
    principal = await load_principal(db, user.id)
    visible = await _visible_usernames(db, principal)
    assert {"collector1", "collector2", "dispatcher", grandchild_user.username} <= visible
    assert "sales1" not in visible
    assert child.id in principal.scope.department_ids


async def test_scope_department_excludes_sub_departments(db, org):
    parent = org.departments[("C01", "collections")]
    child = Department(group_id=org.group.id, company_id=parent.company_id, parent_id=parent.id, name="二组")
    db.add(child)
    await db.flush()
    deep = User(group_id=org.group.id, company_id=parent.company_id, department_id=child.id,
                username=f"deep-{uuid.uuid4().hex[:8]}", display_name="t", password_hash="x")
    db.add(deep)
    await db.flush()
    user = await _user_with_role(db, org, ScopeKind.DEPARTMENT, dept_key="collections")
    visible = await _visible_usernames(db, await load_principal(db, user.id))
    assert "collector1" in visible and deep.username not in visible


async def test_scope_self_sees_only_own_records(db, org):
    user = await _user_with_role(db, org, ScopeKind.SELF)
    assert await _visible_usernames(db, await load_principal(db, user.id)) == {user.username}


async def test_scope_is_the_union_over_roles(db, org):
    user = await _user_with_role(db, org, ScopeKind.SELF)
    extra = Role(group_id=org.group.id, code=f"t-{uuid.uuid4().hex[:8]}", name="t", permissions=["company.read"],
                 scope_kind=ScopeKind.COMPANIES, scope_company_ids=[org.companies["C03"].id], rank=1)
    db.add(extra)
    await db.flush()
    db.add(UserRole(user_id=user.id, role_id=extra.id))
    await db.flush()
    principal = await load_principal(db, user.id)
    assert principal.permissions == {"user.read", "company.read"}
    assert principal.scope.company_ids == {org.companies["C03"].id}


@pytest.mark.parametrize("granted", [True, False])
async def test_single_permission_override_grants_or_withdraws(db, org, granted):
    from app.org.models import UserPermission

    user = await _user_with_role(db, org, ScopeKind.SELF)
    db.add(UserPermission(user_id=user.id, permission="user.read" if not granted else "audit.read",
                          granted=granted))
    await db.flush()
    principal = await load_principal(db, user.id)
    assert ("audit.read" in principal.permissions) is granted
    assert ("user.read" in principal.permissions) is granted


async def test_roles_of_another_group_never_apply(db, org):
    foreign = (await db.scalars(select(Role).where(Role.group_id == org.other_group.id))).first()
    user = await _user_with_role(db, org, ScopeKind.SELF)
    db.add(UserRole(user_id=user.id, role_id=foreign.id))
    await db.flush()
    principal = await load_principal(db, user.id)
    assert not principal.scope.all_companies
