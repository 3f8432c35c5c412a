"""Organisation rules: tenant isolation, the management hierarchy, no giving away what you lack."""

import uuid
from collections.abc import Iterable, Mapping

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.service import revoke_all_for_user
from app.core import audit
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden
from app.core.permissions import is_known
from app.core.principal import DataScope, Principal, ScopeKind
from app.core.scoping import get_readable, get_writable
from app.core.security import hash_password
from app.core.updates import audited_update
from app.org import repository as repo
from app.org.errors import (
    CompanyCodeTaken,
    CompanyNotFound,
    DepartmentNameTaken,
    DepartmentNotFound,
    DepartmentParentMismatch,
    OrgGroupScopeRequired,
    OrgHierarchy,
    OrgScopeEscalation,
    PermissionUnknown,
    RoleCodeTaken,
    RoleScopeCompaniesRequired,
    RoleUnknownCompany,
    RoleUnknownPermission,
    UserDepartmentMismatch,
    UserLockSelf,
    UserNotFound,
    UserSelfManager,
    UserUnknownRole,
    UserUsernameTaken,
)
from app.org.models import Company, Department, Role, User, UserRole
from app.org.schemas import (
    CompanyCreate,
    CompanyUpdate,
    DepartmentCreate,
    DepartmentUpdate,
    RoleCreate,
    RoleUpdate,
    UserCreate,
    UserUpdate,
)


def _hierarchy_error(detail: str) -> Forbidden:
    return OrgHierarchy(detail)


async def ensure_may_manage_user(session: AsyncSession, actor: Principal, target: User) -> None:
    """The system administrator manages everybody; anyone else only users of a lower level."""
    if actor.is_system_admin:
        return
    rank, is_admin = await repo.user_level(session, target.id)
    if is_admin or rank >= actor.rank:
        raise _hierarchy_error("You may only change users of a lower level than yours.")


def ensure_may_hand_out(actor: Principal, permissions: list[str], rank: int) -> None:
    """Nobody gives away a permission they do not hold, or a level that is not below their own."""
    unknown = [p for p in permissions if not is_known(p)]
    if unknown:
        raise RoleUnknownPermission(f"Unknown permissions: {', '.join(sorted(unknown))}.",
                                    errors=[{"pointer": "/body/permissions", "message": "unknown permission"}])
    if actor.is_system_admin:
        return
    missing = sorted(set(permissions) - actor.permissions)
    if missing:
        raise _hierarchy_error(f"You cannot give away permissions you do not hold: {', '.join(missing)}.")
    if rank >= actor.rank:
        raise _hierarchy_error("A role you hand out must rank below your own level.")


def scope_covers(holder: DataScope, granted: DataScope,
                 department_companies: Mapping[uuid.UUID, uuid.UUID]) -> bool:
    """Whether `holder` reaches everything `granted` reaches: every company granted is one of the
    holder's (or the holder has all), and every department granted is one of the holder's or lies
    in a company the holder covers (`department_companies` maps the granted departments)."""
    if holder.all_companies:
        return True
    if granted.all_companies or not granted.company_ids <= holder.company_ids:
        return False
    return all(d in holder.department_ids or holder.covers_company(department_companies.get(d))
               for d in granted.department_ids)


def _scope_error(detail: str) -> Forbidden:
    return OrgScopeEscalation(detail)


RoleScope = tuple[str, list[uuid.UUID]]  # (scope kind, companies of a `companies` scope)
Placement = tuple[uuid.UUID | None, uuid.UUID | None]  # (company, department) of a holder


async def ensure_scope_within(session: AsyncSession, actor: Principal, roles: Iterable[RoleScope],
                              placements: Iterable[Placement]) -> None:
    """Rule: nobody creates, edits or grants a role whose data scope, as it applies to a holder
    placed at each of `placements`, reaches further than the actor's own resolved scope (kinds
    like `company` or `department_tree` are relative to the holder, hence the placements).
    Three queries at most whatever the number of roles and placements."""
    roles, placements = list(roles), list(set(placements))
    if actor.scope.all_companies or not roles or not placements:
        return
    tree_roots = {d for _, d in placements if d is not None} if any(
        k == ScopeKind.DEPARTMENT_TREE for k, _ in roles) else set()
    subtrees = await repo.department_subtrees(session, tree_roots)
    granted = [repo.role_scope(kind, companies, company_id, department_id, subtrees)
               for kind, companies in roles for company_id, department_id in placements]
    departments = await repo.department_companies(session, {d for g in granted for d in g.department_ids})
    if not all(scope_covers(actor.scope, g, departments) for g in granted):
        raise _scope_error("You cannot give anybody a data scope wider than your own.")


# --- companies -----------------------------------------------------------------------------------

async def create_company(session: AsyncSession, actor: Principal, data: CompanyCreate) -> Company:
    if not actor.scope.all_companies:
        raise OrgGroupScopeRequired("Only a group-wide administrator creates companies.")
    if await repo.company_code_taken(session, actor.group_id, data.code):
        raise CompanyCodeTaken(f"Company code {data.code} already exists.")
    company = Company(group_id=actor.group_id, **data.model_dump())
    session.add(company)
    await session.flush()
    audit.record(session, actor, "company.created", "company", company.id, company_id=company.id,
                 after=audit.snapshot(company))
    return company


async def update_company(session: AsyncSession, actor: Principal, company: Company, data: CompanyUpdate) -> Company:
    await audited_update(session, actor, company, data, action="company.updated", entity_type="company",
                         company_id=company.id)
    return company


# --- departments ---------------------------------------------------------------------------------

async def create_department(session: AsyncSession, actor: Principal, data: DepartmentCreate) -> Department:
    company = await get_readable(session, actor, Company, data.company_id, code=CompanyNotFound.code)
    if data.parent_id is not None:
        parent = await get_readable(session, actor, Department, data.parent_id, code=DepartmentNotFound.code)
        if parent.company_id != company.id:
            raise DepartmentParentMismatch("The parent department belongs to another company.",
                                           errors=[{"pointer": "/body/parent_id", "message": "other company"}])
    if data.head_user_id is not None:
        await get_readable(session, actor, User, data.head_user_id, code=UserNotFound.code)
    dept = Department(group_id=actor.group_id, **data.model_dump())
    session.add(dept)
    await _flush_unique(session, "A department with this name already exists here.", DepartmentNameTaken)
    audit.record(session, actor, "department.created", "department", dept.id, company_id=dept.company_id,
                 after=audit.snapshot(dept))
    return dept


async def update_department(session: AsyncSession, actor: Principal, dept: Department,
                            data: DepartmentUpdate) -> Department:
    if data.head_user_id is not None:
        await get_readable(session, actor, User, data.head_user_id, code=UserNotFound.code)
    try:
        # A savepoint, so a rename racing into a taken name answers 409 instead of a 500.
        async with session.begin_nested():
            await audited_update(session, actor, dept, data, action="department.updated",
                                 entity_type="department", company_id=dept.company_id)
    except IntegrityError as exc:
        raise DepartmentNameTaken("A department with this name already exists here.") from exc
    return dept


async def _flush_unique(session: AsyncSession, detail: str, error: type[Conflict]) -> None:
    """Flush, turning a unique-constraint race into a 409 instead of a 500."""
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise error(detail) from exc


# --- roles ---------------------------------------------------------------------------------------

async def _validated_scope_companies(session: AsyncSession, actor: Principal, kind: str,
                                     company_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    if kind != ScopeKind.COMPANIES:
        return []
    if not company_ids:
        raise RoleScopeCompaniesRequired("A 'companies' scope needs at least one company.",
                                         errors=[{"pointer": "/body/scope_company_ids", "message": "required"}])
    # Companies outside the actor's scope answer exactly like companies that do not exist.
    found = await repo.readable_company_ids(session, actor, company_ids)
    if found != set(company_ids):
        raise RoleUnknownCompany("Some companies are not in this group.",
                                 errors=[{"pointer": "/body/scope_company_ids", "message": "unknown company"}])
    return sorted(found, key=str)


async def create_role(session: AsyncSession, actor: Principal, data: RoleCreate) -> Role:
    ensure_may_hand_out(actor, data.permissions, data.rank)
    companies = await _validated_scope_companies(session, actor, data.scope_kind, data.scope_company_ids)
    # A relative kind (company, department...) is judged as it would apply to the actor themself.
    await ensure_scope_within(session, actor, [(data.scope_kind, companies)],
                              [(actor.company_id, actor.department_id)])
    role = Role(group_id=actor.group_id, code=data.code, name=data.name, permissions=sorted(set(data.permissions)),
                scope_kind=data.scope_kind, scope_company_ids=companies, rank=data.rank, is_system_admin=False)
    session.add(role)
    await _flush_unique(session, f"Role code {data.code} already exists.", RoleCodeTaken)
    audit.record(session, actor, "role.created", "role", role.id, after=audit.snapshot(role))
    return role


async def update_role(session: AsyncSession, actor: Principal, role: Role, data: RoleUpdate) -> Role:
    if role.is_system_admin and not actor.is_system_admin:
        raise _hierarchy_error("Only the system administrator changes the administrator role.")
    if not actor.is_system_admin and role.rank >= actor.rank:
        raise _hierarchy_error("You may only change roles below your level.")
    changes = data.model_dump(exclude_unset=True)
    permissions = changes.get("permissions") or role.permissions
    rank = changes.get("rank") if changes.get("rank") is not None else role.rank
    ensure_may_hand_out(actor, permissions, rank)
    kind = changes.get("scope_kind") or role.scope_kind
    company_ids = changes.get("scope_company_ids")
    companies = await _validated_scope_companies(
        session, actor, kind, company_ids if company_ids is not None else role.scope_company_ids)
    # The new scope applies at once to everybody holding the role: it must stay within the
    # actor's reach for each of them, and for the actor themself.
    await ensure_scope_within(session, actor, [(kind, companies)],
                              {(actor.company_id, actor.department_id),
                               *await repo.role_holders_placements(session, role.id)})
    patch = {**changes, "scope_kind": kind, "permissions": sorted(set(permissions)), "rank": rank,
             "scope_company_ids": companies}
    await audited_update(session, actor, role, patch, action="role.updated", entity_type="role")
    return role


# --- users ---------------------------------------------------------------------------------------

async def _roles_for_assignment(session: AsyncSession, actor: Principal, role_ids: list[uuid.UUID]) -> list[Role]:
    roles = await repo.readable_roles(session, actor, role_ids)
    if len(roles) != len(set(role_ids)):
        raise UserUnknownRole("Some roles do not exist.",
                              errors=[{"pointer": "/body/role_ids", "message": "unknown role"}])
    for role in roles:
        if role.is_system_admin and not actor.is_system_admin:
            raise _hierarchy_error("Only the system administrator grants the administrator role.")
        ensure_may_hand_out(actor, role.permissions, role.rank)
    return list(roles)


async def _check_placement(session: AsyncSession, actor: Principal, company_id: uuid.UUID,
                           department_id: uuid.UUID | None, manager_id: uuid.UUID | None) -> None:
    await get_readable(session, actor, Company, company_id, code=CompanyNotFound.code)
    if department_id is not None:
        dept = await get_readable(session, actor, Department, department_id, code=DepartmentNotFound.code)
        if dept.company_id != company_id:
            raise UserDepartmentMismatch("The department belongs to another company.",
                                         errors=[{"pointer": "/body/department_id", "message": "other company"}])
    if manager_id is not None:
        await get_readable(session, actor, User, manager_id, code=UserNotFound.code)


async def create_user(session: AsyncSession, actor: Principal, data: UserCreate) -> User:
    await _check_placement(session, actor, data.company_id, data.department_id, data.manager_id)
    roles = await _roles_for_assignment(session, actor, data.role_ids)
    await ensure_scope_within(session, actor, [(r.scope_kind, r.scope_company_ids) for r in roles],
                              [(data.company_id, data.department_id)])
    if not actor.is_system_admin and max((r.rank for r in roles), default=0) >= actor.rank:
        raise _hierarchy_error("A new user must rank below you.")
    if await repo.username_taken(session, data.username):
        raise UserUsernameTaken("This username is taken.")
    user = User(
        group_id=actor.group_id, company_id=data.company_id, department_id=data.department_id,
        manager_id=data.manager_id, username=data.username, display_name=data.display_name,
        phone=data.phone, email=data.email, password_hash=await hash_password(data.password),
    )
    session.add(user)
    await _flush_unique(session, "This username is taken.", UserUsernameTaken)
    session.add_all(UserRole(user_id=user.id, role_id=r.id) for r in roles)
    await session.flush()
    audit.record(session, actor, "user.created", "user", user.id, company_id=user.company_id,
                 after={**audit.snapshot(user), "role_ids": [r.id for r in roles]})
    return user


async def _ensure_grants_within(session: AsyncSession, actor: Principal, user: User, roles: list[Role] | None,
                                department_id: uuid.UUID | None) -> None:
    """The scope rule for a change of roles (`roles`, or None when unchanged) or department: the
    roles added, and on a move the department-relative roles kept, must stay within the actor's
    scope at the user's new place."""
    held = (await repo.roles_of(session, [user.id]))[user.id]
    held_ids = {h.id for h in held}
    granted = [r for r in roles if r.id not in held_ids] if roles is not None else []
    if department_id != user.department_id:
        # Moving a user moves what their department-relative roles reach.
        granted += [r for r in (roles if roles is not None else held)
                    if r.scope_kind in (ScopeKind.DEPARTMENT, ScopeKind.DEPARTMENT_TREE)]
    await ensure_scope_within(session, actor, [(r.scope_kind, r.scope_company_ids) for r in granted],
                              [(user.company_id, department_id)])


async def update_user(session: AsyncSession, actor: Principal, user: User, data: UserUpdate) -> User:
    await ensure_may_manage_user(session, actor, user)
    changes = data.model_dump(exclude_unset=True)
    if "department_id" in changes or "manager_id" in changes:
        await _check_placement(session, actor, user.company_id, changes.get("department_id", user.department_id),
                               changes.get("manager_id", user.manager_id))
        if changes.get("manager_id") == user.id:
            raise UserSelfManager("A user cannot be their own manager.",
                                  errors=[{"pointer": "/body/manager_id", "message": "self"}])
    roles = await _roles_for_assignment(session, actor, changes["role_ids"]) \
        if changes.get("role_ids") is not None else None
    department_id = changes.get("department_id", user.department_id)
    if roles is not None or department_id != user.department_id:
        await _ensure_grants_within(session, actor, user, roles, department_id)
    if roles is not None:
        await repo.replace_user_roles(session, user.id, [r.id for r in roles])
    patch = {key: changes[key] for key in ("display_name", "department_id", "manager_id", "phone", "email",
                                           "is_active") if key in changes}
    if changes.get("password"):
        patch["password_hash"] = await hash_password(changes["password"])
    if patch.get("password_hash") or (patch.get("is_active") is False and user.is_active):
        await revoke_all_for_user(session, user.id)
    await audited_update(session, actor, user, patch, action="user.updated", entity_type="user",
                         company_id=user.company_id,
                         related={"role_ids": changes["role_ids"]} if roles is not None else None)
    return user


async def lock_user(session: AsyncSession, actor: Principal, user: User, reason: str) -> User:
    await ensure_may_manage_user(session, actor, user)
    if user.id == actor.user_id:
        raise UserLockSelf("You cannot lock yourself.")
    if user.locked_at is None:
        user.locked_at, user.lock_reason = utcnow(), reason
    await revoke_all_for_user(session, user.id)
    await session.flush()
    audit.record(session, actor, "user.locked", "user", user.id, company_id=user.company_id,
                 after={"reason": reason})
    return user


async def unlock_user(session: AsyncSession, actor: Principal, user: User) -> User:
    await ensure_may_manage_user(session, actor, user)
    if user.locked_at is not None:
        user.locked_at, user.lock_reason = None, None
        user.failed_login_count, user.failed_login_date = 0, None
    await session.flush()
    audit.record(session, actor, "user.unlocked", "user", user.id, company_id=user.company_id)
    return user


async def set_permission_override(session: AsyncSession, actor: Principal, user: User, permission: str,
                                  granted: bool | None) -> None:
    """Grant (True) or withdraw (False) one permission for one user; None removes the override."""
    await ensure_may_manage_user(session, actor, user)
    if not is_known(permission):
        raise PermissionUnknown(f"Unknown permission {permission}.")
    if granted and not actor.is_system_admin and permission not in actor.permissions:
        raise _hierarchy_error("You cannot give away a permission you do not hold.")
    await repo.set_permission_override(session, user.id, permission, granted)
    # The override lives in user_permission, not on the row, yet the user's ETag covers it: no
    # column changes, so the mapper would not bump the version by itself.
    user.version += 1
    await session.flush()
    audit.record(session, actor, "user.permission_overridden", "user", user.id, company_id=user.company_id,
                 after={"permission": permission, "granted": granted})


async def get_user_for_change(session: AsyncSession, actor: Principal, user_id: uuid.UUID) -> User:
    return await get_writable(session, actor, User, user_id, code=UserNotFound.code)
