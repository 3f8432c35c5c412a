"""Registers the `expense` request type with the approval engine."""

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.approvals import conditions, registry
from app.core import audit
from app.core.db import utcnow
from app.expenses import service
from app.expenses.models import ExpenseRequest


async def _lock(session: AsyncSession, request_id: uuid.UUID) -> ExpenseRequest:
    expense = await session.scalar(select(ExpenseRequest).where(ExpenseRequest.id == request_id).with_for_update())
    assert expense is not None  # the instance exists only for an existing request
    return expense


async def load(session: AsyncSession, request_id: uuid.UUID) -> registry.Submission | None:
    expense = await session.scalar(select(ExpenseRequest).where(ExpenseRequest.id == request_id).with_for_update())
    if expense is None:
        return None
    return registry.Submission(
        group_id=expense.group_id, company_id=expense.company_id, submitter_id=expense.requester_id,
        title=f"费用申请 {expense.title} ¥{expense.amount:.2f}",
        snapshot={"title": expense.title, "category": expense.category, "amount": f"{expense.amount:.2f}",
                  "description": expense.description, "version": expense.version},
        values={"amount": expense.amount, "category": expense.category},
    )


async def on_submitted(ctx: registry.EffectContext) -> None:
    expense = await _lock(ctx.session, ctx.instance.request_id)
    service.transition(expense, "submit")
    expense.approval_id, expense.submitted_at, expense.approved_at = ctx.instance.id, utcnow(), None


async def on_approved(ctx: registry.EffectContext) -> None:
    await service.mark_approved(ctx.session, ctx.actor, await _lock(ctx.session, ctx.instance.request_id))


async def on_rejected(ctx: registry.EffectContext) -> None:
    expense = await _lock(ctx.session, ctx.instance.request_id)
    service.transition(expense, "reject")
    audit.record(ctx.session, ctx.actor, "expense.rejected", "expense_request", expense.id,
                 company_id=expense.company_id, after={"status": expense.status, "reason": ctx.comment})


async def on_withdrawn(ctx: registry.EffectContext) -> None:
    expense = await _lock(ctx.session, ctx.instance.request_id)
    service.transition(expense, "withdraw")


EXPENSE = registry.register(registry.RequestType(
    name=service.REQUEST_TYPE,
    titles={"zh-CN": "费用申请", "en": "Expense request"},
    fields={"amount": conditions.DECIMAL, "category": conditions.STRING},
    load=load, on_submitted=on_submitted, on_approved=on_approved, on_rejected=on_rejected,
    on_withdrawn=on_withdrawn,
))
