"""Tow requests (the request kit's routes, with their own create and list), tow tasks and tow
registrations. Thin: parse, call the service or repository, shape."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from app.approvals.request_routes import RETRIED, SUBMIT_DOC, request_routes
from app.core.etag import check_if_match, declares, set_etag
from app.core.idempotency import Idempotent
from app.core.pagination import Page, PageQuery, SortKey, paginate, sort_param
from app.core.principal import Requires
from app.core.routers import api_router
from app.core.routing import Session
from app.core.scoping import get_readable, get_writable
from app.core.types import BusinessDate
from app.towing import permissions as P
from app.towing import repository as repo
from app.towing import service
from app.towing.approval import TOW
from app.towing.errors import TowRequestNotFound, TowTaskNotFound
from app.towing.models import TowRequest, TowTask
from app.towing.schemas import (
    RequestState,
    TaskState,
    TowRegistrationCreate,
    TowRegistrationOut,
    TowRequestCreate,
    TowRequestFilters,
    TowRequestOut,
    TowRequestUpdate,
    TowTaskAssign,
    TowTaskOut,
)

router = api_router(tags=["towing"])
TaskId = Annotated[uuid.UUID, Path()]
CREATED = {"created_at": SortKey("created_at", TowRequest.created_at)}
TASK_SORTS = {"created_at": SortKey("created_at", TowTask.created_at)}

# The kit's detail, update, delete and withdraw; create (scope of the contract, the machine, the
# contract's figures, submit in one call), submit (the figures refreshed) and the list (more filters)
# are towing's own, below.
request_routes(router, TOW, path="/tow-requests", resource="tow_request", create=TowRequestCreate,
               update=TowRequestUpdate, out=TowRequestOut, read=P.TOW_READ, write=P.TOW_REQUEST,
               omit=frozenset({"create", "list", "submit"}))


@router.get("/tow-requests", response_model=Page[TowRequestOut], operation_id="list_tow_requests",
            summary="List tow requests")
async def list_tow_requests(session: Session, principal: Requires(P.TOW_READ), page: PageQuery,
                            sort: Annotated[SortKey, Depends(sort_param(CREATED, "-created_at"))],
                            status: RequestState | None = None, company_id: uuid.UUID | None = None,
                            contract_id: uuid.UUID | None = None, requester_id: uuid.UUID | None = None,
                            created_from: Annotated[BusinessDate | None, Query(description="On or after")] = None,
                            created_to: Annotated[BusinessDate | None, Query(description="On or before")] = None,
                            mine: bool = False) -> Any:
    filters = TowRequestFilters(status=status, company_id=company_id, contract_id=contract_id,
                                requester_id=requester_id, created_from=created_from, created_to=created_to,
                                mine=mine)
    rows, cursor = await paginate(session, repo.filtered_requests(principal, filters), page, sort, TowRequest.id)
    return Page[TowRequestOut](items=[TowRequestOut.model_validate(r) for r in rows], next_cursor=cursor)


@router.post("/tow-requests", response_model=TowRequestOut, status_code=201, operation_id="create_tow_request",
             summary="Create tow request", dependencies=[Idempotent],
             responses=RETRIED)
@declares(etag=True, location=True)
async def create_tow_request(session: Session, principal: Requires(P.TOW_REQUEST), body: TowRequestCreate,
                             http: Request, response: Response) -> Any:
    request, created = await service.create_request(session, principal, body)
    if not created:
        response.status_code = 200
    response.headers["Location"] = f"{http.url.path}/{request.id}"
    set_etag(response, request.version)
    return TowRequestOut.model_validate(request)


@router.post("/tow-requests/{tow_request_id}/submit", response_model=TowRequestOut, operation_id="submit_tow_request",
             summary="Submit tow request", dependencies=[Idempotent],
             description=f"{SUBMIT_DOC} The contract's DPD, bucket and overdue amount are read again; below the "
                         "company's minimum days past due 409 `tow.below_minimum_dpd`, unless the requester holds "
                         "`tow.override_min_dpd` and the request carries an override reason.")
@declares(etag=True, if_match=True)
async def submit_tow_request(session: Session, principal: Requires(P.TOW_REQUEST),
                             request_id: Annotated[uuid.UUID, Path(alias="tow_request_id")], http: Request,
                             response: Response) -> Any:
    request = await get_readable(session, principal, TowRequest, request_id, for_update=True,
                                 code=TowRequestNotFound.code)
    check_if_match(http, request.version)
    request = await service.submit_request(session, principal, request)
    set_etag(response, request.version)
    return TowRequestOut.model_validate(request)


async def list_tow_tasks(session: Session, principal: Requires(P.TOW_READ), page: PageQuery,
                         sort: Annotated[SortKey, Depends(sort_param(TASK_SORTS, "-created_at"))],
                         state: TaskState | None = None, company_id: uuid.UUID | None = None,
                         contract_id: uuid.UUID | None = None, mine: bool = False) -> Any:
    stmt = repo.filtered_tasks(principal, state=state, company_id=company_id, contract_id=contract_id, mine=mine)
    rows, cursor = await paginate(session, stmt, page, sort, TowTask.id)
    return Page[TowTaskOut](items=[TowTaskOut.model_validate(r) for r in rows], next_cursor=cursor)


@declares(etag=True)
async def get_tow_task(session: Session, principal: Requires(P.TOW_READ), task_id: TaskId, response: Response) -> Any:
    task = await get_readable(session, principal, TowTask, task_id, code=TowTaskNotFound.code)
    set_etag(response, task.version)
    return TowTaskOut.model_validate(task)


@router.post("/tow-tasks/{task_id}/assign", response_model=TowTaskOut, operation_id="assign_tow_task",
             summary="Assign tow task to a collector or an outside towing company", dependencies=[Idempotent])
@declares(etag=True, if_match=True)
async def assign_tow_task(session: Session, principal: Requires(P.TOW_DISPATCH), task_id: TaskId,
                          body: TowTaskAssign, http: Request, response: Response) -> Any:
    task = await get_writable(session, principal, TowTask, task_id, code=TowTaskNotFound.code)
    check_if_match(http, task.version)
    task = await service.assign(session, principal, task, body)
    set_etag(response, task.version)
    return TowTaskOut.model_validate(task)


async def create_tow_registration(session: Session, principal: Requires(P.TOW_REGISTER),
                                  body: TowRegistrationCreate) -> Any:
    return TowRegistrationOut.model_validate(await service.register(session, principal, body))


def field_routes(target: APIRouter, prefix: str = "") -> APIRouter:
    """What the phone needs too (operation ids prefixed on the field surface): the collector's tasks
    (`mine=true`) and the registration with its photos."""
    target.add_api_route("/tow-tasks", list_tow_tasks, methods=["GET"], response_model=Page[TowTaskOut],
                         operation_id=f"{prefix}list_tow_tasks", summary="List tow tasks; `mine=true`: assigned to me")
    target.add_api_route("/tow-tasks/{task_id}", get_tow_task, methods=["GET"], response_model=TowTaskOut,
                         operation_id=f"{prefix}get_tow_task", summary="Get tow task")
    target.add_api_route("/tow-registrations", create_tow_registration, methods=["POST"],
                         response_model=TowRegistrationOut, status_code=201,
                         operation_id=f"{prefix}create_tow_registration", summary="Register a towed machine",
                         dependencies=[Idempotent])
    return target


field_routes(router)
mobile_router = field_routes(api_router(tags=["towing"]), "mobile_")
