"""Approval flows (configuration) and approval instances: thin routes over the service."""

import uuid
from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.approvals import flows, registry, service, views
from app.approvals import permissions as P
from app.approvals import repository as repo
from app.approvals.errors import ApprovalFlowNotFound
from app.approvals.models import ApprovalFlow, ApprovalInstance
from app.approvals.schemas import (
    ApprovalDetail,
    ApprovalStatus,
    ApprovalSummary,
    ApproveBody,
    FlowCreate,
    FlowOut,
    FlowUpdate,
    FlowVersionOut,
    RejectBody,
    RequestTypeOut,
    StepDef,
    TransferBody,
    UrgeBody,
    WithdrawBody,
)
from app.core.db import utcnow
from app.core.etag import check_if_match, declares, set_etag
from app.core.i18n import current_language
from app.core.idempotency import Idempotent
from app.core.pagination import Page, PageQuery, SortKey, paginate, sort_param
from app.core.principal import Requires
from app.core.routers import api_router
from app.core.routing import Session
from app.core.scoping import get_readable, readable
from app.core.types import Text

Id = Annotated[uuid.UUID, Path()]

router = api_router(tags=["approvals"])


# --- request types and flows ---------------------------------------------------------------------------

@router.get("/approval-request-types", response_model=list[RequestTypeOut], operation_id="list_approval_request_types")
async def list_request_types(_: Requires(P.APPROVAL_FLOW_READ)) -> list[RequestTypeOut]:
    zh = current_language.get() == "zh-CN"
    return [RequestTypeOut(name=t.name, title=t.titles["zh-CN" if zh else "en"], fields=t.condition_fields())  # type: ignore[arg-type]
            for t in registry.all_types()]


FLOW_SORTS = {"request_type": SortKey("request_type", ApprovalFlow.request_type),
              "created_at": SortKey("created_at", ApprovalFlow.created_at)}


@router.get("/approval-flows", response_model=Page[FlowOut], operation_id="list_approval_flows")
async def list_flows(session: Session, principal: Requires(P.APPROVAL_FLOW_READ), page: PageQuery,
                     sort: Annotated[SortKey, Depends(sort_param(FLOW_SORTS, "request_type"))],
                     request_type: Annotated[Text(60) | None, Query(max_length=60)] = None,
                     company_id: uuid.UUID | None = None, is_active: bool | None = None) -> Page[FlowOut]:
    stmt = readable(principal, ApprovalFlow)
    if request_type is not None:
        stmt = stmt.where(ApprovalFlow.request_type == request_type)
    if company_id is not None:
        stmt = stmt.where(ApprovalFlow.company_id == company_id)
    if is_active is not None:
        stmt = stmt.where(ApprovalFlow.is_active.is_(is_active))
    rows, cursor = await paginate(session, stmt, page, sort, ApprovalFlow.id)
    versions = await repo.current_versions(session, rows)
    return Page(items=[views.flow_out(f, versions[f.id]) for f in rows], next_cursor=cursor)


@router.post("/approval-flows", response_model=FlowOut, status_code=201, operation_id="create_approval_flow",
             dependencies=[Idempotent])
@declares(etag=True, location=True)
async def create_flow(session: Session, principal: Requires(P.APPROVAL_FLOW_MANAGE), body: FlowCreate,
                      response: Response) -> FlowOut:
    flow, version = await flows.create_flow(session, principal, body)
    set_etag(response, flow.version)
    response.headers["Location"] = f"/api/v1/approval-flows/{flow.id}"
    return views.flow_out(flow, version)


@router.get("/approval-flows/{flow_id}", response_model=FlowOut, operation_id="get_approval_flow")
@declares(etag=True)
async def get_flow(session: Session, principal: Requires(P.APPROVAL_FLOW_READ), flow_id: Id,
                   response: Response) -> FlowOut:
    flow = await get_readable(session, principal, ApprovalFlow, flow_id, code=ApprovalFlowNotFound.code)
    set_etag(response, flow.version)
    return views.flow_out(flow, await repo.flow_version(session, flow.id, flow.current_version))


@router.patch("/approval-flows/{flow_id}", response_model=FlowOut, operation_id="update_approval_flow")
@declares(etag=True, if_match=True)
async def update_flow(session: Session, principal: Requires(P.APPROVAL_FLOW_MANAGE), flow_id: Id, body: FlowUpdate,
                      request: Request, response: Response) -> FlowOut:
    flow = await get_readable(session, principal, ApprovalFlow, flow_id, for_update=True,
                              code=ApprovalFlowNotFound.code)
    check_if_match(request, flow.version)
    flow, version = await flows.update_flow(session, principal, flow, body)
    set_etag(response, flow.version)
    return views.flow_out(flow, version)


@router.get("/approval-flows/{flow_id}/versions", response_model=list[FlowVersionOut],
            operation_id="list_approval_flow_versions")
async def list_flow_versions(session: Session, principal: Requires(P.APPROVAL_FLOW_READ),
                             flow_id: Id) -> list[FlowVersionOut]:
    flow = await get_readable(session, principal, ApprovalFlow, flow_id, code=ApprovalFlowNotFound.code)
    return [FlowVersionOut(number=v.number, steps=[StepDef.model_validate(s) for s in v.steps],
                           created_by_id=v.created_by_id, created_at=v.created_at)
            for v in await repo.versions_of(session, flow.id)]


# --- instances -----------------------------------------------------------------------------------------

APPROVAL_SORTS = {"submitted_at": SortKey("submitted_at", ApprovalInstance.submitted_at),
                  "created_at": SortKey("created_at", ApprovalInstance.created_at)}


async def list_approvals(
    session: Session, principal: Requires(P.APPROVAL_READ), page: PageQuery,
    sort: Annotated[SortKey, Depends(sort_param(APPROVAL_SORTS, "-submitted_at"))],
    waiting_on: Annotated[Literal["me"] | None, Query(description="`me`: the caller's inbox")] = None,
    submitted_by: Annotated[Literal["me"] | None, Query(description="`me`: what the caller submitted")] = None,
    status: ApprovalStatus | None = None,
    type_: Annotated[Text(60) | None, Query(alias="type", max_length=60, description="Request type")] = None,
    overdue_hours: Annotated[int | None, Query(ge=1, le=8760,
                                               description="Pending and waiting on its step longer than this")] = None,
) -> Page[ApprovalSummary]:
    stmt = repo.list_statement(
        principal, waiting_on_me=waiting_on == "me", submitted_by_me=submitted_by == "me", status=status,
        request_type=type_,
        waiting_before=utcnow() - timedelta(hours=overdue_hours) if overdue_hours is not None else None)
    rows, cursor = await paginate(session, stmt, page, sort, ApprovalInstance.id)
    return Page(items=await views.summaries(session, rows), next_cursor=cursor)


@declares(etag=True)
async def get_approval(session: Session, principal: Requires(P.APPROVAL_READ), approval_id: Id,
                       response: Response) -> ApprovalDetail:
    instance = await repo.get_instance(session, principal, approval_id)
    set_etag(response, instance.version)
    return await views.detail(session, instance)


async def _locked(session: AsyncSession, principal, approval_id: uuid.UUID,  # noqa: ANN001
                  request: Request) -> ApprovalInstance:
    instance = await service.lock_for_action(session, principal, approval_id)
    check_if_match(request, instance.version)
    return instance


async def _done(session: AsyncSession, instance: ApprovalInstance, response: Response) -> ApprovalDetail:
    set_etag(response, instance.version)
    return await views.detail(session, instance)


@declares(etag=True, if_match=True)
async def approve(session: Session, principal: Requires(P.APPROVAL_APPROVE), approval_id: Id, request: Request,
                  response: Response, body: Annotated[ApproveBody | None, Body()] = None) -> ApprovalDetail:
    body = body or ApproveBody()
    instance = await _locked(session, principal, approval_id, request)
    await service.approve(session, principal, instance, comment=body.comment, step_id=body.step_id)
    return await _done(session, instance, response)


@declares(etag=True, if_match=True)
async def reject(session: Session, principal: Requires(P.APPROVAL_APPROVE), approval_id: Id, body: RejectBody,
                 request: Request, response: Response) -> ApprovalDetail:
    instance = await _locked(session, principal, approval_id, request)
    await service.reject(session, principal, instance, reason=body.comment, step_id=body.step_id)
    return await _done(session, instance, response)


@declares(etag=True, if_match=True)
async def transfer(session: Session, principal: Requires(P.APPROVAL_APPROVE), approval_id: Id, body: TransferBody,
                   request: Request, response: Response) -> ApprovalDetail:
    instance = await _locked(session, principal, approval_id, request)
    await service.transfer(session, principal, instance, to_user_id=body.to_user_id, reason=body.reason,
                           step_id=body.step_id)
    return await _done(session, instance, response)


@declares(etag=True, if_match=True)
async def withdraw(session: Session, principal: Requires(P.APPROVAL_SUBMIT), approval_id: Id, request: Request,
                   response: Response, body: Annotated[WithdrawBody | None, Body()] = None) -> ApprovalDetail:
    instance = await _locked(session, principal, approval_id, request)
    await service.withdraw(session, principal, instance, reason=(body or WithdrawBody()).reason)
    return await _done(session, instance, response)


@declares(etag=True, if_match=True)
async def urge(session: Session, principal: Requires(P.APPROVAL_SUBMIT), approval_id: Id, request: Request,
               response: Response, body: Annotated[UrgeBody | None, Body()] = None) -> ApprovalDetail:
    instance = await _locked(session, principal, approval_id, request)
    await service.urge(session, principal, instance, comment=(body or UrgeBody()).comment)
    return await _done(session, instance, response)


ACTION_DOC = ("Accepts If-Match (412 when stale), an optional step_id (409 when the step has moved on) and "
              "Idempotency-Key (a retry over a weak network replays the first answer).")

router.add_api_route("/approvals", list_approvals, methods=["GET"], response_model=Page[ApprovalSummary],
                     operation_id="list_approvals",
                     description="Scoped: submitters, current and past approvers, and those whose data scope "
                                 "covers the request's company. `waiting_on=me` is the caller's inbox.")
router.add_api_route("/approvals/{approval_id}", get_approval, methods=["GET"], response_model=ApprovalDetail,
                     operation_id="get_approval")
for verb, handler in (("approve", approve), ("reject", reject), ("transfer", transfer), ("withdraw", withdraw),
                      ("urge", urge)):
    router.add_api_route(f"/approvals/{{approval_id}}/{verb}", handler, methods=["POST"],
                         response_model=ApprovalDetail, operation_id=f"{verb}_approval", description=ACTION_DOC,
                         dependencies=[Idempotent])


def build_mobile_router() -> APIRouter:
    """The approver on the road: inbox, detail, approve and reject (distinct operation ids)."""
    mobile = api_router(tags=["approvals"])
    mobile.add_api_route("/approvals", list_approvals, methods=["GET"], response_model=Page[ApprovalSummary],
                         operation_id="mobile_list_approvals")
    mobile.add_api_route("/approvals/{approval_id}", get_approval, methods=["GET"], response_model=ApprovalDetail,
                         operation_id="mobile_get_approval")
    for verb, handler in (("approve", approve), ("reject", reject)):
        mobile.add_api_route(f"/approvals/{{approval_id}}/{verb}", handler, methods=["POST"],
                             response_model=ApprovalDetail, operation_id=f"mobile_{verb}_approval",
                             description=ACTION_DOC, dependencies=[Idempotent])
    return mobile


mobile_router = build_mobile_router()
