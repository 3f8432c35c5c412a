"""Registers the `expense` request type with the approval engine through the request kit."""

from app.approvals import conditions
from app.approvals.requests import register_request
from app.expenses.models import ExpenseRequest

EXPENSE = register_request(
    ExpenseRequest,
    name="expense",
    entity_type="expense_request",
    titles={"zh-CN": "费用申请", "en": "Expense request"},
    fields={"amount": conditions.DECIMAL, "category": conditions.STRING},
    title=lambda e: f"费用申请 {e.title} ¥{e.amount:.2f}",
    snapshot=lambda e: {"title": e.title, "category": e.category, "amount": f"{e.amount:.2f}",
                        "description": e.description},
    values=lambda e: {"amount": e.amount, "category": e.category},
)
