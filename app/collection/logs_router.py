"""Collection logs and promises to pay (/api/v1). Thin: parse, call the service, shape."""

import uuid
from typing import Annotated

from fastapi import Depends, Path, Query, Request, Response

from app.collection import log_queries as q
from app.collection import logs as service
from app.collection import permissions as P
from app.collection.log_schemas import (
    LogAction,
    LogCreate,
    LogLocationOut,
    LogOut,
    LogPersonOut,
    LogResult,
    LogVoidIn,
    PromiseState,
    PromiseToPayOut,
)
from app.collection.models import CollectionLog, PromiseToPay
from app.core.etag import check_if_match, declares, set_etag, set_location
from app.core.idempotency import Idempotent
from app.core.pagination import Page, PageQuery, SortKey, paginate, sort_param
from app.core.principal import Requires
from app.core.routers import api_router
from app.core.routing import Session
from app.core.types import BusinessDate, Timestamp

logs_router = api_router(tags=["collection-logs"])
promises_router = api_router(tags=["promises"])
ROUTERS = (logs_router, promises_router)
CaseId = Annotated[uuid.UUID, Path()]
LogId = Annotated[uuid.UUID, Path()]
# Newest first along ix_collection_log_{case,company,group,author}_id_occurred_at.
LOG_SORTS = {"occurred_at": SortKey("occurred_at", CollectionLog.occurred_at)}
LogSort = Annotated[SortKey, Depends(sort_param(LOG_SORTS, "-occurred_at"))]
PROMISE_SORTS = {"promised_date": SortKey("promised_date", PromiseToPay.promised_date),
                 "created_at": SortKey("created_at", PromiseToPay.created_at)}
PromiseSort = Annotated[SortKey, Depends(sort_param(PROMISE_SORTS, "promised_date"))]
Reader = Requires(P.CASE_READ)


def _version(log: CollectionLog) -> int:
    """A log changes once at most (voided): its ETag's version."""
    return 1 if log.voided_at is None else 2


def shaped(logged: service.Logged) -> LogOut:
    log, promise = logged.log, logged.promise
    person = LogPersonOut(name=log.person_name, relation=log.person_relation) if log.person_name else None
    location = None if log.latitude is None or log.longitude is None else LogLocationOut(
        latitude=float(log.latitude), longitude=float(log.longitude), accuracy_m=log.accuracy_m)
    return LogOut(id=log.id, case_id=log.case_id, contract_id=log.contract_id, company_id=log.company_id,
                  author_id=log.author_id, contact_id=log.contact_id, person=person, action=log.action,
                  result=log.result, notes=log.notes, location=location, occurred_at=log.occurred_at,
                  recorded_at=log.recorded_at, attachment_ids=list(log.attachment_ids or []),
                  evidence_mismatch=log.evidence_mismatch, voided_at=log.voided_at, voided_by_id=log.voided_by_id,
                  void_reason=log.void_reason, promise=PromiseToPayOut.model_validate(promise) if promise else None)


@logs_router.post("/collection-cases/{case_id}/logs", response_model=LogOut, status_code=201,
                  operation_id="create_collection_log", dependencies=[Idempotent],
                  summary="Log a contact on a case (offline-safe: the phone's own id)",
                  responses={200: {"description": "This log id was already uploaded by the caller with the same "
                                                  "body: the stored log"}})
@declares(etag=True, location=True)
async def create_log(session: Session, principal: Reader, case_id: CaseId, body: LogCreate,
                     response: Response) -> LogOut:
    logged = await service.create_log(session, principal, case_id, body)
    if not logged.created:
        response.status_code = 200
    set_location(response, f"/api/v1/collection-logs/{logged.log.id}", _version(logged.log))
    return shaped(logged)


@logs_router.get("/collection-cases/{case_id}/logs", response_model=Page[LogOut], operation_id="list_case_logs",
                 summary="A case's logs, newest first (everybody who may read the case sees its history)")
async def list_case_logs(session: Session, principal: Reader, case_id: CaseId, page: PageQuery,
                         sort: LogSort) -> Page[LogOut]:
    case = await service.readable_case(session, principal, case_id)
    rows, cursor = await paginate(session, q.logs_of_case(case.id, case.group_id), page, sort, CollectionLog.id)
    return Page(items=[shaped(x) for x in await service.with_promises(session, rows)], next_cursor=cursor)


@logs_router.get("/collection-logs", response_model=Page[LogOut], operation_id="list_collection_logs",
                 summary="Logs the caller may see (their own; their scope's companies), newest first")
async def list_logs(
    session: Session, principal: Reader, page: PageQuery, sort: LogSort,
    case_id: uuid.UUID | None = None, author_id: uuid.UUID | None = None, company_id: uuid.UUID | None = None,
    action: LogAction | None = None, result: LogResult | None = None,
    occurred_from: Annotated[Timestamp | None, Query(description="From this moment on (inclusive)")] = None,
    occurred_to: Annotated[Timestamp | None, Query(description="Before this moment (exclusive)")] = None,
) -> Page[LogOut]:
    filters = q.LogFilter(case_id=case_id, author_id=author_id, company_id=company_id,
                          action=action.value if action else None, result=result.value if result else None,
                          occurred_from=occurred_from, occurred_to=occurred_to)
    rows, cursor = await paginate(session, q.filter_logs(principal, filters), page, sort, CollectionLog.id)
    return Page(items=[shaped(x) for x in await service.with_promises(session, rows)], next_cursor=cursor)


@logs_router.get("/collection-logs/{log_id}", response_model=LogOut, operation_id="get_collection_log",
                 summary="A log and its promise")
@declares(etag=True)
async def get_log(session: Session, principal: Reader, log_id: LogId, response: Response) -> LogOut:
    log = await service.get_log(session, principal, log_id)
    set_etag(response, _version(log))
    return shaped((await service.with_promises(session, [log]))[0])


@logs_router.post("/collection-logs/{log_id}/void", response_model=LogOut, operation_id="void_collection_log",
                  dependencies=[Idempotent],
                  summary="Void a log written in error (the author within 24 h, or a dispatcher); its pending "
                          "promise is withdrawn")
@declares(etag=True, if_match=True)
async def void_log(session: Session, principal: Reader, log_id: LogId, body: LogVoidIn, request: Request,
                   response: Response) -> LogOut:
    log = await service.get_log(session, principal, log_id, for_update=True)
    check_if_match(request, _version(log))
    logged = await service.void_log(session, principal, log, body.reason)
    set_etag(response, _version(logged.log))
    return shaped(logged)


@promises_router.get("/promises", response_model=Page[PromiseToPayOut], operation_id="list_promises",
                     summary="Promises to pay of the cases the caller may see (the dispatcher's morning list)")
async def list_promises(
    session: Session, principal: Reader, page: PageQuery, sort: PromiseSort, state: PromiseState | None = None,
    collector_id: uuid.UUID | None = None, company_id: uuid.UUID | None = None,
    due_from: Annotated[BusinessDate | None, Query(description="Promised on or after this day")] = None,
    due_to: Annotated[BusinessDate | None, Query(description="Promised on or before this day")] = None,
) -> Page[PromiseToPayOut]:
    filters = q.PromiseFilter(state=state.value if state else None, collector_id=collector_id,
                              company_id=company_id, due_from=due_from, due_to=due_to)
    rows, cursor = await paginate(session, q.filter_promises(principal, filters), page, sort, PromiseToPay.id)
    return Page(items=[PromiseToPayOut.model_validate(p) for p in rows], next_cursor=cursor)
