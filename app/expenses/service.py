"""Expense requests: drafts the requester edits, then approval through the engine.

State machine (`TRANSITIONS`): draft | rejected | withdrawn --submit--> pending;
pending --approve--> approved | --reject--> rejected | --withdraw--> withdrawn. Only the
engine's effects move a request out of pending, and a pending request cannot be edited.
"""

from sqlalchemy.ext.asyncio import AsyncSession

from app.approvals import service as approvals
from app.core import audit, client_ids
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden
from app.core.principal import Principal
from app.expenses.models import ExpenseRequest, ExpenseStatus
from app.expenses.schemas import ExpenseCreate, ExpenseUpdate

REQUEST_TYPE = "expense"

TRANSITIONS: dict[tuple[str, str], str] = {
    (ExpenseStatus.DRAFT, "submit"): ExpenseStatus.PENDING,
    (ExpenseStatus.REJECTED, "submit"): ExpenseStatus.PENDING,
    (ExpenseStatus.WITHDRAWN, "submit"): ExpenseStatus.PENDING,
    (ExpenseStatus.PENDING, "approve"): ExpenseStatus.APPROVED,
    (ExpenseStatus.PENDING, "reject"): ExpenseStatus.REJECTED,
    (ExpenseStatus.PENDING, "withdraw"): ExpenseStatus.WITHDRAWN,
}


def transition(expense: ExpenseRequest, action: str) -> str:
    """Move the request along its state machine; 409 for an illegal transition."""
    target = TRANSITIONS.get((expense.status, action))
    if target is None:
        raise Conflict(f"Cannot {action} an expense request that is {expense.status}.",
                       code="expense.illegal_transition")
    expense.status = target
    expense.version += 1
    return target


def _ensure_requester(actor: Principal, expense: ExpenseRequest) -> None:
    if actor.user_id != expense.requester_id:
        raise Forbidden("Only the requester may change or submit this expense request.",
                        code="expense.not_requester")


async def create(session: AsyncSession, actor: Principal, data: ExpenseCreate) -> tuple[ExpenseRequest, bool]:
    """A draft owned by the caller, in their company. The caller's repeated `client_ref` returns
    their first record (False); anybody else's use of it is invisible (app/core/client_ids.py)."""
    expense, created = await client_ids.create_once(
        session, ExpenseRequest, creator=ExpenseRequest.requester_id, creator_id=actor.user_id,
        client_ref=data.client_ref,
        build=lambda: ExpenseRequest(group_id=actor.group_id, company_id=actor.company_id,
                                     department_id=actor.department_id, requester_id=actor.user_id, title=data.title,
                                     category=data.category, amount=data.amount, description=data.description,
                                     status=ExpenseStatus.DRAFT, version=1))
    if created:
        audit.record(session, actor, "expense.created", "expense_request", expense.id, company_id=expense.company_id,
                     after=audit.snapshot(expense))
    return expense, created


async def update(session: AsyncSession, actor: Principal, expense: ExpenseRequest,
                 data: ExpenseUpdate) -> ExpenseRequest:
    """What is approved is what was submitted: a request under approval (or approved) is not edited."""
    _ensure_requester(actor, expense)
    if expense.status not in ExpenseStatus.EDITABLE:
        raise Conflict(f"An expense request that is {expense.status} cannot be edited; withdraw it first.",
                       code="expense.not_editable")
    before = audit.snapshot(expense)
    for key, value in data.model_dump(exclude_unset=True).items():
        if value is not None or key == "description":
            setattr(expense, key, value)
    expense.version += 1
    await session.flush()
    audit.record(session, actor, "expense.updated", "expense_request", expense.id, company_id=expense.company_id,
                 before=before, after=audit.snapshot(expense))
    return expense


async def delete(session: AsyncSession, actor: Principal, expense: ExpenseRequest) -> None:
    """Only a draft that was never submitted may be deleted."""
    _ensure_requester(actor, expense)
    if expense.status != ExpenseStatus.DRAFT:
        raise Conflict("Only a draft can be deleted.", code="expense.not_deletable")
    before = audit.snapshot(expense)
    await session.delete(expense)
    await session.flush()
    audit.record(session, actor, "expense.deleted", "expense_request", expense.id, company_id=expense.company_id,
                 before=before)


async def submit(session: AsyncSession, actor: Principal, expense: ExpenseRequest) -> ExpenseRequest:
    """The requester submits (or resubmits after a rejection/withdrawal): the engine takes over."""
    _ensure_requester(actor, expense)
    if (expense.status, "submit") not in TRANSITIONS:
        raise Conflict(f"An expense request that is {expense.status} cannot be submitted.",
                       code="expense.illegal_transition")
    await approvals.submit(session, actor, REQUEST_TYPE, expense.id)
    return expense


async def withdraw(session: AsyncSession, actor: Principal, expense: ExpenseRequest) -> ExpenseRequest:
    _ensure_requester(actor, expense)
    await approvals.withdraw_request(session, actor, REQUEST_TYPE, expense.id)
    return expense


async def mark_approved(session: AsyncSession, actor: Principal, expense: ExpenseRequest) -> None:
    """The final-approval effect: the request is approved and the approval recorded, once."""
    before = audit.snapshot(expense, "status", "approved_at")
    transition(expense, "approve")
    expense.approved_at = utcnow()
    await session.flush()
    audit.record(session, actor, "expense.approved", "expense_request", expense.id, company_id=expense.company_id,
                 before=before, after=audit.snapshot(expense, "status", "approved_at", "amount"))
