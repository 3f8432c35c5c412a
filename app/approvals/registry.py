"""The request-type registry: how a business area plugs its requests into the approval engine.

An area registers a `RequestType` once at import (see app/expenses/approval.py):

- `name` and localised `titles`;
- `fields`: the request fields step conditions may use, with their kind (conditions.DECIMAL or
  conditions.STRING); the engine always adds `company` (the company code);
- `load(session, request_id)`: lock and read the request, answering a `Submission` (who counts as
  submitter, its company, a title, the snapshot kept on the instance, and the condition values);
- effects `on_submitted`, `on_approved`, `on_rejected`, `on_withdrawn`: called by the engine inside the
  transaction of the action. `on_approved` runs exactly once per instance, in the transaction of the
  last approval (the engine guards it with the instance row lock and `effect_applied_at`);
- `on_approving`: the request's standing rules, checked before every approval is recorded, at each
  step (raise to refuse it: what was true at submission may no longer be, e.g. a waiver above a
  penalty that payments have lowered since).
"""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.approvals import conditions
from app.approvals.errors import (
    ApprovalUnknownRequestType,
)
from app.core.principal import Principal

if TYPE_CHECKING:  # pragma: no cover
    from app.approvals.models import ApprovalInstance


@dataclass(frozen=True)
class Submission:
    group_id: uuid.UUID
    company_id: uuid.UUID
    submitter_id: uuid.UUID
    title: str
    # JSON-able copy of what is being approved; stored on the instance at submit.
    snapshot: dict[str, Any]
    # Values of the declared condition fields (Decimal for decimal fields).
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EffectContext:
    session: AsyncSession
    actor: Principal
    instance: "ApprovalInstance"
    comment: str | None = None


Loader = Callable[[AsyncSession, uuid.UUID], Awaitable[Submission | None]]
# Locks the request row (the first lock of every action on a request; see app/approvals/requests.py).
Locker = Callable[[AsyncSession, uuid.UUID], Awaitable[Any]]
Effect = Callable[[EffectContext], Awaitable[None]]


async def _nothing(ctx: EffectContext) -> None:
    return None


@dataclass(frozen=True)
class RequestType:
    name: str
    titles: dict[str, str]
    fields: dict[str, str]
    load: Loader
    on_submitted: Effect = _nothing
    on_approved: Effect = _nothing
    on_rejected: Effect = _nothing
    on_withdrawn: Effect = _nothing
    on_approving: Effect = _nothing
    lock: Locker | None = None

    def condition_fields(self) -> dict[str, str]:
        return {**self.fields, "company": conditions.STRING}


_REGISTRY: dict[str, RequestType] = {}


def register(request_type: RequestType) -> RequestType:
    for kind in request_type.fields.values():
        if kind not in conditions.FIELD_KINDS:
            raise ValueError(f"unknown field kind {kind!r} in {request_type.name}")
    _REGISTRY[request_type.name] = request_type
    return request_type


def unregister(name: str) -> None:
    """For tests that register a throwaway type."""
    _REGISTRY.pop(name, None)


def get(name: str) -> RequestType:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ApprovalUnknownRequestType(f"Unknown request type {name!r}.") from None


def is_registered(name: str) -> bool:
    return name in _REGISTRY


def all_types() -> list[RequestType]:
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]
