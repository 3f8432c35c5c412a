"""Every value of the caller's scope is written as a scope parameter (core/scoping.py,
SCOPE_PARAMETER), in core's conditions and in the ones areas add (a ScopeSpec's `extra_read`).

Why it matters: a hot page hides these parameters from PostgreSQL's planner, so one plan serves the
list at any table size (core/hotsql.py `opaque_parameters`). A condition written in an area with a
plain `column == principal.user_id` would still be correct, but would leave that value in view and
PostgreSQL re-planning the area's pages at scale; this test names such a condition."""

import dataclasses

from sqlalchemy.dialects.postgresql.asyncpg import dialect

from app.core import scoping
from app.core.principal import DataScope
from app.org.repository import load_principal

_DIALECT = dialect()


def _principals(base, org):
    """One principal per scope kind (department scopes included, which the demo's roles lack)."""
    departments = frozenset(d.id for d in org.departments.values())
    companies = frozenset(c.id for c in org.companies.values())
    scope = lambda **kw: dataclasses.replace(base, scope=DataScope(**kw))  # noqa: E731
    return {
        "self": scope(),
        "company": scope(company_ids=frozenset({base.company_id})),
        "companies": scope(company_ids=companies),
        "departments": scope(department_ids=departments),
        "company and departments": scope(company_ids=frozenset({base.company_id}), department_ids=departments),
    }


def _callers_values(principal) -> set:
    return {principal.user_id, principal.group_id, principal.company_id, principal.department_id,
            *principal.scope.company_ids, *principal.scope.department_ids}


async def test_every_scope_condition_writes_the_callers_values_as_scope_parameters(db, org):
    base = await load_principal(db, org.users["clerk1"].id)
    offenders = []
    for kind, principal in _principals(base, org).items():
        mine = _callers_values(principal)
        for model in list(scoping._SPECS):
            for write in (False, True):
                stmt = (scoping.writable if write else scoping.readable)(principal, model)
                compiled = stmt.compile(dialect=_DIALECT, compile_kwargs={"render_postcompile": True})
                for name in compiled.positiontup or ():
                    value = compiled.params[name]
                    if value in mine and not name.startswith(scoping.SCOPE_PARAMETER):
                        offenders.append(f"{model.__name__} ({kind}, {'write' if write else 'read'}): {name}")
    assert not offenders, "scope values written without scope_eq/scope_in:\n" + "\n".join(sorted(set(offenders)))
