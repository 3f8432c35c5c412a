"""Tenant and data-scope filtering, in one place.

Every scoped model declares a `ScopeSpec` (which columns carry the group, the company, the
department and the "own record" users, plus any extra visibility such as shares). Repositories
start every read from `readable(principal, Model)` and every change from `writable(...)`, so no
endpoint can forget the tenant or the scope. Objects outside answer 404, never 403.
"""

import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, bindparam, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import NotFound, ReadOnly
from app.core.principal import Principal

M = TypeVar("M")


@dataclass(frozen=True)
class ScopeSpec:
    group: Any
    company: Any = None
    department: Any = None
    # Columns holding user ids that make a row "own" (owner, creator, assignee...).
    owners: tuple[Any, ...] = ()
    # Further visibility beyond the role scope (e.g. customers shared with the caller).
    # Must depend on the principal only (scoped SELECTs are cached per principal): anything that
    # changes with time or data (now(), shares) is evaluated in SQL, not in Python.
    extra_read: Callable[[Principal], ColumnElement[bool]] | None = None
    extra_write: Callable[[Principal], ColumnElement[bool]] | None = None
    # Rows visible to everybody in the tenant (e.g. the public pool's names) are not handled
    # here: such reads are explicit, separate queries with their own narrow projection.
    tenant_wide: bool = False
    notes: str = field(default="", compare=False)


_SPECS: dict[type, Callable[[], ScopeSpec]] = {}

# The caller's own values in a scope condition (their group, company, departments, user id) are
# parameters named `scope_param_<n>`, so a hot page can hide them from PostgreSQL's planner
# (core/hotsql.py `Prepared(hide=...)`): the best plan of a page does not depend on who asks, while
# it does depend on what they filter for, and those values stay in view. Scope conditions written
# in an area (a ScopeSpec's `extra_read`) use these helpers too.
SCOPE_PARAMETER = "scope_param"


def scope_eq(column: Any, value: Any) -> ColumnElement[bool]:
    """`column = value`, the value one of the caller's scope (see SCOPE_PARAMETER); `IS NULL` for
    None, as `column == None` would be."""
    if value is None:
        return column.is_(None)
    return column == bindparam(SCOPE_PARAMETER, value, type_=column.type, unique=True)


def scope_in(column: Any, values: frozenset[Any]) -> ColumnElement[bool]:
    """`column IN (values)`, the values the caller's scope (see SCOPE_PARAMETER)."""
    return column.in_(bindparam(SCOPE_PARAMETER, sorted(values, key=str), type_=column.type, unique=True,
                                expanding=True))


def scoped(spec: Callable[[type], ScopeSpec]) -> Callable[[type[M]], type[M]]:
    """Class decorator registering a model's scope spec (resolved lazily, after mapping)."""

    def decorate(model: type[M]) -> type[M]:
        _SPECS[model] = lambda: spec(model)
        return model

    return decorate


def spec_of(model: type) -> ScopeSpec:
    try:
        return _SPECS[model]()
    except KeyError:
        raise TypeError(f"{model.__name__} has no ScopeSpec; decorate it with @scoped") from None


# Rows owned by users (no department column of their own) are in a department scope when their
# owner is in one of the departments. Which users those are is the organisation's knowledge: org
# registers the subquery here, so core does not import a domain package. A list pages such a scope
# one pass per member; an owned table that lists at scale stores the owner's department instead
# (`owner_department_id`, kept by triggers, e.g. customers) and names it as its `department`.
DepartmentMembers = Callable[[frozenset[uuid.UUID]], Any]
_department_members: DepartmentMembers | None = None


def register_department_members(members: DepartmentMembers) -> None:
    global _department_members
    _department_members = members


def _users_in_departments(department_ids: frozenset[uuid.UUID]) -> Any:
    if _department_members is None:  # pragma: no cover - app.org.models registers it at import
        raise RuntimeError("no department membership registered (import app.domains)")
    return _department_members(department_ids)


@dataclass(frozen=True, eq=False)
class ScopeBranch:
    """One disjunct of a principal's scope, as a list can walk it along an index.

    `condition` is what the branch admits (the scope is their OR). A list splits along the
    branches (see `paginate`): `column` = each of `values` (a collection of ids: one ordered pass
    per id), or `column` = each id a one-column SELECT `members` yields (one LATERAL pass per
    member, e.g. the owners in a department), or the bare condition when neither is set.
    """

    condition: ColumnElement[bool]
    column: Any = None
    values: frozenset[Any] | None = None
    members: Select[Any] | None = None


def scope_branches(principal: Principal, model: type, *, write: bool = False) -> tuple[ScopeBranch, ...] | None:
    """The principal's scope on `model` within the tenant, branch by branch; None for the whole
    tenant, () for nothing."""
    spec = spec_of(model)
    scope = principal.scope
    if spec.tenant_wide or scope.all_companies:
        return None
    branches: list[ScopeBranch] = []
    if spec.company is not None and scope.company_ids:
        branches.append(ScopeBranch(scope_in(spec.company, scope.company_ids), spec.company, scope.company_ids))
    if scope.department_ids:
        if spec.department is not None:
            branches.append(ScopeBranch(scope_in(spec.department, scope.department_ids), spec.department,
                                        scope.department_ids))
        else:
            for owner in spec.owners:
                members = _users_in_departments(scope.department_ids)
                branches.append(ScopeBranch(owner.in_(members), owner, members=members))
    branches.extend(ScopeBranch(scope_eq(owner, principal.user_id)) for owner in spec.owners)
    extra = spec.extra_write if write else spec.extra_read
    if extra is not None:
        branches.append(ScopeBranch(extra(principal)))
    return tuple(branches)


def _either(branches: tuple[ScopeBranch, ...]) -> ColumnElement[bool]:
    return or_(*(b.condition for b in branches)) if branches else false()


def scope_condition(principal: Principal, model: type, *, write: bool = False) -> ColumnElement[bool]:
    spec = spec_of(model)
    tenant = scope_eq(spec.group, principal.group_id)
    branches = scope_branches(principal, model, write=write)
    return tenant if branches is None else tenant & _either(branches)


@dataclass(frozen=True, eq=False)
class ScopeSplit:
    """What `readable()` leaves on its statement (execution option SCOPE_SPLIT) for a list to page
    branch by branch: the OR it put in the WHERE clause (this very object), its branches, and the
    tenant condition (this very object too)."""

    either: ColumnElement[bool]
    branches: tuple[ScopeBranch, ...]
    tenant: ColumnElement[bool]


SCOPE_SPLIT = "recourse_scope_split"


# A principal's scoped SELECT of a whole model, built once per worker: principals are cached
# objects (immutable, hashable) and so is a Select (every `.where()` makes a new one), so the
# next request of the same principal starts from the same statement instead of rebuilding the
# tenant and scope predicate. Bounded; a changed principal (new stamp) is a new key.
_BUILT: OrderedDict[tuple[Principal, type, bool], Select[Any]] = OrderedDict()
_BUILT_MAX = 4096


def _scoped_select(principal: Principal, model: type, entities: tuple[Any, ...], write: bool) -> Select[Any]:
    if entities:  # column lists are often built per call (labels): nothing to reuse
        return _build_scoped_select(principal, model, entities, write)
    key = (principal, model, write)
    stmt = _BUILT.get(key)
    if stmt is None:
        stmt = _BUILT[key] = _build_scoped_select(principal, model, entities, write)
        if len(_BUILT) > _BUILT_MAX:
            _BUILT.popitem(last=False)
    return stmt


def _build_scoped_select(principal: Principal, model: type, entities: tuple[Any, ...], write: bool) -> Select[Any]:
    stmt = select(*(entities or (model,)))
    if entities:
        stmt = stmt.select_from(model)
    spec = spec_of(model)
    tenant = scope_eq(spec.group, principal.group_id)
    stmt = stmt.where(tenant)
    branches = scope_branches(principal, model, write=write)
    if branches is None:
        return stmt
    either = _either(branches)
    return stmt.where(either).execution_options(**{SCOPE_SPLIT: ScopeSplit(either, branches, tenant)})


def readable(principal: Principal, model: type[M], *entities: Any) -> Select[Any]:
    """SELECT of `model` (or the given entities/columns) limited to what the principal may read."""
    return _scoped_select(principal, model, entities, write=False)


def writable(principal: Principal, model: type[M], *entities: Any) -> Select[Any]:
    return _scoped_select(principal, model, entities, write=True)


async def get_readable(session: AsyncSession, principal: Principal, model: type[M], id_: Any,
                       *, for_update: bool = False, code: str | None = None) -> M:
    """The object if the principal may read it; 404 otherwise (same answer as missing), with the
    resource's own `code` (`<resource>.not_found`) when given."""
    stmt = readable(principal, model).where(model.id == id_)  # type: ignore[attr-defined]
    if for_update:
        # Refresh an object this session already holds with the row as the lock found it.
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    obj = await session.scalar(stmt)
    if obj is None:
        raise NotFound(f"{model.__name__} {id_} not found.", code=code)
    return obj


async def get_writable(session: AsyncSession, principal: Principal, model: type[M], id_: Any,
                       *, code: str | None = None) -> M:
    """The object, row-locked, if the principal may change it; 404 when it is not even readable."""
    obj = await session.scalar(
        writable(principal, model).where(model.id == id_).with_for_update()  # type: ignore[attr-defined]
        .execution_options(populate_existing=True)
    )
    if obj is None:
        await get_readable(session, principal, model, id_, code=code)  # 404 when invisible
        raise ReadOnly("You may read this record but not change it.")
    return obj
