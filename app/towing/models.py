"""Repossession (拖机): the tow request on the approval engine, the tow task its approval opens, and
the registration of the towed machine (exactly one per task)."""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.approvals.requests import RequestMixin, request_scope, request_table_args
from app.core.db import Base, Timestamps, UUIDPk, Versioned
from app.core.scoping import ScopeSpec, scoped
from app.core.sql import check_in

TASK_STATES = ("open", "assigned", "registered", "cancelled")
CONDITION_STATES = ("ok", "damaged", "missing")
CONDITION_PARTS = ("exterior", "engine", "hydraulics", "undercarriage_tyres", "cab", "attachments", "keys")


@scoped(request_scope)
class TowRequest(RequestMixin, Base):
    """拖机申请: a collector asks to repossess a machine of a contract."""

    __tablename__ = "tow_request"
    __table_args__ = request_table_args(
        "tow_request", Index("ix_tow_request_contract_id", "contract_id"),
        Index("ix_tow_request_company_id_created_at_id", "company_id", "created_at", "id"),
        CheckConstraint("dpd >= 0", name="dpd_non_negative"))

    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contract.id"))
    machine_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("machine.id"))
    reason: Mapped[str] = mapped_column(Text)
    location: Mapped[str] = mapped_column(String(500))
    latitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    longitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    # Lifts the pending-promise hold, and (with `tow.override_min_dpd`) the company's minimum DPD.
    override_reason: Mapped[str | None] = mapped_column(Text)
    # The contract's figures when the request was last created or submitted (the flows' conditions),
    # and the minimum DPD that applied then.
    dpd: Mapped[int] = mapped_column(Integer)
    bucket: Mapped[str] = mapped_column(String(10))
    overdue_amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    min_dpd: Mapped[int] = mapped_column(Integer)


@scoped(lambda m: ScopeSpec(group=m.group_id, company=m.company_id, owners=(m.assignee_id,)))
class TowTask(UUIDPk, Timestamps, Versioned, Base):
    """拖机任务: opened by an approved tow request; assigned to a collector or an outside towing company."""

    __tablename__ = "tow_task"
    __table_args__ = (
        check_in("state", TASK_STATES, name="state_valid"),
        CheckConstraint("assignee_id IS NULL OR towing_company IS NULL", name="one_assignee"),
        Index("ix_tow_task_group_id_created_at", "group_id", "created_at", "id"),
        Index("ix_tow_task_company_id_created_at", "company_id", "created_at", "id"),
        Index("ix_tow_task_assignee_id_created_at", "assignee_id", "created_at", "id"),
        Index("ix_tow_task_contract_id", "contract_id"),
    )

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org_group.id"))
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("company.id"))
    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contract.id"))
    machine_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("machine.id"))
    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tow_request.id"), unique=True)
    state: Mapped[str] = mapped_column(String(20), default="open")
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    towing_company: Mapped[str | None] = mapped_column(String(200))
    assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancel_reason: Mapped[str | None] = mapped_column(Text)


@scoped(lambda m: ScopeSpec(group=m.group_id, company=m.company_id, owners=(m.registered_by_id,)))
class TowRegistration(UUIDPk, Timestamps, Base):
    """拖机登记: the machine is in the yard. One per task (the unique task_id)."""

    __tablename__ = "tow_registration"
    __handover_kept__ = {"registered_by_id": "history: who registered the repossession"}
    __table_args__ = (CheckConstraint("cost > 0", name="cost_positive"),
                      CheckConstraint("hour_meter >= 0", name="hour_meter_non_negative"))

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org_group.id"))
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("company.id"))
    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tow_task.id"), unique=True)
    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contract.id"), index=True)
    machine_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("machine.id"))
    registered_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    towed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    place: Mapped[str] = mapped_column(String(500))
    latitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    longitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    yard: Mapped[str] = mapped_column(String(200))
    yard_latitude: Mapped[Decimal] = mapped_column(Numeric(9, 6))
    yard_longitude: Mapped[Decimal] = mapped_column(Numeric(9, 6))
    hour_meter: Mapped[Decimal] = mapped_column(Numeric(10, 1))
    condition: Mapped[dict[str, Any]] = mapped_column(JSONB)
    cost: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    charge_entry_id: Mapped[uuid.UUID | None] = mapped_column()
