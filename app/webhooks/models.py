"""Webhook subscriptions (per group) and their deliveries: one row per event per matching
subscription, attempted in `seq` order per subscription and ordering key (the contract)."""

import uuid
from datetime import datetime

from sqlalchemy import ARRAY, BigInteger, Boolean, DateTime, ForeignKey, Identity, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, Timestamps, UUIDPk, Versioned, utcnow
from app.core.scoping import ScopeSpec, scoped
from app.core.sql import check_in

DELIVERY_STATES = ("pending", "delivered", "failed")


@scoped(lambda m: ScopeSpec(group=m.group_id, owners=(m.owner_id,)))
class WebhookSubscription(UUIDPk, Timestamps, Versioned, Base):
    """An integration's endpoint: the events it wants, where, and the secret its deliveries are
    signed with (Standard Webhooks). The secret is kept in the clear because signing needs it;
    it is shown once, on creation and rotation. After a rotation the previous secret also signs
    for a day, so a receiver can switch without losing deliveries."""

    __tablename__ = "webhook_subscription"
    __table_args__ = (Index("ix_webhook_subscription_group_id_created_at", "group_id", "created_at", "id"),)

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org_group.id"))
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(200))
    event_types: Mapped[list[str]] = mapped_column(ARRAY(String(60)))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    secret: Mapped[str] = mapped_column(String(100))
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_reason: Mapped[str | None] = mapped_column(Text)


class WebhookDelivery(UUIDPk, Base):
    """One event for one subscription. Read through its subscription (scoped there)."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        check_in("state", DELIVERY_STATES, name="state_valid"),
        Index("ix_webhook_delivery_subscription_id_seq", "subscription_id", "seq"),
        # The lane's head: the oldest pending delivery of a subscription and ordering key.
        Index("ix_webhook_delivery_pending_lane", "subscription_id", "ordering_key", "seq",
              postgresql_where=text("state = 'pending'")),
    )

    seq: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True)
    subscription_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_subscription.id", ondelete="CASCADE"))
    event_id: Mapped[uuid.UUID] = mapped_column(UUID, ForeignKey("integration_event.id"), index=True)
    event_type: Mapped[str] = mapped_column(String(60))
    ordering_key: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(10), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    redelivery_of_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("webhook_delivery.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, server_default=text("now()"))
