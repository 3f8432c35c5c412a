"""Collection cases: lists and the worklist, detail, timeline, assignment history, dispatch (/api/v1).
Thin: parse, call the service or repository, shape."""

import uuid
from typing import Annotated, Literal

from fastapi import Depends, Path, Query, Response

from app.collection import cases
from app.collection import permissions as P
from app.collection import repository as repo
from app.collection.errors import CaseNotFound
from app.collection.models import CollectionCase
from app.collection.schemas import (
    AssignmentHistoryOut,
    Bucket,
    CaseAssignIn,
    CaseAssignResult,
    CaseAutoAssignIn,
    CaseAutoAssignResult,
    CaseOut,
    CaseState,
    CaseUnassignIn,
    PromiseState,
    TimelineEvent,
)
from app.core.etag import declares, set_etag
from app.core.hotsql import json_response
from app.core.idempotency import Idempotent
from app.core.pagination import Page, PageQuery, SortKey, paginate, paginate_hot, sort_param
from app.core.principal import Requires
from app.core.routers import api_router
from app.core.routing import Session
from app.core.scoping import get_readable
from app.core.types import Search, Timestamp

router = api_router(tags=["collection-cases"])
ROUTERS = (router,)
CaseId = Annotated[uuid.UUID, Path()]
# Each sort is backed by an index ending in (column, id): (collector_id | company_id | group_id, priority, id).
SORTS = {"priority": SortKey("priority", CollectionCase.priority)}


@router.get("/collection-cases", response_model=Page[CaseOut], operation_id="list_collection_cases",
            summary="Collection cases the caller may see, by priority; `assigned_to=me` is the collector's worklist")
async def list_cases(
    session: Session, principal: Requires(P.CASE_READ), page: PageQuery,
    sort: Annotated[SortKey, Depends(sort_param(SORTS, "-priority"))],
    assigned_to: Annotated[Literal["me"] | None, Query(description="`me`: my worklist (open cases I hold, "
                                                                    "with the contacts to call)")] = None,
    state: Annotated[CaseState | None, Query(description="Default: open")] = None,
    company_id: uuid.UUID | None = None, bucket: Bucket | None = None,
    collector_id: uuid.UUID | None = None,
    unassigned: Annotated[bool | None, Query(description="true: cases nobody holds")] = None,
    dpd_min: Annotated[int | None, Query(ge=0, le=100_000)] = None,
    dpd_max: Annotated[int | None, Query(ge=0, le=100_000)] = None,
    promise_state: PromiseState | None = None,
    last_contact_before: Annotated[Timestamp | None, Query(description="Not contacted since (or never)")] = None,
    q: Annotated[Search | None, Query(max_length=100, description="Customer name contains")] = None,
    contract_id: uuid.UUID | None = None,
) -> Response:
    mine = assigned_to == "me"
    filters = repo.CaseFilters(state="open" if mine else (state or "open"), company_id=company_id, bucket=bucket,
                               collector_id=principal.user_id if mine else collector_id, unassigned=unassigned,
                               dpd_min=dpd_min, dpd_max=dpd_max, promise_state=promise_state,
                               last_contact_before=last_contact_before, q=q, contract_id=contract_id)
    # The web's worklist and dispatch lists are polled all day: the hot path (core/hotsql.py), one
    # statement per caller and filters compiled once (the cursor and limit are parameters).
    rows, cursor = await paginate_hot(session, ("collection.cases", principal, filters), lambda: repo.case_rows(
        principal, filters, *repo.CASE_COLUMNS), page, sort, CollectionCase.id)
    contacts = await cases.contact_card_dicts(session, principal, rows) if mine else None
    return json_response({"items": cases.case_dicts(rows, contacts), "next_cursor": cursor})


@router.get("/collection-cases/{case_id}", response_model=CaseOut, operation_id="get_collection_case",
            summary="A case with its money, active promise and the customer's contacts")
@declares(etag=True)
async def get_case(session: Session, principal: Requires(P.CASE_READ), case_id: CaseId,
                   response: Response) -> CaseOut:
    row = await repo.case_row(session, principal, case_id)
    if row is None:
        raise CaseNotFound(f"No case {case_id}")
    set_etag(response, row.CollectionCase.version)
    contacts = await cases.contact_cards(session, principal, [row])
    return cases.case_out(row, contacts[case_id])


@router.get("/collection-cases/{case_id}/timeline", response_model=Page[TimelineEvent],
            operation_id="get_collection_case_timeline",
            summary="Assignments, logs, promises, payments, messages, requests and device commands of the case's "
                    "contract, newest first")
async def get_timeline(session: Session, principal: Requires(P.CASE_READ), case_id: CaseId,
                       page: PageQuery) -> Page[TimelineEvent]:
    case = await get_readable(session, principal, CollectionCase, case_id, code=CaseNotFound.code)
    stmt = repo.timeline(case)
    events = stmt.selected_columns
    rows, cursor = await paginate(session, stmt, page, SortKey("at", events.at, descending=True), events.id,
                                  scalars=False)
    return Page(items=[TimelineEvent(at=r.at, kind=r.kind, id=r.id, detail=r.detail) for r in rows],
                next_cursor=cursor)


@router.get("/collection-cases/{case_id}/assignments", response_model=list[AssignmentHistoryOut],
            operation_id="list_case_assignments", summary="Who held the case, from when, assigned by whom and why")
async def list_assignments(session: Session, principal: Requires(P.CASE_READ),
                           case_id: CaseId) -> list[AssignmentHistoryOut]:
    case = await get_readable(session, principal, CollectionCase, case_id, code=CaseNotFound.code)
    return [AssignmentHistoryOut.model_validate(a) for a in await repo.assignments_of(session, case.id)]


@router.post("/collection-cases/assign", response_model=CaseAssignResult, operation_id="assign_collection_cases",
             dependencies=[Idempotent], summary="Assign cases to a collector of their company (催收派工)")
async def assign(session: Session, principal: Requires(P.CASE_DISPATCH), body: CaseAssignIn) -> CaseAssignResult:
    return await cases.assign(session, principal, body)


@router.post("/collection-cases/unassign", response_model=CaseAssignResult, operation_id="unassign_collection_cases",
             dependencies=[Idempotent], summary="Take cases back from their collectors")
async def unassign(session: Session, principal: Requires(P.CASE_DISPATCH), body: CaseUnassignIn) -> CaseAssignResult:
    return await cases.unassign(session, principal, body)


@router.post("/collection-cases/auto-assign", response_model=CaseAutoAssignResult,
             operation_id="auto_assign_collection_cases", dependencies=[Idempotent],
             summary="Assign a company's unassigned cases by the documented rule (preview with dry_run)")
async def auto_assign(session: Session, principal: Requires(P.CASE_DISPATCH),
                      body: CaseAutoAssignIn) -> CaseAutoAssignResult:
    return await cases.auto_assign(session, principal, body)

