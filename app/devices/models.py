"""Remote lock and unlock (锁机 / 开机): the two requests on the approval engine, the device command
an approved one queues, every transition of that command, and the gateway's callbacks already seen.

A command's life (service.TRANSITIONS): queued → sent → acknowledged | failed | expired, plus
waiting_safe (a lock held back until a fresh report shows the machine stopped), cancelled (a newer
command came before it was sent, or the gateway withdrew it) and superseded (a newer command came
after it was sent and the gateway could not withdraw it). Every command carries its machine's next
sequence number; at most one unsent command per machine (the partial unique index). Every position
report is kept (`DevicePosition`), including those a device's wrong clock dates in the future."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.approvals.requests import RequestMixin, request_scope, request_table_args
from app.contracts import repository as contracts_repo
from app.core.db import Base, Timestamps, UUIDPk, Versioned
from app.core.scoping import ScopeSpec, scoped
from app.core.sql import check_in

ACTIONS = ("lock", "unlock")
STATES = ("queued", "waiting_safe", "sent", "acknowledged", "failed", "expired", "cancelled", "superseded")
UNSENT = ("queued", "waiting_safe")  # a newer command supersedes these
OPEN = ("queued", "waiting_safe", "sent")  # may still expire
REQUEST_KINDS = ("lock_request", "unlock_request")
EVENT_KINDS = ("command_result", "position")


def _table_args(name: str) -> tuple[Any, ...]:
    return request_table_args(name, Index(f"ix_{name}_contract_id", "contract_id"),
                              Index(f"ix_{name}_company_id_created_at_id", "company_id", "created_at", "id"))


class _MachineRequest(RequestMixin):
    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contract.id", ondelete="CASCADE"))
    machine_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("machine.id"))
    reason: Mapped[str] = mapped_column(Text)


@scoped(request_scope)
class LockRequest(_MachineRequest, Base):
    """锁机申请: stop a machine's engine remotely. The pending-promise hold applies."""

    __tablename__ = "lock_request"
    __table_args__ = _table_args("lock_request")

    override_reason: Mapped[str | None] = mapped_column(Text)


@scoped(request_scope)
class UnlockRequest(_MachineRequest, Base):
    """开机申请: release a locked machine, usually after a payment (the latest one, as the form showed it)."""

    __tablename__ = "unlock_request"
    __table_args__ = _table_args("unlock_request")

    payment_entry_id: Mapped[uuid.UUID | None] = mapped_column()
    payment_amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    payment_date: Mapped[date | None] = mapped_column(Date)


def _command_scope(m: Any) -> ScopeSpec:
    # Like the contract: whoever reads the contract reads its commands; the requester always.
    return ScopeSpec(group=m.group_id, company=m.company_id, owners=(m.requester_id,),
                     extra_read=lambda p: m.contract_id.in_(contracts_repo.readable_contract_ids(p)))


@scoped(_command_scope)
class DeviceCommand(UUIDPk, Timestamps, Versioned, Base):
    """One lock or unlock order toward a machine's GPS device; its id is the gateway's idempotency key."""

    __tablename__ = "device_command"
    __handover_kept__ = {"requester_id": "history: who asked for the command (its approved request)"}
    __table_args__ = (
        check_in("action", ACTIONS, name="action_valid"),
        check_in("state", STATES, name="state_valid"),
        check_in("request_kind", REQUEST_KINDS, name="request_kind_valid"),
        UniqueConstraint("machine_id", "seq"),
        Index("ux_device_command_machine_id_unsent", "machine_id", unique=True,
              postgresql_where=text("state IN ('queued', 'waiting_safe')")),
        Index("ix_device_command_group_id_created_at_id", "group_id", "created_at", "id"),
        Index("ix_device_command_company_id_created_at_id", "company_id", "created_at", "id"),
        Index("ix_device_command_requester_id_created_at_id", "requester_id", "created_at", "id"),
        Index("ix_device_command_contract_id", "contract_id"),
        Index("ix_device_command_expires_at_open", "expires_at",
              postgresql_where=text("state IN ('queued', 'waiting_safe', 'sent')")),
    )

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org_group.id"))
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("company.id"))
    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contract.id", ondelete="CASCADE"))
    machine_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("machine.id"))
    requester_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    request_kind: Mapped[str] = mapped_column(String(20))
    request_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    action: Mapped[str] = mapped_column(String(10))
    seq: Mapped[int] = mapped_column(Integer)  # the machine's command sequence: a newer command wins
    state: Mapped[str] = mapped_column(String(20), default="queued")
    device_id: Mapped[str] = mapped_column(String(60))  # the machine's GPS device id when queued
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_answer: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class DeviceCommandTransition(UUIDPk, Base):
    """Every move of a command: when, from where to where, and what the provider answered."""

    __tablename__ = "device_command_transition"
    __table_args__ = (Index("ix_device_command_transition_command_id_at", "command_id", "at"),)

    command_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("device_command.id", ondelete="CASCADE"))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.clock_timestamp())
    answer: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    note: Mapped[str | None] = mapped_column(String(500))


@scoped(lambda m: ScopeSpec(group=m.group_id, company=m.company_id))
class DevicePosition(UUIDPk, Base):
    """One position report as the device sent it. `future_clock`: dated more than the allowed skew
    ahead of the server's clock; kept, but never taken as the machine's latest position."""

    __tablename__ = "device_position"
    __table_args__ = (
        Index("ix_device_position_machine_id_at_id", "machine_id", "at", "id"),
        Index("ix_device_position_group_id_received_at_id", "group_id", "received_at", "id"),
    )

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org_group.id"))
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("company.id"))
    machine_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("machine.id", ondelete="CASCADE"))
    device_id: Mapped[str] = mapped_column(String(60))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # the device's time
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    latitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    longitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    speed_kmh: Mapped[Decimal | None] = mapped_column(Numeric(6, 1))
    blocked: Mapped[bool | None] = mapped_column(Boolean)  # the engine cut-off output, where reported
    future_clock: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))


class DeviceGatewayEvent(Base):
    """A gateway callback applied: its event id (idempotency) and its signature (replay refusal)."""

    __tablename__ = "device_gateway_event"
    __table_args__ = (check_in("kind", EVENT_KINDS, name="kind_valid"),)

    event_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    signature: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
