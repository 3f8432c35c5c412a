"""The money requests' routes: the request kit's detail, update, delete and withdraw routes, and
this area's own create (the contract checked against the caller's scope, `submit: true` to submit
at once), submit (the flows' figures refreshed) and list (filters by state, company, contract,
submitter and creation date); plus the waiver form and the settlement's release of documents."""

import uuid
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request, Response
from pydantic import BaseModel

from app.approvals import requests as kit
from app.approvals.request_routes import RETRIED, SUBMIT_DOC, Status, request_routes
from app.core.etag import check_if_match, declares, set_etag
from app.core.idempotency import Idempotent
from app.core.pagination import Page, PageParams, SortKey, page_params, paginate, sort_param
from app.core.principal import Requires
from app.core.routers import api_router
from app.core.routing import Session
from app.core.scoping import get_readable
from app.core.types import BusinessDate
from app.requests import permissions as P
from app.requests import repository as repo
from app.requests import service
from app.requests.approval import GPS_FEE, SETTLEMENT, WAIVER
from app.requests.schemas import (
    GpsFeeIn,
    GpsFeeOut,
    GpsFeeUpdate,
    SettlementReleaseIn,
    SettlementRequestIn,
    SettlementRequestOut,
    SettlementRequestUpdate,
    WaiverFormOut,
    WaiverIn,
    WaiverOut,
    WaiverUpdate,
)

Reader = Requires(P.REQUEST_READ)
TAGS = ["money-requests"]
router = api_router(tags=TAGS)
OWN_ROUTES = frozenset({"list", "create", "submit"})  # the rest are the kit's


def money_request_routes(kind: kit.RequestKind[Any], *, path: str, resource: str, id_name: str,
                         create: type[BaseModel], update: type[BaseModel], out: type[BaseModel], write: str,
                         sorts: dict[str, SortKey]) -> None:
    model = kind.model
    Writer = Requires(write)  # noqa: N806 - a type in the signatures below
    Id = Annotated[uuid.UUID, Path(alias=id_name)]  # noqa: N806
    title = kind.engine_type.titles["en"].lower()
    sorts = {"created_at": SortKey("created_at", model.created_at), **sorts}

    def shaped(request: Any, response: Response) -> Any:
        set_etag(response, request.version)
        return out.model_validate(request)

    @router.get(path, response_model=Page[out], operation_id=f"list_{resource}s", summary=f"List {title}s")  # type: ignore[valid-type]
    async def list_requests(session: Session, principal: Reader, page: Annotated[PageParams, Depends(page_params)],
                            sort: Annotated[SortKey, Depends(sort_param(sorts, "-created_at"))],
                            status: Status | None = None, company_id: uuid.UUID | None = None,
                            contract_id: uuid.UUID | None = None, requester_id: uuid.UUID | None = None,
                            created_from: Annotated[BusinessDate | None, Query()] = None,
                            created_to: Annotated[BusinessDate | None, Query()] = None) -> Any:
        filters = repo.RequestFilters(status=status, company_id=company_id, contract_id=contract_id,
                                      requester_id=requester_id, created_from=created_from, created_to=created_to)
        rows, cursor = await paginate(session, repo.filtered(principal, model, filters), page, sort, model.id)
        return Page[out](items=[out.model_validate(r) for r in rows], next_cursor=cursor)  # type: ignore[valid-type]

    @router.post(path, response_model=out, status_code=201, operation_id=f"create_{resource}",
                 summary=f"Create {title}", dependencies=[Idempotent],
                 responses=RETRIED)
    @declares(etag=True, location=True)
    async def create_request(session: Session, principal: Writer, body: create,  # type: ignore[valid-type]
                             http: Request, response: Response) -> Any:
        request, created = await service.create(session, principal, kind, body)
        if not created:
            response.status_code = 200
        response.headers["Location"] = f"{http.url.path}/{request.id}"
        return shaped(request, response)

    @router.post(f"{path}/{{{id_name}}}/submit", response_model=out, operation_id=f"submit_{resource}",
                 summary=f"Submit {title}", dependencies=[Idempotent], description=SUBMIT_DOC)
    @declares(etag=True, if_match=True)
    async def submit_request(session: Session, principal: Writer, request_id: Id, http: Request,
                             response: Response) -> Any:
        request = await get_readable(session, principal, model, request_id, for_update=True,
                                     code=f"{kind.name}.not_found")
        check_if_match(http, request.version)
        return shaped(await service.submit(session, principal, kind, request), response)

    # The kit's own routes for the rest.
    request_routes(router, kind, path=path, resource=resource, id_name=id_name, create=create, update=update,
                   out=out, read=P.REQUEST_READ, write=write, sorts=sorts, omit=OWN_ROUTES)


@router.get("/contracts/{contract_id}/interest-waiver-form", response_model=WaiverFormOut,
            operation_id="get_interest_waiver_form",
            summary="Interest waiver form: the contract's unpaid penalty now")
async def waiver_form(session: Session, principal: Requires(P.WAIVER_REQUEST), contract_id: uuid.UUID) -> Any:
    return WaiverFormOut.model_validate(await service.waiver_form(session, principal, contract_id))


money_request_routes(WAIVER, path="/interest-waivers", resource="interest_waiver", id_name="waiver_id",
                     create=WaiverIn, update=WaiverUpdate, out=WaiverOut, write=P.WAIVER_REQUEST,
                     sorts={"amount": SortKey("amount", WAIVER.model.amount)})
money_request_routes(SETTLEMENT, path="/settlement-requests", resource="settlement_request",
                     id_name="settlement_request_id", create=SettlementRequestIn, update=SettlementRequestUpdate,
                     out=SettlementRequestOut, write=P.SETTLEMENT_REQUEST, sorts={})
money_request_routes(GPS_FEE, path="/gps-fees", resource="gps_fee", id_name="gps_fee_id", create=GpsFeeIn,
                     update=GpsFeeUpdate, out=GpsFeeOut, write=P.GPS_FEE_REQUEST,
                     sorts={"amount": SortKey("amount", GPS_FEE.model.amount)})


@router.post("/settlement-requests/{settlement_request_id}/release", response_model=SettlementRequestOut,
             operation_id="release_settlement_documents", dependencies=[Idempotent],
             summary="Record the release of the invoice and the certificate of conformity (合格证)")
@declares(etag=True, if_match=True)
async def release_documents(session: Session, principal: Requires(P.SETTLEMENT_REQUEST),
                            request_id: Annotated[uuid.UUID, Path(alias="settlement_request_id")],
                            body: SettlementReleaseIn, http: Request, response: Response) -> Any:
    request = await get_readable(session, principal, SETTLEMENT.model, request_id, for_update=True,
                                 code=f"{SETTLEMENT.name}.not_found")
    check_if_match(http, request.version)
    released = await service.release(session, principal, request, body)
    set_etag(response, released.version)
    return SettlementRequestOut.model_validate(released)
