"""The close of business's run record: one row per group and run (`GET /close-of-business/runs`)."""

import uuid
from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, Integer
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, UUIDPk
from app.core.scoping import ScopeSpec, scoped


# Group-wide: the close of business closes every company of the group at once; who may read the
# runs is decided by the function permission `cob.run`, not by data scope.
@scoped(lambda m: ScopeSpec(group=m.group_id, tenant_wide=True))
class CobRun(UUIDPk, Base):
    __tablename__ = "cob_run"
    __handover_kept__ = {"actor_id": "history: who ran the close of business"}
    __table_args__ = (
        # The runs list, newest first, per group.
        Index("ix_cob_run_group_id_started_at_id", "group_id", "started_at", "id"),
    )

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org_group.id"))
    business_date: Mapped[date] = mapped_column(Date)  # the last day closed (the group's date when none was)
    days: Mapped[int] = mapped_column(Integer)  # days closed by this run (a catch-up closes several)
    contracts: Mapped[int] = mapped_column(Integer)  # account-days closed (one per contract and day)
    entries_posted: Mapped[int] = mapped_column(Integer)  # penalty entries
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    duration_ms: Mapped[int] = mapped_column(Integer)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))  # None: the periodic job
