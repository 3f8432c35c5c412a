"""The request kit: everything a request type on the approval engine shares, written once.

A request (expense, interest waiver, tow, settlement, lock/unlock…) is a row its requester drafts
and edits, then submits; the engine decides it; the request's own status mirrors the engine's. An
area brings only its own fields and rules:

    class WaiverRequest(RequestMixin, Base):           # the state columns come from the mixin
        __tablename__ = "interest_waiver"
        __table_args__ = request_table_args("interest_waiver")
        amount: Mapped[Decimal] = ...

    WAIVER = register_request(WaiverRequest, name="interest_waiver", titles=..., fields=...,
                              title=..., snapshot=..., values=..., on_approved=post_the_waiver)

and `request_routes(...)` (app/approvals/request_routes.py) for create/list/detail/update/delete/
submit/withdraw. `register_request` derives the engine's loader, the row lock and the status
mirror, and files the type under its kind for the field surface's `POST /requests/{kind}`.

Lock order (never the other way round, or a submit and an approval can deadlock): the request row
first (`lock_request`), then the approval instance. Request routes lock the request before calling
the engine; the engine's own actions lock the request through `RequestType.lock` before the
instance.
"""

import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import DateTime, ForeignKey, Index, Select, String, UniqueConstraint, cast, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.approvals import registry
from app.approvals import service as engine
from app.approvals.errors import RequestConflictingRetry
from app.approvals.repository import lock_request
from app.core import audit, client_ids
from app.core.client_ids import ClientRef
from app.core.db import Timestamps, UUIDPk, Versioned, utcnow
from app.core.errors import Conflict, Forbidden
from app.core.principal import Principal
from app.core.scoping import ScopeSpec
from app.core.sql import check_in
from app.core.updates import audited_update


class RequestStatus:
    DRAFT = "draft"
    PENDING = "pending"  # under approval: cannot be edited
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    CHOICES = (DRAFT, PENDING, APPROVED, REJECTED, WITHDRAWN)
    EDITABLE = (DRAFT, REJECTED, WITHDRAWN)


def approval_moves(*, editable: Iterable[str], pending: str, approved: str, rejected: str,
                   withdrawn: str) -> dict[tuple[str, str], str]:
    """The moves of a record decided on the approval engine, for its transition table: `submit`
    from any editable state to `pending`; from there the engine's effects `approve`, `reject` and
    `withdraw` (a request's or a contract's own state names for where each leads)."""
    return {**{(state, "submit"): pending for state in editable},
            (pending, "approve"): approved, (pending, "reject"): rejected, (pending, "withdraw"): withdrawn}


# The request's state machine mirrors the engine's instance: only the engine's effects move a
# request out of pending; a pending (or approved) request is never edited.
TRANSITIONS: dict[tuple[str, str], str] = approval_moves(
    editable=RequestStatus.EDITABLE, pending=RequestStatus.PENDING, approved=RequestStatus.APPROVED,
    rejected=RequestStatus.REJECTED, withdrawn=RequestStatus.WITHDRAWN)


class RequestMixin(UUIDPk, ClientRef, Timestamps, Versioned):
    """The columns every request has: who, where, where it stands in its approval, and the phone's
    own id for a request filed offline (`client_ref`, app/core/client_ids.py)."""

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org_group.id"))
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("company.id"), index=True)
    department_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("department.id"))
    requester_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=RequestStatus.DRAFT)
    approval_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("approval_instance.id", ondelete="SET NULL"))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


def request_table_args(tablename: str, *extra: Any) -> tuple[Any, ...]:
    """`__table_args__` for a request table: the status CHECK, the list index and the requester's
    unique client references, plus `extra`."""
    return (check_in("status", RequestStatus.CHOICES, name="status_valid"),
            Index(f"ix_{tablename}_group_id_created_at", "group_id", "created_at"),
            UniqueConstraint("requester_id", "client_ref"), *extra)


def request_scope(model: Any) -> ScopeSpec:
    """Requests are seen by their company's scope, their department's, and their requester."""
    return ScopeSpec(group=model.group_id, company=model.company_id, department=model.department_id,
                     owners=(model.requester_id,))


R = TypeVar("R", bound=RequestMixin)
RequestEffect = Callable[[registry.EffectContext, Any], Awaitable[None]]


@dataclass(frozen=True)
class RequestKind(Generic[R]):
    """A registered request type: its model, its engine name and how it shows in an approval."""

    name: str
    model: type[R]
    entity_type: str
    engine_type: registry.RequestType

    async def lock(self, session: AsyncSession, request_id: uuid.UUID) -> R | None:
        return await lock_request(session, self.model, request_id)


_KINDS: dict[str, RequestKind[Any]] = {}


def transition(request: RequestMixin, action: str, name: str) -> str:
    """Move the request (of type `name`) along its state machine; 409 for an illegal transition."""
    target = TRANSITIONS.get((request.status, action))
    if target is None:
        raise Conflict(f"Cannot {action} a request that is {request.status}.", code=f"{name}.illegal_transition")
    request.status = target
    return target


def register_request(
    model: type[R],
    *,
    name: str,
    entity_type: str,
    titles: dict[str, str],
    fields: dict[str, str],
    title: Callable[[R], str],
    snapshot: Callable[[R], dict[str, Any]],
    values: Callable[[R], dict[str, Any]],
    on_approved: RequestEffect | None = None,
    on_submitted: RequestEffect | None = None,
    on_rejected: RequestEffect | None = None,
    on_withdrawn: RequestEffect | None = None,
    on_approving: RequestEffect | None = None,
    submitter: Callable[[R], uuid.UUID] | None = None,
) -> RequestKind[R]:
    """Register `model` as request type `name`: the engine's loader, lock and status mirror derived.

    `on_approved(ctx, request)` is the request's business effect (post the waiver, open the tow
    task…); it runs once, in the transaction of the final approval, after the status moved.
    `on_submitted`, `on_rejected` and `on_withdrawn` are the business effects of the other
    actions (a contract returns to its clerk as a draft), run after the status moved as well.
    `on_approving(ctx, request)` checks that the request still stands before each approval (every
    step), and refuses it by raising.
    `submitter(request)`: who submits it, when that is not always its requester (a clerk submits
    the contract a salesperson drafted); the engine never lets the submitter approve."""

    async def load(session: AsyncSession, request_id: uuid.UUID) -> registry.Submission | None:
        request = await lock_request(session, model, request_id)
        if request is None:
            return None
        return registry.Submission(group_id=request.group_id, company_id=request.company_id,
                                   submitter_id=submitter(request) if submitter else request.requester_id,
                                   title=title(request),
                                   snapshot={**snapshot(request), "version": request.version},
                                   values=values(request))

    async def locked(ctx: registry.EffectContext) -> R:
        request = await lock_request(ctx.session, model, ctx.instance.request_id)
        assert request is not None  # an instance exists only for an existing request
        return request

    async def submitted(ctx: registry.EffectContext) -> None:
        request = await locked(ctx)
        transition(request, "submit", name)
        request.approval_id, request.submitted_at, request.approved_at = ctx.instance.id, utcnow(), None
        if on_submitted is not None:
            await on_submitted(ctx, request)

    async def approved(ctx: registry.EffectContext) -> None:
        request = await locked(ctx)
        before = audit.snapshot(request, "status", "approved_at")
        transition(request, "approve", name)
        request.approved_at = utcnow()
        await ctx.session.flush()
        if on_approved is not None:
            await on_approved(ctx, request)
        audit.record(ctx.session, ctx.actor, f"{name}.approved", entity_type, request.id,
                     company_id=request.company_id, before=before, after=audit.snapshot(request, "status",
                                                                                         "approved_at"))

    async def approving(ctx: registry.EffectContext) -> None:
        if on_approving is not None:
            await on_approving(ctx, await locked(ctx))

    def mirror(action: str, past: str, business: RequestEffect | None) -> registry.Effect:
        async def effect(ctx: registry.EffectContext) -> None:
            request = await locked(ctx)
            transition(request, action, name)
            if business is not None:
                await business(ctx, request)
            audit.record(ctx.session, ctx.actor, f"{name}.{past}", entity_type, request.id,
                         company_id=request.company_id, after={"status": request.status, "reason": ctx.comment})
        return effect

    engine_type = registry.register(registry.RequestType(
        name=name, titles=titles, fields=fields, load=load, on_submitted=submitted, on_approved=approved,
        on_rejected=mirror("reject", "rejected", on_rejected),
        on_withdrawn=mirror("withdraw", "withdrawn", on_withdrawn), on_approving=approving,
        lock=lambda session, request_id: lock_request(session, model, request_id)))
    kind = RequestKind(name=name, model=model, entity_type=entity_type, engine_type=engine_type)
    _KINDS[name] = kind
    return kind


def kinds() -> dict[str, RequestKind[Any]]:
    """Every registered request kind by name (the field surface's `POST /requests/{kind}`)."""
    return dict(_KINDS)


# --- the generic request actions the routes call ------------------------------------------------------


def _ensure_requester(actor: Principal, kind: RequestKind[Any], request: RequestMixin) -> None:
    if actor.user_id != request.requester_id:
        raise Forbidden("Only the requester may change or submit this request.", code=f"{kind.name}.not_requester")


def new_request(kind: RequestKind[R], actor: Principal, fields: dict[str, Any],
                company_id: uuid.UUID | None = None) -> R:
    """A draft owned by the caller, in their department and in `company_id` (a request about a
    contract belongs to the contract's company, which decides who approves and sees it) or else
    their own company."""
    return kind.model(group_id=actor.group_id, company_id=company_id or actor.company_id,
                      department_id=actor.department_id, requester_id=actor.user_id, status=RequestStatus.DRAFT,
                      **fields)


def conflicting_retry(record: Any) -> RequestConflictingRetry:
    """The caller's `client_ref` names a record they created from another body (a contract, any
    request kind): 409 with that record's id, never the record as if it were this upload."""
    return RequestConflictingRetry(
        f"client_ref {record.client_ref} already names your record {record.id}, created from another body; "
        "send that body again to get it back, or use a new client_ref for a new request.",
        extra={"id": str(record.id)})


async def create(session: AsyncSession, actor: Principal, kind: RequestKind[R], fields: dict[str, Any],
                 *, body: BaseModel | None = None, company_id: uuid.UUID | None = None,
                 and_submit: bool = False) -> tuple[R, bool]:
    """A new draft (True), or the caller's own earlier upload of `body.client_ref` with the same
    body (False); the same reference with another body is a 409 `request.conflicting_retry`.
    Anybody else's use of the same reference is invisible (app/core/client_ids.py). With
    `and_submit`, a new draft is submitted at once (created and submitted in one call)."""
    client_ref = getattr(body, "client_ref", None)
    request, created = await client_ids.create_once(
        session, kind.model, creator=kind.model.requester_id, creator_id=actor.user_id, client_ref=client_ref,
        build=lambda: new_request(kind, actor, fields, company_id),
        digest=None if body is None else client_ids.body_digest(body), conflict=conflicting_retry)
    if created:
        audit.record(session, actor, f"{kind.name}.created", kind.entity_type, request.id,
                     company_id=request.company_id, after=audit.snapshot(request))
        if and_submit:
            await submit(session, actor, kind, request)
    return request, created


async def update(session: AsyncSession, actor: Principal, kind: RequestKind[R], request: R,
                 patch: BaseModel) -> R:
    """What is approved is what was submitted: only a draft (or a returned request) is edited."""
    _ensure_requester(actor, kind, request)
    if request.status not in RequestStatus.EDITABLE:
        raise Conflict(f"A request that is {request.status} cannot be edited; withdraw it first.",
                       code=f"{kind.name}.not_editable")
    await audited_update(session, actor, request, patch, action=f"{kind.name}.updated",
                         entity_type=kind.entity_type, company_id=request.company_id)
    return request


async def delete(session: AsyncSession, actor: Principal, kind: RequestKind[R], request: R) -> None:
    """Only a draft that was never submitted may be deleted."""
    _ensure_requester(actor, kind, request)
    if request.status != RequestStatus.DRAFT:
        raise Conflict("Only a draft can be deleted.", code=f"{kind.name}.not_deletable")
    before = audit.snapshot(request)
    await session.delete(request)
    await session.flush()
    audit.record(session, actor, f"{kind.name}.deleted", kind.entity_type, request.id,
                 company_id=request.company_id, before=before)


async def submit(session: AsyncSession, actor: Principal, kind: RequestKind[R], request: R) -> R:
    """The requester submits (or resubmits after a rejection or withdrawal): the engine takes over."""
    _ensure_requester(actor, kind, request)
    if (request.status, "submit") not in TRANSITIONS:
        raise Conflict(f"A request that is {request.status} cannot be submitted.",
                       code=f"{kind.name}.illegal_transition")
    await engine.submit(session, actor, kind.name, request.id)
    return request


async def withdraw(session: AsyncSession, actor: Principal, kind: RequestKind[R], request: R) -> R:
    _ensure_requester(actor, kind, request)
    await engine.withdraw_request(session, actor, kind.name, request.id)
    return request


# --- on a case's timeline ---------------------------------------------------------------------------

def timeline_part(model: Any, kind: str, contract_id: uuid.UUID, **detail: Any) -> Select[Any]:
    """The requests of `model` about a contract as events of its case's timeline (collection's
    `register_timeline_part`): (at, kind, id, detail), each request once submitted (a draft is its
    requester's own) at its submission, with where it stands and `detail`'s extra columns. Money in
    `detail` is given as `money(column)`: it leaves as a decimal string."""
    pairs = [item for name, column in {"status": model.status, "requester_id": model.requester_id,
                                       "approval_id": model.approval_id, **detail}.items()
             for item in (literal(name), column)]
    return select(model.submitted_at.label("at"), literal(kind).label("kind"), model.id.label("id"),
                  func.jsonb_build_object(*pairs).label("detail")
                  ).where(model.contract_id == contract_id, model.submitted_at.is_not(None))


def money(column: Any) -> Any:
    """A money column as the text of its decimal (`"1.00"`), never a JSON number."""
    return cast(column, String)

