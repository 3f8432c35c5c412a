"""Approval flows (versioned configuration) and approval instances (one per request).

No ORM relationships: every read is an explicit query in repository.py.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    exists,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, Timestamps, UUIDPk, Versioned, utcnow
from app.core.scoping import ScopeSpec, scope_eq, scoped
from app.core.sql import check_in


class InstanceStatus:
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    CHOICES = (PENDING, APPROVED, REJECTED, WITHDRAWN)


class StepStatus:
    WAITING = "waiting"  # not reached yet
    ACTIVE = "active"
    APPROVED = "approved"
    REJECTED = "rejected"
    SKIPPED = "skipped"  # its condition did not hold for the submitted request
    CANCELLED = "cancelled"  # the instance ended (rejected, withdrawn) before the step finished
    CHOICES = (WAITING, ACTIVE, APPROVED, REJECTED, SKIPPED, CANCELLED)


class AssignmentStatus:
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    TRANSFERRED = "transferred"
    CANCELLED = "cancelled"  # another approver decided the step, or the instance ended
    CHOICES = (PENDING, APPROVED, REJECTED, TRANSFERRED, CANCELLED)


class AssignmentOrigin:
    RULE = "rule"  # the step's approver rule
    MANAGER = "manager"  # the submitter was the rule's only approver: their manager instead
    ADMINISTRATORS = "administrators"  # the rule found nobody: the group's administrators
    TRANSFER = "transfer"  # handed over by a current approver
    CHOICES = (RULE, MANAGER, ADMINISTRATORS, TRANSFER)


class ActionKind:
    """What a person did to an instance: the action log's `action`."""

    SUBMIT, APPROVE, REJECT, WITHDRAW, URGE, TRANSFER = CHOICES = (
        "submit", "approve", "reject", "withdraw", "urge", "transfer")


@scoped(lambda m: ScopeSpec(group=m.group_id, tenant_wide=True,
                            notes="configuration: visible to the tenant's holders of approval_flow.read"))
class ApprovalFlow(UUIDPk, Timestamps, Versioned, Base):
    """A flow per request type, optionally per company (a company's flow overrides the group's).

    Its steps live in immutable `ApprovalFlowVersion` rows; `current_version` names the one new
    submissions use. `version` (the mixin) is the ETag of this row.
    """

    __tablename__ = "approval_flow"
    __table_args__ = (
        Index("ux_approval_flow_group_default", "group_id", "request_type", unique=True,
              postgresql_where=text("company_id IS NULL AND is_active")),
        Index("ux_approval_flow_group_company", "group_id", "request_type", "company_id", unique=True,
              postgresql_where=text("company_id IS NOT NULL AND is_active")),
    )

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org_group.id"), index=True)
    company_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("company.id"))
    request_type: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(default=True)
    current_version: Mapped[int] = mapped_column(Integer, default=1)


class ApprovalFlowVersion(UUIDPk, Base):
    """One immutable edition of a flow's steps: editing a flow adds a version, never rewrites one."""

    __tablename__ = "approval_flow_version"
    __handover_kept__ = {"created_by_id": "history: who edited the flow"}
    __table_args__ = (UniqueConstraint("flow_id", "number"),)

    flow_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("approval_flow.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    # [{"name", "rule": {"kind", ...}, "mode": "any"|"all", "condition": str|None}]
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def _involved(model: type, principal: Any) -> Any:
    # Current and past approvers see the instance whatever their data scope.
    return exists(
        select(ApprovalAssignment.id).where(ApprovalAssignment.instance_id == model.id,  # type: ignore[attr-defined]
                                            scope_eq(ApprovalAssignment.user_id, principal.user_id))
        .correlate_except(ApprovalAssignment)  # the inbox query joins assignments too
    )


@scoped(lambda m: ScopeSpec(group=m.group_id, company=m.company_id, owners=(m.submitter_id,),
                            extra_read=lambda p: _involved(m, p)))
class ApprovalInstance(UUIDPk, Timestamps, Versioned, Base):
    """The approval of one request (one row per request; a resubmission starts a new round).

    `snapshot` is the current round's; every round's is kept in `ApprovalRound`.
    """

    __tablename__ = "approval_instance"
    __table_args__ = (
        UniqueConstraint("request_type", "request_id"),
        check_in("status", InstanceStatus.CHOICES, name="status_valid"),
        Index("ix_approval_instance_group_id_submitted_at", "group_id", "submitted_at"),
        Index("ix_approval_instance_overdue", "group_id", "waiting_since",
              postgresql_where=text("status = 'pending'")),
    )

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org_group.id"))
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("company.id"), index=True)
    request_type: Mapped[str] = mapped_column(String(60))
    request_id: Mapped[uuid.UUID] = mapped_column()
    title: Mapped[str] = mapped_column(String(200))
    submitter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"), index=True)
    flow_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("approval_flow.id"))
    flow_version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("approval_flow_version.id"))
    status: Mapped[str] = mapped_column(String(20))
    round: Mapped[int] = mapped_column(Integer, default=1)
    # The step waiting now (no FK: steps reference the instance, this avoids a cycle).
    current_step_id: Mapped[uuid.UUID | None] = mapped_column()
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONB)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    waiting_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_urged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    effect_applied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ApprovalRound(UUIDPk, Base):
    """One submission of a request: what was submitted, under which flow version, and how it ended.

    A resubmission after a rejection or withdrawal adds a round; earlier rounds are never rewritten,
    so the record keeps what each approver decided on. Steps and actions carry their round number.
    """

    __tablename__ = "approval_round"
    __table_args__ = (
        UniqueConstraint("instance_id", "round"),
        check_in("outcome", InstanceStatus.CHOICES, name="outcome_valid"),
    )

    instance_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("approval_instance.id", ondelete="CASCADE"))
    round: Mapped[int] = mapped_column(Integer)
    # Unknown (NULL) only for rounds backfilled from a history whose flow version cannot be found.
    flow_version_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("approval_flow_version.id"))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONB)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str] = mapped_column(String(20))  # pending until the round is decided
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ApprovalStep(UUIDPk, Base):
    """A step of one round of an instance, copied from the flow version at submit."""

    __tablename__ = "approval_step"
    __table_args__ = (
        UniqueConstraint("instance_id", "round", "position"),
        check_in("status", StepStatus.CHOICES, name="status_valid"),
        CheckConstraint("mode IN ('any', 'all')", name="mode_valid"),
    )

    instance_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("approval_instance.id", ondelete="CASCADE"))
    round: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    rule: Mapped[dict[str, Any]] = mapped_column(JSONB)
    mode: Mapped[str] = mapped_column(String(10))
    condition: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(String(300))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ApprovalAssignment(UUIDPk, Base):
    """Who a step waits on. Pending rows are the inbox (partial index by user)."""

    __tablename__ = "approval_assignment"
    __handover_kept__ = {"transferred_from_id": "history: whose place the assignment took"}
    __table_args__ = (
        check_in("status", AssignmentStatus.CHOICES, name="status_valid"),
        check_in("origin", AssignmentOrigin.CHOICES, name="origin_valid"),
        Index("ix_approval_assignment_inbox", "user_id", "instance_id", postgresql_where=text("status = 'pending'")),
        Index("ux_approval_assignment_pending_step_user", "step_id", "user_id", unique=True,
              postgresql_where=text("status = 'pending'")),
        Index("ix_approval_assignment_instance_id_user_id", "instance_id", "user_id"),
        Index("ix_approval_assignment_step_id", "step_id"),
    )

    instance_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("approval_instance.id", ondelete="CASCADE"))
    step_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("approval_step.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    origin: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str | None] = mapped_column(Text)
    transferred_from_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    assigned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    acted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ApprovalAction(UUIDPk, Base):
    """The record: every submit, approval, rejection, withdrawal, urge and transfer, with time."""

    __tablename__ = "approval_action"
    __handover_kept__ = {"actor_id": "history: who acted", "target_user_id": "history: to whom a transfer went"}
    __table_args__ = (
        check_in("action", ActionKind.CHOICES, name="action_valid"),
        Index("ix_approval_action_instance_id_created_at", "instance_id", "created_at"),
    )

    instance_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("approval_instance.id", ondelete="CASCADE"))
    round: Mapped[int] = mapped_column(Integer)
    step_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("approval_step.id", ondelete="CASCADE"))
    actor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    action: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str | None] = mapped_column(Text)
    target_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
