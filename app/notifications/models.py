import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, UUIDPk, utcnow
from app.core.scoping import ScopeSpec, scoped


@scoped(lambda m: ScopeSpec(group=m.group_id, owners=(m.user_id,)))
class Notification(UUIDPk, Base):
    """A message for one user (reminders, approvals waiting, outcomes)."""

    __tablename__ = "notification"
    __handover_kept__ = {"user_id": "the leaver's own inbox (what waits on them now moves with the hooks)"}
    __table_args__ = (Index("ix_notification_user_id_created_at", "user_id", "created_at"),)

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org_group.id"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str | None] = mapped_column(Text)
    entity_type: Mapped[str | None] = mapped_column(String(60))
    entity_id: Mapped[str | None] = mapped_column(String(100))
    # Lets a producer say "at most one of these": e.g. one expiry reminder per customer per day.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
