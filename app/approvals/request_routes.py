"""The route factory of the request kit: the seven routes every request type answers the same way.

    request_routes(router, EXPENSE, path="/expense-requests", resource="expense_request",
                   create=ExpenseCreate, update=ExpenseUpdate, out=ExpenseOut,
                   read=P.EXPENSE_READ, write=P.EXPENSE_CREATE)

gives `GET/POST {path}`, `GET/PATCH/DELETE {path}/{id}` and `POST {path}/{id}/submit|withdraw`,
with scoping (404 out of scope), If-Match on every change, ETags, idempotent POSTs, a client
reference on create (the caller's retry answers 200 with the first record) and the lock order of the kit.
"""

import uuid
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from app.approvals import requests as kit
from app.core.etag import check_if_match, declares, set_etag
from app.core.idempotency import Idempotent
from app.core.pagination import Page, PageParams, SortKey, page_params, paginate, sort_param
from app.core.principal import Principal, Requires
from app.core.routing import Session
from app.core.scoping import get_readable, readable

Status = Literal["draft", "pending", "approved", "rejected", "withdrawn"]
# A create's answer to a client_ref it has seen (app/core/client_ids.py), for every route that takes one.
RETRIED: dict[int | str, dict[str, Any]] = {200: {
    "description": "Sent again with the same client_ref and the same body: the record the first upload created "
                   "(with another body: 409 `request.conflicting_retry`, naming that record's `id`)"}}
SUBMIT_DOC = ("Starts (or, after a rejection or withdrawal, restarts) the request's approval. 409 "
              "`approval.no_flow` when no flow is configured; 409 `approval.step_without_approver` when a step "
              "that applies to the request could be approved by nobody but the requester (the problem's `step` "
              "names it), so it never sits at the step before.")


def request_routes(
    router: APIRouter,
    kind: kit.RequestKind[Any],
    *,
    path: str,
    resource: str,
    create: type[BaseModel],
    update: type[BaseModel],
    out: type[BaseModel],
    read: str,
    write: str,
    id_name: str | None = None,
    sorts: dict[str, SortKey] | None = None,
    create_fields: Callable[[BaseModel], dict[str, Any]] | None = None,
    omit: frozenset[str] = frozenset(),
) -> None:
    """Add the request routes of `kind` to `router` (operation ids `list_{resource}s`, `create_{resource}`…).

    `omit` names routes the area writes itself (`"list"`, `"create"`, `"submit"`: extra filters, a
    check before creating, figures refreshed on submit), keeping the kit's others."""
    model = kind.model
    sorts = {"created_at": SortKey("created_at", model.created_at), **(sorts or {})}
    fields_of = create_fields or (lambda body: body.model_dump(exclude={"client_ref"}))
    Reader = Requires(read)  # noqa: N806 - a type in the signatures below
    Writer = Requires(write)  # noqa: N806
    id_name = id_name or f"{resource}_id"
    Id = Annotated[uuid.UUID, Path(alias=id_name)]  # noqa: N806
    item = f"{path}/{{{id_name}}}"
    title = kind.engine_type.titles["en"].lower()  # "expense request": the operations' summaries
    not_found = f"{kind.name}.not_found"  # e.g. expense.not_found

    def shaped(request: Any, response: Response) -> Any:
        set_etag(response, request.version)
        return out.model_validate(request)

    async def for_change(session: AsyncSession, principal: Principal, request_id: uuid.UUID,
                         http: Request) -> Any:
        # The request row first, locked, then (inside the engine) the instance: the kit's lock order.
        request = await get_readable(session, principal, model, request_id, for_update=True, code=not_found)
        check_if_match(http, request.version)
        return request

    def unless(name: str, decorator: Callable[[Any], Any]) -> Callable[[Any], Any]:
        return (lambda fn: fn) if name in omit else decorator

    @unless("list", router.get(path, response_model=Page[out], operation_id=f"list_{resource}s",  # type: ignore[valid-type]
                               summary=f"List {title}s"))
    async def list_requests(session: Session, principal: Reader, page: Annotated[PageParams, Depends(page_params)],
                            sort: Annotated[SortKey, Depends(sort_param(sorts, "-created_at"))],
                            status: Status | None = None, mine: bool = False) -> Any:
        stmt = readable(principal, model)
        if status is not None:
            stmt = stmt.where(model.status == status)
        if mine:
            stmt = stmt.where(model.requester_id == principal.user_id)
        rows, cursor = await paginate(session, stmt, page, sort, model.id)
        return Page[out](items=[out.model_validate(r) for r in rows], next_cursor=cursor)  # type: ignore[valid-type]

    @unless("create", router.post(
        path, response_model=out, status_code=201, operation_id=f"create_{resource}", summary=f"Create {title}",
        dependencies=[Idempotent], responses=RETRIED))
    @declares(etag=True, location=True)
    async def create_request(session: Session, principal: Writer, body: create,  # type: ignore[valid-type]
                             http: Request, response: Response) -> Any:
        request, created = await kit.create(session, principal, kind, fields_of(body), body=body)
        if not created:
            response.status_code = 200
        response.headers["Location"] = f"{http.url.path}/{request.id}"
        return shaped(request, response)

    @router.get(f"{item}", response_model=out, operation_id=f"get_{resource}", summary=f"Get {title}")
    @declares(etag=True)
    async def get_request(session: Session, principal: Reader, request_id: Id, response: Response) -> Any:
        return shaped(await get_readable(session, principal, model, request_id, code=not_found), response)

    @router.patch(f"{item}", response_model=out, operation_id=f"update_{resource}", summary=f"Update {title}")
    @declares(etag=True, if_match=True)
    async def update_request(session: Session, principal: Writer, request_id: Id, body: update,  # type: ignore[valid-type]
                             http: Request, response: Response) -> Any:
        request = await for_change(session, principal, request_id, http)
        return shaped(await kit.update(session, principal, kind, request, body), response)

    @router.delete(f"{item}", status_code=204, operation_id=f"delete_{resource}", summary=f"Delete {title}")
    @declares(if_match=True)
    async def delete_request(session: Session, principal: Writer, request_id: Id, http: Request) -> Response:
        await kit.delete(session, principal, kind, await for_change(session, principal, request_id, http))
        return Response(status_code=204)

    @unless("submit", router.post(f"{item}/submit", response_model=out, operation_id=f"submit_{resource}",
                                  summary=f"Submit {title}", dependencies=[Idempotent], description=SUBMIT_DOC))
    @declares(etag=True, if_match=True)
    async def submit_request(session: Session, principal: Writer, request_id: Id, http: Request,
                             response: Response) -> Any:
        request = await for_change(session, principal, request_id, http)
        return shaped(await kit.submit(session, principal, kind, request), response)

    @router.post(f"{item}/withdraw", response_model=out, operation_id=f"withdraw_{resource}",
                 summary=f"Withdraw {title}", dependencies=[Idempotent])
    @declares(etag=True, if_match=True)
    async def withdraw_request(session: Session, principal: Writer, request_id: Id, http: Request,
                               response: Response) -> Any:
        request = await for_change(session, principal, request_id, http)
        return shaped(await kit.withdraw(session, principal, kind, request), response)
