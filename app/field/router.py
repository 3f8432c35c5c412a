"""The field surface (/api/mobile/v1): the collector's worklist and cases, logs, requests, the
notifications and the sync. Thin: parse, call the service, shape. Attachments, tow tasks and
registrations and the approver's inbox come from their own areas (app/api/surfaces.py)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel

from app.approvals import request_routes
from app.collection import log_queries
from app.collection import logs as collection_logs
from app.collection import permissions as collection_permissions
from app.collection.log_schemas import LogCreate
from app.collection.models import CollectionCase, CollectionLog
from app.core.etag import declares, set_content_etag
from app.core.hotsql import json_response
from app.core.idempotency import Idempotent
from app.core.pagination import Page, PageQuery, SortKey, paginate, paginate_hot
from app.core.principal import Requires
from app.core.routers import api_router
from app.core.routing import Session
from app.core.types import Text
from app.field import repository as repo
from app.field import service, sync, views
from app.field.requests import FIELD_REQUESTS, FieldRequestKind
from app.field.schemas import FieldCase, FieldCaseDetail, FieldLog, FieldRequest, SyncOut
from app.notifications.router import NotificationOut, list_notifications, mark_read

router = api_router(tags=["field"])
CaseId = Annotated[uuid.UUID, Path()]
Collector = Requires(collection_permissions.CASE_READ)
BY_PRIORITY = SortKey("priority", CollectionCase.priority, descending=True)
NEWEST_LOGS = SortKey("occurred_at", CollectionLog.occurred_at, descending=True)
RETRIED = {200: {"description": "Sent again with the same id: the record the first upload created"}}
NOT_MODIFIED = {304: {"description": "`If-None-Match` names the current ETag: nothing changed"}}


@router.get("/worklist", response_model=Page[FieldCase], operation_id="get_worklist",
            summary="My open cases by priority, with the customer, the contacts to call, the money overdue, "
                    "the active promise and the last log")
async def get_worklist(session: Session, principal: Collector, page: PageQuery) -> Response:
    # The phone's most frequent read: the hot path (core/hotsql.py), three statements compiled once
    # per collector, rows serialised without models (tests/field/test_hot_worklist.py checks them
    # against FieldCase).
    rows, cursor = await paginate_hot(session, ("field.worklist", principal), lambda: repo.my_case_columns(principal),
                                      page, BY_PRIORITY, CollectionCase.id)
    return json_response({"items": await views.worklist_items(session, principal, rows), "next_cursor": cursor})


@router.get("/cases/{case_id}", response_model=FieldCaseDetail, operation_id="get_field_case",
            responses=NOT_MODIFIED,
            summary="A case with its contract, where the schedule stands and its latest events (ETag; 304)")
@declares(etag=True)
async def get_case(session: Session, principal: Collector, case_id: CaseId, response: Response) -> FieldCaseDetail:
    detail = await service.case_detail(session, principal, case_id)
    set_content_etag(response, detail)
    return detail


@router.post("/cases/{case_id}/logs", response_model=FieldLog, status_code=201, operation_id="create_field_log",
             dependencies=[Idempotent], responses=RETRIED,
             summary="Log a contact (offline-safe: the phone's own id; the same body again answers 200)")
async def create_log(session: Session, principal: Collector, case_id: CaseId, body: LogCreate,
                     response: Response) -> FieldLog:
    log, created = await service.create_log(session, principal, case_id, body)
    if not created:
        response.status_code = 200
    return log


@router.get("/cases/{case_id}/logs", response_model=Page[FieldLog], operation_id="list_field_case_logs",
            summary="A case's logs, newest first")
async def list_case_logs(session: Session, principal: Collector, case_id: CaseId, page: PageQuery) -> Page[FieldLog]:
    case = await collection_logs.readable_case(session, principal, case_id)
    rows, cursor = await paginate(session, log_queries.logs_of_case(case.id, case.group_id), page, NEWEST_LOGS,
                                  CollectionLog.id)
    return Page(items=await views.logs_out(session, rows), next_cursor=cursor)


def _request_route(target: APIRouter, entry: FieldRequestKind) -> None:
    body_type: type[BaseModel] = entry.body

    async def create_request(session: Session, principal: Requires(entry.permission),  # type: ignore[valid-type]
                             body: body_type, response: Response) -> FieldRequest:  # type: ignore[valid-type]
        request, created = await service.create_request(session, principal, entry.path, body)
        if not created:
            response.status_code = 200
        return request

    target.add_api_route(
        f"/requests/{entry.path}", create_request, methods=["POST"], response_model=FieldRequest, status_code=201,
        operation_id=f"create_field_request_{entry.path.replace('-', '_')}", dependencies=[Idempotent],
        responses=request_routes.RETRIED, summary=f"File a {entry.kind.engine_type.titles['en'].lower()} and submit it")


for _entry in FIELD_REQUESTS.values():
    _request_route(router, _entry)


@router.get("/requests", response_model=Page[FieldRequest], operation_id="list_field_requests",
            summary="My requests of every kind, newest first, with where their approval stands")
async def list_requests(session: Session, principal: Requires(), page: PageQuery) -> Page[FieldRequest]:
    stmt = repo.my_requests(principal)
    columns = stmt.selected_columns
    rows, cursor = await paginate(session, stmt, page, SortKey("created_at", columns.created_at, descending=True),
                                  columns.id, scalars=False)
    return Page(items=[views.request_out(r) for r in rows], next_cursor=cursor)


router.add_api_route("/notifications", list_notifications, methods=["GET"], response_model=Page[NotificationOut],
                     operation_id="mobile_list_notifications", summary="My notifications, newest first")
router.add_api_route("/notifications/{notification_id}/read", mark_read, methods=["POST"],
                     response_model=NotificationOut, operation_id="mobile_mark_notification_read",
                     summary="Mark a notification read")


SyncCursor = Annotated[Text(8192) | None, Query(
    max_length=8192, description="The `cursor` of the previous sync; none for a full snapshot. A cursor older than "
                                 "the retention period answers 410 `sync.cursor_expired`: sync again without one")]


@router.get("/sync", response_model=SyncOut, operation_id="sync",
            summary="What changed for me since the cursor: upserts and tombstones, in bounded pages")
async def get_sync(session: Session, principal: Requires(), cursor: SyncCursor = None) -> Response:
    # Serialised once, straight from the model: a snapshot page is hundreds of records, and
    # FastAPI's response_model would dump, validate and dump them again (twice the CPU).
    out = await sync.sync(session, principal, cursor)
    return Response(content=out.model_dump_json(), media_type="application/json")
