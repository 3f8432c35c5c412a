"""Queries of the organisation: principals, the department tree, users, roles."""

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.principal import DataScope, Principal, ScopeKind
from app.org.models import Company, Department, Role, User, UserPermission, UserRole


async def department_subtree(session: AsyncSession, root_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    roots = list(root_ids)
    if not roots:
        return set()
    tree = select(Department.id).where(Department.id.in_(roots)).cte("tree", recursive=True)
    tree = tree.union(select(Department.id).join(tree, Department.parent_id == tree.c.id))
    return set((await session.scalars(select(tree.c.id))).all())


async def load_principal(session: AsyncSession, user_id: uuid.UUID) -> Principal | None:
    """The principal of an active, unlocked user: permissions and scope unioned over roles.

    Three queries at most (user, roles + overrides, department subtree when a role needs it).
    """
    user = await session.scalar(select(User).where(User.id == user_id))
    if user is None or not user.is_active or user.locked_at is not None:
        return None
    roles = (await session.scalars(
        select(Role).join(UserRole, UserRole.role_id == Role.id)
        .where(UserRole.user_id == user.id, Role.group_id == user.group_id)
    )).all()
    overrides = (await session.execute(
        select(UserPermission.permission, UserPermission.granted).where(UserPermission.user_id == user.id)
    )).all()

    permissions: set[str] = set()
    for role in roles:
        permissions.update(role.permissions)
    for permission, granted in overrides:
        (permissions.add if granted else permissions.discard)(permission)

    kinds = {role.scope_kind for role in roles}
    company_ids: set[uuid.UUID] = set()
    department_ids: set[uuid.UUID] = set()
    for role in roles:
        if role.scope_kind == ScopeKind.COMPANIES:
            company_ids.update(role.scope_company_ids)
    if ScopeKind.COMPANY in kinds:
        company_ids.add(user.company_id)
    if user.department_id is not None:
        if ScopeKind.DEPARTMENT_TREE in kinds:
            department_ids |= await department_subtree(session, [user.department_id])
        elif ScopeKind.DEPARTMENT in kinds:
            department_ids.add(user.department_id)
    return Principal(
        user_id=user.id,
        group_id=user.group_id,
        company_id=user.company_id,
        department_id=user.department_id,
        username=user.username,
        permissions=frozenset(permissions),
        scope=DataScope(
            all_companies=ScopeKind.ALL in kinds,
            company_ids=frozenset(company_ids),
            department_ids=frozenset(department_ids),
        ),
        rank=max((r.rank for r in roles), default=0),
        is_system_admin=any(r.is_system_admin for r in roles),
        role_ids=frozenset(r.id for r in roles),
    )


async def roles_of(session: AsyncSession, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Role]]:
    """Roles per user, in one query (for lists and detail views)."""
    result: dict[uuid.UUID, list[Role]] = {uid: [] for uid in user_ids}
    if not user_ids:
        return result
    rows = (await session.execute(
        select(UserRole.user_id, Role).join(Role, Role.id == UserRole.role_id)
        .where(UserRole.user_id.in_(user_ids)).order_by(Role.code)
    )).all()
    for uid, role in rows:
        result[uid].append(role)
    return result


async def user_level(session: AsyncSession, user_id: uuid.UUID) -> tuple[int, bool]:
    """(rank, is_system_admin) of a user: the highest over their roles."""
    roles = (await session.scalars(
        select(Role).join(UserRole, UserRole.role_id == Role.id).where(UserRole.user_id == user_id)
    )).all()
    return max((r.rank for r in roles), default=0), any(r.is_system_admin for r in roles)


async def companies_in_group(session: AsyncSession, group_id: uuid.UUID, ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    wanted = list(ids)
    if not wanted:
        return set()
    return set((await session.scalars(
        select(Company.id).where(Company.group_id == group_id, Company.id.in_(wanted))
    )).all())
