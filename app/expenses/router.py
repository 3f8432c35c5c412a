import uuid
from typing import Annotated, Literal

from fastapi import Depends, Path, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.routers import api_router
from app.core.etag import check_if_match, set_etag
from app.core.idempotency import Idempotent
from app.core.pagination import Page, PageParams, SortKey, page_params, paginate, sort_param
from app.core.principal import Requires
from app.core.routing import get_session
from app.core.scoping import get_readable, readable
from app.expenses import permissions as P
from app.expenses import service
from app.expenses.models import ExpenseRequest
from app.expenses.schemas import ExpenseCreate, ExpenseOut, ExpenseUpdate

router = api_router(tags=["expenses"])
Session = Annotated[AsyncSession, Depends(get_session)]
Id = Annotated[uuid.UUID, Path()]

SORTS = {"created_at": SortKey("created_at", ExpenseRequest.created_at),
         "amount": SortKey("amount", ExpenseRequest.amount)}


def _out(expense: ExpenseRequest, response: Response) -> ExpenseOut:
    set_etag(response, expense.version)
    return ExpenseOut.model_validate(expense)


@router.get("/expense-requests", response_model=Page[ExpenseOut], operation_id="list_expense_requests")
async def list_expenses(session: Session, principal: Requires(P.EXPENSE_READ),
                        page: Annotated[PageParams, Depends(page_params)],
                        sort: Annotated[SortKey, Depends(sort_param(SORTS, "-created_at"))],
                        status: Literal["draft", "pending", "approved", "rejected", "withdrawn"] | None = None,
                        mine: bool = False) -> Page[ExpenseOut]:
    stmt = readable(principal, ExpenseRequest)
    if status is not None:
        stmt = stmt.where(ExpenseRequest.status == status)
    if mine:
        stmt = stmt.where(ExpenseRequest.requester_id == principal.user_id)
    rows, cursor = await paginate(session, stmt, page, sort, ExpenseRequest.id)
    return Page(items=[ExpenseOut.model_validate(r) for r in rows], next_cursor=cursor)


@router.post("/expense-requests", response_model=ExpenseOut, status_code=201, operation_id="create_expense_request",
             dependencies=[Idempotent], responses={200: {"description": "The id was already uploaded: the record"}})
async def create_expense(session: Session, principal: Requires(P.EXPENSE_CREATE), body: ExpenseCreate,
                         response: Response) -> ExpenseOut:
    expense, created = await service.create(session, principal, body)
    if not created:
        response.status_code = 200
    response.headers["Location"] = f"/api/v1/expense-requests/{expense.id}"
    return _out(expense, response)


@router.get("/expense-requests/{expense_id}", response_model=ExpenseOut, operation_id="get_expense_request")
async def get_expense(session: Session, principal: Requires(P.EXPENSE_READ), expense_id: Id,
                      response: Response) -> ExpenseOut:
    return _out(await get_readable(session, principal, ExpenseRequest, expense_id), response)


@router.patch("/expense-requests/{expense_id}", response_model=ExpenseOut, operation_id="update_expense_request")
async def update_expense(session: Session, principal: Requires(P.EXPENSE_CREATE), expense_id: Id,
                         body: ExpenseUpdate, request: Request, response: Response) -> ExpenseOut:
    expense = await get_readable(session, principal, ExpenseRequest, expense_id, for_update=True)
    check_if_match(request, expense.version)
    return _out(await service.update(session, principal, expense, body), response)


@router.delete("/expense-requests/{expense_id}", status_code=204, operation_id="delete_expense_request")
async def delete_expense(session: Session, principal: Requires(P.EXPENSE_CREATE), expense_id: Id,
                         request: Request) -> Response:
    expense = await get_readable(session, principal, ExpenseRequest, expense_id, for_update=True)
    check_if_match(request, expense.version)
    await service.delete(session, principal, expense)
    return Response(status_code=204)


SUBMIT_DOC = ("Starts (or, after a rejection or withdrawal, restarts) the request's approval. 409 "
              "`approval.no_flow` when no flow is configured; 409 `approval.step_without_approver` when a step "
              "that applies to the request could be approved by nobody but the requester (the problem's `step` "
              "names it), so it never sits at the step before.")


@router.post("/expense-requests/{expense_id}/submit", response_model=ExpenseOut,
             operation_id="submit_expense_request", dependencies=[Idempotent], description=SUBMIT_DOC)
async def submit_expense(session: Session, principal: Requires(P.EXPENSE_CREATE), expense_id: Id,
                         request: Request, response: Response) -> ExpenseOut:
    expense = await get_readable(session, principal, ExpenseRequest, expense_id, for_update=True)
    check_if_match(request, expense.version)
    return _out(await service.submit(session, principal, expense), response)


@router.post("/expense-requests/{expense_id}/withdraw", response_model=ExpenseOut,
             operation_id="withdraw_expense_request", dependencies=[Idempotent])
async def withdraw_expense(session: Session, principal: Requires(P.EXPENSE_CREATE), expense_id: Id,
                           request: Request, response: Response) -> ExpenseOut:
    expense = await get_readable(session, principal, ExpenseRequest, expense_id)
    check_if_match(request, expense.version)
    return _out(await service.withdraw(session, principal, expense), response)
