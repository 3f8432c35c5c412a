from decimal import Decimal

from sqlalchemy import CheckConstraint, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.approvals.requests import RequestMixin, request_scope, request_table_args
from app.core.db import Base
from app.core.scoping import scoped


@scoped(request_scope)
class ExpenseRequest(RequestMixin, Base):
    """A simple expense request with an amount: the first consumer of the approval engine."""

    __tablename__ = "expense_request"
    __table_args__ = request_table_args("expense_request", CheckConstraint("amount > 0", name="amount_positive"))

    title: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(40))
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    description: Mapped[str | None] = mapped_column(Text)
