import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.client_ids import ClientRef
from app.core.db import Base, Timestamps, UUIDPk, Versioned
from app.core.scoping import ScopeSpec, scoped


class ExpenseStatus:
    DRAFT = "draft"
    PENDING = "pending"  # under approval: cannot be edited
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    CHOICES = (DRAFT, PENDING, APPROVED, REJECTED, WITHDRAWN)
    EDITABLE = (DRAFT, REJECTED, WITHDRAWN)


@scoped(lambda m: ScopeSpec(group=m.group_id, company=m.company_id, department=m.department_id,
                            owners=(m.requester_id,)))
class ExpenseRequest(UUIDPk, ClientRef, Timestamps, Versioned, Base):
    """A simple expense request with an amount: the first consumer of the approval engine."""

    __tablename__ = "expense_request"
    __table_args__ = (
        CheckConstraint("status IN (" + ", ".join(f"'{s}'" for s in ExpenseStatus.CHOICES) + ")",
                        name="status_valid"),
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_expense_request_group_id_created_at", "group_id", "created_at"),
        # The phone's own id for a request it created offline (app/core/client_ids.py).
        UniqueConstraint("requester_id", "client_ref"),
    )

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org_group.id"))
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("company.id"), index=True)
    department_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("department.id"))
    requester_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(40))
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=ExpenseStatus.DRAFT)
    approval_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("approval_instance.id", ondelete="SET NULL"))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
