"""Expense requests: the request kit's rules (app/approvals/requests.py) and nothing of their own
beyond their fields. Service functions for callers outside HTTP (demo data, tests)."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.approvals import requests as kit
from app.core.principal import Principal
from app.expenses.approval import EXPENSE
from app.expenses.models import ExpenseRequest
from app.expenses.schemas import ExpenseCreate

REQUEST_TYPE = EXPENSE.name


async def create(session: AsyncSession, actor: Principal, data: ExpenseCreate) -> tuple[ExpenseRequest, bool]:
    """A draft owned by the caller, in their company. The caller's repeated `client_ref` returns
    their first record (False)."""
    return await kit.create(session, actor, EXPENSE, data.model_dump(exclude={"client_ref"}),
                            body=data)


async def submit(session: AsyncSession, actor: Principal, expense: ExpenseRequest) -> ExpenseRequest:
    return await kit.submit(session, actor, EXPENSE, expense)


async def withdraw(session: AsyncSession, actor: Principal, expense: ExpenseRequest) -> ExpenseRequest:
    return await kit.withdraw(session, actor, EXPENSE, expense)
