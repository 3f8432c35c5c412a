"""Queries of the organisation: principals, the department tree, users, roles."""

import sys
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.core import hotsql
from app.core.business_date import business_zone
from app.core.pagination import PageParams, SortKey, paginate
from app.core.principal import DataScope, Principal, ScopeKind
from app.core.scoping import get_readable, readable
from app.core.sql import like_contains
from app.org.errors import CompanyNotFound
from app.org.models import AuthzStamp, Company, Department, Group, Role, User, UserPermission, UserRole


async def department_subtree(session: AsyncSession, root_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """The departments under any of `root_ids`, the roots included."""
    return set().union(*(await department_subtrees(session, root_ids)).values())


async def department_subtrees(session: AsyncSession,
                              root_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, set[uuid.UUID]]:
    """Each root's subtree (itself included), in one recursive query."""
    roots = list(root_ids)
    if not roots:
        return {}
    tree = (select(Department.id.label("root"), Department.id.label("id"))
            .where(Department.id.in_(roots)).cte("tree", recursive=True))
    tree = tree.union(select(tree.c.root, Department.id).join(tree, Department.parent_id == tree.c.id))
    result: dict[uuid.UUID, set[uuid.UUID]] = {}
    for root, department_id in (await session.execute(select(tree.c.root, tree.c.id))).all():
        result.setdefault(root, set()).add(department_id)
    return result


_user_stamp, _group_stamp = aliased(AuthzStamp), aliased(AuthzStamp)
# Built once: it runs on every authenticated request. Three primary-key probes in one round trip.
_PRINCIPAL_STAMP = (
    select(_user_stamp.stamp, _group_stamp.stamp).select_from(User)
    .outerjoin(_user_stamp, _user_stamp.subject_id == User.id)
    .outerjoin(_group_stamp, _group_stamp.subject_id == User.group_id)
    .where(User.id == bindparam("user_id"), User.is_active.is_(True), User.locked_at.is_(None))
)

_PRINCIPAL_STAMP_SQL = hotsql.Prepared(_PRINCIPAL_STAMP)  # every request: the hot path (core/hotsql.py)


async def principal_stamp(session: AsyncSession, user_id: uuid.UUID) -> tuple[int | None, int | None] | None:
    """(the user's stamp, their group's stamp) while the user is active and unlocked, else None.

    A cached principal resolved under the same pair is still exact (see `AuthzStamp`)."""
    row = await _PRINCIPAL_STAMP_SQL.fetchrow(session, user_id=user_id)
    return None if row is None else (row[0], row[1])


async def load_principal(session: AsyncSession, user_id: uuid.UUID) -> Principal | None:
    """The principal of an active, unlocked user, or None."""
    return (await load_principals(session, [user_id])).get(user_id)


async def load_principals(session: AsyncSession, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Principal]:
    """The principals of the active, unlocked users among `user_ids`: permissions and scope unioned
    over their roles, single-user overrides applied.

    Four queries at most however many users are asked for (users, roles, overrides, and the
    department subtrees when a role needs them), so resolving a step's approvers stays bounded.
    """
    wanted = list(dict.fromkeys(user_ids))
    if not wanted:
        return {}
    users = [u for u in (await session.scalars(select(User).where(User.id.in_(wanted)))).all()
             if u.is_active and u.locked_at is None]
    if not users:
        return {}
    ids = [u.id for u in users]
    roles: dict[uuid.UUID, list[Role]] = {uid: [] for uid in ids}
    for uid, role in (await session.execute(
        select(UserRole.user_id, Role).join(Role, Role.id == UserRole.role_id)
        .join(User, User.id == UserRole.user_id)
        .where(UserRole.user_id.in_(ids), Role.group_id == User.group_id)
    )).all():
        roles[uid].append(role)
    overrides: dict[uuid.UUID, list[tuple[str, bool]]] = {uid: [] for uid in ids}
    for uid, permission, granted in (await session.execute(
        select(UserPermission.user_id, UserPermission.permission, UserPermission.granted)
        .where(UserPermission.user_id.in_(ids))
    )).all():
        overrides[uid].append((permission, granted))
    tree_roots = {u.department_id for u in users if u.department_id is not None
                  and any(r.scope_kind == ScopeKind.DEPARTMENT_TREE for r in roles[u.id])}
    subtrees = await department_subtrees(session, tree_roots)
    return {u.id: _principal(u, roles[u.id], overrides[u.id], subtrees) for u in users}


def role_scope(kind: str, scope_company_ids: Iterable[uuid.UUID], company_id: uuid.UUID | None,
               department_id: uuid.UUID | None, subtrees: dict[uuid.UUID, set[uuid.UUID]]) -> DataScope:
    """What one role of `kind` reaches when held by a user placed in `company_id`/`department_id`.

    `company`, `department*` and `self` are relative to the holder; `subtrees` holds the subtree of
    `department_id` when the kind is `department_tree` (see department_subtrees)."""
    if kind == ScopeKind.ALL:
        return DataScope(all_companies=True)
    if kind == ScopeKind.COMPANIES:
        return DataScope(company_ids=frozenset(scope_company_ids))
    if kind == ScopeKind.COMPANY:
        return DataScope(company_ids=frozenset({company_id}) if company_id is not None else frozenset())
    if department_id is None:
        return DataScope()
    if kind == ScopeKind.DEPARTMENT_TREE:
        return DataScope(department_ids=frozenset(subtrees.get(department_id, {department_id})))
    if kind == ScopeKind.DEPARTMENT:
        return DataScope(department_ids=frozenset({department_id}))
    return DataScope()


def union_scope(scopes: Iterable[DataScope]) -> DataScope:
    all_companies, company_ids, department_ids = False, set[uuid.UUID](), set[uuid.UUID]()
    for scope in scopes:
        all_companies |= scope.all_companies
        company_ids |= scope.company_ids
        department_ids |= scope.department_ids
    return DataScope(all_companies=all_companies, company_ids=frozenset(company_ids),
                     department_ids=frozenset(department_ids))


def _principal(user: User, roles: list[Role], overrides: list[tuple[str, bool]],
               subtrees: dict[uuid.UUID, set[uuid.UUID]]) -> Principal:
    permissions: set[str] = set()
    for role in roles:
        permissions.update(role.permissions)
    for permission, granted in overrides:
        (permissions.add if granted else permissions.discard)(permission)
    return Principal(
        user_id=user.id,
        group_id=user.group_id,
        company_id=user.company_id,
        department_id=user.department_id,
        username=user.username,
        # Interned: workers cache thousands of principals that name the same few hundred codes.
        permissions=frozenset(map(sys.intern, permissions)),
        scope=union_scope(role_scope(r.scope_kind, r.scope_company_ids, user.company_id, user.department_id,
                                     subtrees) for r in roles),
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


# Built once (`/me`): a user's roles as columns, by code.
_ROLE_REFS = (
    select(Role.id, Role.name, Role.code, Role.scope_kind).join(UserRole, UserRole.role_id == Role.id)
    .where(UserRole.user_id == bindparam("user_id")).order_by(Role.code)
)

_ROLE_REFS_SQL = hotsql.Prepared(_ROLE_REFS)


async def role_refs_of(session: AsyncSession, user_id: uuid.UUID) -> list[Any]:
    """(id, name, code, scope_kind) of each of a user's roles, by code: records (`/me`, the hot path)."""
    return await _ROLE_REFS_SQL.fetch(session, user_id=user_id)


async def user_level(session: AsyncSession, user_id: uuid.UUID) -> tuple[int, bool]:
    """(rank, is_system_admin) of a user: the highest over their roles."""
    roles = (await session.scalars(
        select(Role).join(UserRole, UserRole.role_id == Role.id).where(UserRole.user_id == user_id)
    )).all()
    return max((r.rank for r in roles), default=0), any(r.is_system_admin for r in roles)


async def _lookup(session: AsyncSession, key: Any, value: Any, keys: Iterable[Any], *where: Any) -> dict[Any, Any]:
    """`{key: value}` for the rows whose `key` is among `keys` (skipping None); no query for none."""
    wanted = list({k for k in keys if k is not None})
    if not wanted:
        return {}
    return dict((await session.execute(select(key, value).where(key.in_(wanted), *where))).all())  # type: ignore[arg-type]


async def department_companies(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """The company of each department named."""
    return await _lookup(session, Department.id, Department.company_id, ids)


async def role_holders_placements(session: AsyncSession,
                                  role_id: uuid.UUID) -> set[tuple[uuid.UUID, uuid.UUID | None]]:
    """The distinct (company, department) placements of the users holding a role."""
    return {(c, d) for c, d in (await session.execute(
        select(User.company_id, User.department_id).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role_id == role_id).distinct())).all()}


@dataclass(frozen=True)
class UserCard:
    """What names a user to a reader who may not look users up (no user.read): for other areas to
    embed beside a user id in their responses (e.g. who an approval waits on, who acted)."""

    id: uuid.UUID
    display_name: str
    role_titles: tuple[str, ...]  # role names, most senior first
    department_name: str | None
    company_name: str


async def user_cards(session: AsyncSession, group_id: uuid.UUID,
                     user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, UserCard]:
    """Cards of the users of `group_id` among `user_ids` (leavers included: a record keeps naming
    them); two queries however many users are asked for."""
    wanted = list(dict.fromkeys(user_ids))
    if not wanted:
        return {}
    rows = (await session.execute(
        select(User.id, User.display_name, Department.name, Company.name)
        .join(Company, Company.id == User.company_id)
        .outerjoin(Department, Department.id == User.department_id)
        .where(User.group_id == group_id, User.id.in_(wanted))
    )).all()
    titles: dict[uuid.UUID, list[str]] = {row[0]: [] for row in rows}
    if titles:
        for uid, name in (await session.execute(
            select(UserRole.user_id, Role.name).join(Role, Role.id == UserRole.role_id)
            .where(UserRole.user_id.in_(list(titles)), Role.group_id == group_id)
            .order_by(Role.rank.desc(), Role.code)
        )).all():
            titles[uid].append(name)
    return {uid: UserCard(id=uid, display_name=display_name, role_titles=tuple(titles[uid]),
                          department_name=department_name, company_name=company_name)
            for uid, display_name, department_name, company_name in rows}


async def company_code_taken(session: AsyncSession, group_id: uuid.UUID, code: str) -> bool:
    return await session.scalar(
        select(Company.id).where(Company.group_id == group_id, Company.code == code)) is not None


async def username_taken(session: AsyncSession, username: str) -> bool:
    """Usernames are unique across the installation: logins carry no tenant."""
    return await session.scalar(select(User.id).where(User.username == username)) is not None


async def readable_company_ids(session: AsyncSession, principal: Principal,
                               company_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """The companies among `company_ids` that `principal` may read (the others answer as missing)."""
    return set((await session.scalars(
        readable(principal, Company, Company.id).where(Company.id.in_(list(company_ids))))).all())


async def readable_roles(session: AsyncSession, principal: Principal, role_ids: Iterable[uuid.UUID]) -> list[Role]:
    ids = list(role_ids)
    if not ids:
        return []
    return list((await session.scalars(readable(principal, Role).where(Role.id.in_(ids)))).all())


async def replace_user_roles(session: AsyncSession, user_id: uuid.UUID, role_ids: Iterable[uuid.UUID]) -> None:
    await session.execute(delete(UserRole).where(UserRole.user_id == user_id))
    session.add_all(UserRole(user_id=user_id, role_id=role_id) for role_id in role_ids)


async def set_permission_override(session: AsyncSession, user_id: uuid.UUID, permission: str,
                                  granted: bool | None) -> None:
    """One user's override of one permission; None removes it."""
    await session.execute(delete(UserPermission).where(UserPermission.user_id == user_id,
                                                       UserPermission.permission == permission))
    if granted is not None:
        session.add(UserPermission(user_id=user_id, permission=permission, granted=granted))


async def lock_user_row(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Row-lock a user for this transaction (a second handover of the same user waits)."""
    await session.scalar(select(User.id).where(User.id == user_id).with_for_update())


# --- public queries for other areas (approvals) -------------------------------------------------
# What the approval engine asks of the organisation to resolve approvers and check references;
# other areas call these instead of reading org's tables.


async def user_by_id(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.scalar(select(User).where(User.id == user_id))


def _active(stmt: Select) -> Select:  # type: ignore[type-arg]
    """Only users who may act: active and not locked."""
    return stmt.where(User.is_active.is_(True), User.locked_at.is_(None))


async def role_holders(session: AsyncSession, group_id: uuid.UUID, role_id: uuid.UUID,
                       company_id: uuid.UUID | None) -> list[uuid.UUID]:
    stmt = _active(select(User.id).join(UserRole, UserRole.user_id == User.id)
                   .where(UserRole.role_id == role_id, User.group_id == group_id))
    if company_id is not None:
        stmt = stmt.where(User.company_id == company_id)
    return list((await session.scalars(stmt.order_by(User.username))).all())


async def role_holders_by_role(session: AsyncSession, group_id: uuid.UUID, role_ids: Iterable[uuid.UUID]
                               ) -> dict[uuid.UUID, list[tuple[uuid.UUID, uuid.UUID]]]:
    """Active holders of each of `role_ids` as (user, company), by username: one query for every
    role-based step of a flow."""
    wanted = list(dict.fromkeys(role_ids))
    result: dict[uuid.UUID, list[tuple[uuid.UUID, uuid.UUID]]] = {r: [] for r in wanted}
    if not wanted:
        return result
    rows = (await session.execute(_active(
        select(UserRole.role_id, User.id, User.company_id).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role_id.in_(wanted), User.group_id == group_id)).order_by(User.username))).all()
    for role_id, user_id, company_id in rows:
        result[role_id].append((user_id, company_id))
    return result


async def active_users(session: AsyncSession, group_id: uuid.UUID, user_ids: Iterable[uuid.UUID]) -> list[uuid.UUID]:
    ids = list(user_ids)
    if not ids:
        return []
    found = set((await session.scalars(_active(select(User.id).where(User.group_id == group_id,
                                                                        User.id.in_(ids))))).all())
    return [u for u in ids if u in found]


async def users_in_group(session: AsyncSession, group_id: uuid.UUID, user_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    ids = list(user_ids)
    if not ids:
        return set()
    return set((await session.scalars(select(User.id).where(User.group_id == group_id, User.id.in_(ids)))).all())


async def department_head(session: AsyncSession, department_id: uuid.UUID | None) -> uuid.UUID | None:
    if department_id is None:
        return None
    return await session.scalar(select(Department.head_user_id).where(Department.id == department_id))


async def system_admins(session: AsyncSession, group_id: uuid.UUID) -> list[uuid.UUID]:
    return list((await session.scalars(
        _active(select(User.id).join(UserRole, UserRole.user_id == User.id).join(Role, Role.id == UserRole.role_id)
                .where(User.group_id == group_id, Role.group_id == group_id, Role.is_system_admin.is_(True)))
        .distinct().order_by(User.id)
    )).all())


async def role_in_group(session: AsyncSession, group_id: uuid.UUID, role_id: uuid.UUID) -> Role | None:
    return await session.scalar(select(Role).where(Role.id == role_id, Role.group_id == group_id))


async def company_code(session: AsyncSession, company_id: uuid.UUID) -> str | None:
    return await session.scalar(select(Company.code).where(Company.id == company_id))




# --- public queries for other areas (customers) ---
# Other areas read the organisation through these functions, never through app.org.models: what
# they get back is ids, names, zones and (for rules that need them) User rows, not query handles.


async def tow_min_dpd(session: AsyncSession, company_id: uuid.UUID) -> int | None:
    """The company's own minimum days past due for a tow request (None: the setting's)."""
    return await session.scalar(select(Company.tow_min_dpd).where(Company.id == company_id))


async def company_zones(session: AsyncSession, company_ids: Iterable[uuid.UUID] | None = None,
                        ) -> dict[uuid.UUID, tuple[uuid.UUID, ZoneInfo]]:
    """(group id, business time zone) per company: the company's zone, else its group's, else the
    DEFAULT_TIMEZONE setting. Every company when `company_ids` is None (batch jobs); one query."""
    stmt = select(Company.id, Company.group_id, Company.timezone, Group.timezone).join(
        Group, Group.id == Company.group_id)
    if company_ids is not None:
        wanted = list(set(company_ids))
        if not wanted:
            return {}
        stmt = stmt.where(Company.id.in_(wanted))
    return {cid: (gid, business_zone(tz, group_tz))
            for cid, gid, tz, group_tz in (await session.execute(stmt.order_by(Company.code))).all()}


async def company_in_group(session: AsyncSession, group_id: uuid.UUID, company_id: uuid.UUID | None) -> bool:
    """Whether the company exists in the group."""
    return company_id is not None and await session.scalar(
        select(Company.id).where(Company.id == company_id, Company.group_id == group_id)) is not None


async def companies_by_code(session: AsyncSession, group_id: uuid.UUID,
                            codes: Iterable[str]) -> dict[str, uuid.UUID]:
    """Company ids of the group by code."""
    return await _lookup(session, Company.code, Company.id, codes, Company.group_id == group_id)


async def company_codes(session: AsyncSession, group_id: uuid.UUID) -> dict[uuid.UUID, str]:
    """Every company code of the group by id."""
    return dict((await session.execute(  # type: ignore[arg-type]
        select(Company.id, Company.code).where(Company.group_id == group_id))).all())


async def all_readable_company_ids(session: AsyncSession, principal: Principal) -> list[uuid.UUID]:
    """Every company the principal may read, by code."""
    return list((await session.scalars(readable(principal, Company, Company.id).order_by(Company.code))).all())


async def get_readable_company_id(session: AsyncSession, principal: Principal, company_id: uuid.UUID, *,
                                  for_update: bool = False) -> uuid.UUID:
    """The company's id if the principal may read it (404 `company.not_found` otherwise); `for_update`
    locks the row (serialises writers of settings hanging off the company)."""
    company = await get_readable(session, principal, Company, company_id, for_update=for_update,
                                 code=CompanyNotFound.code)
    return company.id


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User:
    return await session.get_one(User, user_id)


async def get_readable_user(session: AsyncSession, principal: Principal, user_id: uuid.UUID) -> User:
    return await get_readable(session, principal, User, user_id)


async def users_by_username(session: AsyncSession, group_id: uuid.UUID, usernames: Iterable[str]) -> dict[str, User]:
    wanted = list(set(usernames))
    if not wanted:
        return {}
    return {u.username: u for u in (await session.scalars(
        select(User).where(User.group_id == group_id, User.username.in_(wanted)))).all()}


async def user_ids_in_group(session: AsyncSession, group_id: uuid.UUID,
                            user_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Those of `user_ids` that are users of the group."""
    wanted = list(set(user_ids))
    if not wanted:
        return set()
    return set((await session.scalars(
        select(User.id).where(User.id.in_(wanted), User.group_id == group_id))).all())


async def usernames(session: AsyncSession, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    return await _lookup(session, User.id, User.username, user_ids)


async def display_names(session: AsyncSession, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    return await _lookup(session, User.id, User.display_name, user_ids)


async def user_departments(session: AsyncSession,
                           user_ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, uuid.UUID | None]:
    """Each user's department (None when placed at company level)."""
    return await _lookup(session, User.id, User.department_id, user_ids)


async def users_holding_permission(session: AsyncSession, group_id: uuid.UUID, permission: str, *,
                                   company_ids: Iterable[uuid.UUID] | None = None) -> list[uuid.UUID]:
    """Active, unlocked users of the group who hold `permission` through a role (the system
    administrator's role does not count: it holds everything and sells nothing)."""
    stmt = select(User.id).where(
        User.group_id == group_id, User.is_active.is_(True), User.locked_at.is_(None),
        User.id.in_(select(UserRole.user_id).join(Role, Role.id == UserRole.role_id)
                    .where(Role.permissions.contains([permission]), Role.is_system_admin.is_(False))))
    if company_ids is not None:
        stmt = stmt.where(User.company_id.in_(list(company_ids)))
    return list((await session.scalars(stmt.order_by(User.id))).all())


# --- lists ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoFilter:
    """A list without filters of its own; subclasses' fields filter by equality when given."""

    def conditions(self, model: type[Any]) -> list[Any]:
        return [getattr(model, name) == value for name, value in vars(self).items() if value is not None]


@dataclass(frozen=True)
class DepartmentFilter(NoFilter):
    company_id: uuid.UUID | None = None
    parent_id: uuid.UUID | None = None


@dataclass(frozen=True)
class UserFilter(NoFilter):
    company_id: uuid.UUID | None = None
    department_id: uuid.UUID | None = None
    is_active: bool | None = None
    q: str | None = None  # username or display name contains

    def conditions(self, model: type[Any]) -> list[Any]:
        exact = NoFilter.conditions(replace(self, q=None), model)
        if self.q is None:
            return exact
        pattern = like_contains(self.q)
        return [*exact, model.username.ilike(pattern) | model.display_name.ilike(pattern)]


async def page_of(session: AsyncSession, principal: Principal, model: type[Any], page: PageParams, sort: SortKey,
                  where: NoFilter) -> tuple[list[Any], str | None]:
    """One keyset page of an organisation list, within the caller's scope."""
    return await paginate(session, readable(principal, model).where(*where.conditions(model)), page, sort, model.id)
