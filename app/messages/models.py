"""Messages to customers (短信中心, e-mail): templates per group, the customers who opted out, and
the log of every message (queued, sent, failed or suppressed), shown on the case timeline."""

import uuid
from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, Timestamps, UUIDPk, Versioned, utcnow
from app.core.scoping import ScopeSpec, scoped
from app.core.sql import check_in

KINDS = ("payment_reminder", "overdue_notice", "promise_broken", "settlement_confirmation", "manual")
CHANNELS = ("sms", "email")
STATES = ("queued", "sent", "failed", "suppressed")


@scoped(lambda m: ScopeSpec(group=m.group_id))
class MessageTemplate(UUIDPk, Timestamps, Versioned, Base):
    """What the close of business sends for one kind on one channel. Placeholders:
    {customer_name} {contract_number} {amount} {due_date} {company_name}."""

    __tablename__ = "message_template"
    __table_args__ = (
        check_in("kind", KINDS[:-1], name="kind_valid"),
        check_in("channel", CHANNELS, name="channel_valid"),
        UniqueConstraint("group_id", "kind", "channel"),
        Index("ix_message_template_group_id_created_at", "group_id", "created_at", "id"),
    )

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org_group.id"))
    kind: Mapped[str] = mapped_column(String(30))
    channel: Mapped[str] = mapped_column(String(10))
    # payment_reminder only: how many days before the due date.
    days_before: Mapped[int | None] = mapped_column(Integer)
    subject: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class MessageOptOut(Base):
    """A customer who asked for no messages (any channel). Written through the customer's scope."""

    __tablename__ = "message_opt_out"
    __handover_kept__ = {"by_id": "history: who recorded the opt-out"}

    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), primary_key=True)
    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org_group.id"))
    reason: Mapped[str | None] = mapped_column(String(500))
    by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


@scoped(lambda m: ScopeSpec(group=m.group_id, company=m.company_id, owners=(m.created_by_id,)))
class Message(UUIDPk, Base):
    """One message to one customer. `dedupe_key` makes the close of business's messages once only
    (a reminder per instalment and channel...)."""

    __tablename__ = "message"
    __handover_kept__ = {"created_by_id": "history: who sent the message"}
    __table_args__ = (
        check_in("kind", KINDS, name="kind_valid"),
        check_in("channel", CHANNELS, name="channel_valid"),
        check_in("state", STATES, name="state_valid"),
        Index("ix_message_company_id_created_at", "company_id", "created_at", "id"),
        Index("ix_message_created_by_id_created_at", "created_by_id", "created_at", "id"),
        Index("ix_message_group_id_created_at", "group_id", "created_at", "id"),
        Index("ix_message_case_id_created_at", "case_id", "created_at"),
        Index("ix_message_customer_id_created_at", "customer_id", "created_at"),
    )

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org_group.id"))
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("company.id"))
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customer.id"))
    contract_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("contract.id"))
    case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("collection_case.id"))
    kind: Mapped[str] = mapped_column(String(30))
    channel: Mapped[str] = mapped_column(String(10))
    recipient: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(12), default="queued", server_default="queued")
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    error: Mapped[str | None] = mapped_column(String(500))
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 server_default=text("now()"))
    # Not before 08:00 in the company's zone when it was queued in the quiet hours (21:00-08:00).
    not_before: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
