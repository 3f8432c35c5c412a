"""The one audited update: apply a PATCH, let the mapper bump the version, audit before/after.

The null rule, everywhere: a field the client did not send is left alone; an explicit `null`
clears a nullable column and is refused (422) on a NOT NULL one. Validation of values is the
schema's; this only applies what the schema accepted.
"""

from typing import Any

from pydantic import BaseModel
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.errors import InvalidInput
from app.core.principal import Principal


def documents_not_null(model: Any) -> Any:
    """`json_schema_extra` for a PATCH schema: a field backed by a NOT NULL column is documented
    as optional but not nullable (the null rule above answers 422 to an explicit null), so the
    contract promises exactly what the server accepts."""

    def extra(schema: dict[str, Any]) -> None:
        columns = inspect(model).columns
        for name, prop in schema.get("properties", {}).items():
            if name not in columns or columns[name].nullable or "anyOf" not in prop:
                continue
            branches = [b for b in prop["anyOf"] if b.get("type") != "null"]
            del prop["anyOf"]
            if len(branches) == 1:
                prop.update(branches[0])
            else:
                prop["anyOf"] = branches
            if "default" in prop and prop["default"] is None:
                del prop["default"]

    return extra


def changes_of(patch: BaseModel | dict[str, Any]) -> dict[str, Any]:
    """What the client sent: a model's set fields (unset ones are absent), or a dict as it is."""
    return patch.model_dump(exclude_unset=True) if isinstance(patch, BaseModel) else dict(patch)


def apply_changes(obj: Any, changes: dict[str, Any]) -> dict[str, Any]:
    """Set each changed attribute under the null rule; returns the changes that differ from the row."""
    columns = inspect(type(obj)).columns
    refused = [key for key, value in changes.items()
               if value is None and key in columns and not columns[key].nullable]
    if refused:
        raise InvalidInput("These fields cannot be cleared.", code="request.field_not_nullable",
                           errors=[{"pointer": f"/body/{key}", "message": "may not be null"} for key in refused])
    applied = {}
    for key, value in changes.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)
            applied[key] = value
    return applied


async def audited_update(
    session: AsyncSession,
    actor: Principal,
    obj: Any,
    patch: BaseModel | dict[str, Any],
    *,
    action: str,
    entity_type: str,
    company_id: Any = None,
    related: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Apply `patch` to `obj`, flush (the version bumps; a concurrent change → 409) and audit.

    `related`: changes stored outside the row that its ETag still covers (a user's roles); they
    are audited beside the columns and bump the version even when no column changed.
    Returns the changes applied; nothing is written or audited when nothing changed."""
    before = audit.snapshot(obj)
    applied = apply_changes(obj, changes_of(patch))
    if applied or related:
        if not applied:
            obj.version += 1  # no column changed, so the mapper would not bump it by itself
        await session.flush()
        audit.record(session, actor, action, entity_type, obj.id, company_id=company_id,
                     before=before, after={**audit.snapshot(obj), **(related or {})})
    return applied
