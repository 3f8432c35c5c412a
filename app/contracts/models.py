"""Machines, contracts (their contacts, machines and frozen schedule), investigations and
shipment requests: the sales side every receivable later hangs on."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy import UniqueConstraint as Unique
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.approvals.requests import RequestMixin, request_scope, request_table_args
from app.core.db import Base, Timestamps, UUIDPk, Versioned
from app.core.principal import Principal
from app.core.scoping import ScopeSpec, scope_eq, scoped
from app.core.sql import check_in
from app.customers import repository as customers_repo
from app.ledger.schedule import ScheduleKind

MACHINE_CATEGORIES = ("excavator", "loader", "crane", "other")
LOCK_STATES = ("unlocked", "locked")
SALE_KINDS = ("instalment_sale", "lease", "full_payment")
SCHEDULE_KINDS = tuple(k.value for k in ScheduleKind)
CONTACT_RELATIONS = ("legal_representative", "guarantor", "purchaser", "other")
ALLOCATION_ITEMS = ("penalty", "fee", "interest", "principal")
RECOMMENDATIONS = ("ship", "ship_with_conditions", "do_not_ship")
INVESTIGATION_STATES = ("pending_dispatch", "dispatched", "submitted")


class ContractState:
    DRAFT = "draft"
    SUBMITTED = "submitted"  # under approval: cannot be edited
    APPROVED = "approved"
    INVESTIGATING = "investigating"
    SHIPPING = "shipping"  # the shipment request is under approval
    ACTIVE = "active"
    SETTLED = "settled"
    REPOSSESSED = "repossessed"
    CANCELLED = "cancelled"
    CHOICES = (DRAFT, SUBMITTED, APPROVED, INVESTIGATING, SHIPPING, ACTIVE, SETTLED, REPOSSESSED, CANCELLED)


@scoped(lambda m: ScopeSpec(
    group=m.group_id, company=m.company_id, owners=(m.created_by_id,),
    # The company's machines are its stock: a salesperson (own-records scope) picks from them.
    extra_read=lambda p: scope_eq(m.company_id, p.company_id),
))
class Machine(UUIDPk, Timestamps, Versioned, Base):
    """A financed machine. Serial number (机号) unique in the group, GPS device id in the installation."""

    __tablename__ = "machine"
    __handover_kept__ = {"created_by_id": "history: who registered the machine"}
    __table_args__ = (
        check_in("category", MACHINE_CATEGORIES, name="category_valid"),
        check_in("lock_state", LOCK_STATES, name="lock_state_valid"),
        Unique("group_id", "serial_number"),
        # A device belongs to one machine in the whole installation: the gateway knows it by this id
        # alone (NULLs are distinct: the id is optional).
        Unique("gps_device_id"),
        Index("ix_machine_group_id_created_at_id", "group_id", "created_at", "id"),
        Index("ix_machine_company_id_created_at_id", "company_id", "created_at", "id"),
        Index("ix_machine_group_id_serial_number_id", "group_id", "serial_number", "id"),
    )

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org_group.id"))
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("company.id"))
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    model: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(20))
    serial_number: Mapped[str] = mapped_column(String(60))  # 机号
    engine_number: Mapped[str | None] = mapped_column(String(60))
    certificate_number: Mapped[str | None] = mapped_column(String(60))  # 合格证
    gps_device_id: Mapped[str | None] = mapped_column(String(60))
    # The contract it is financed under now (a draft or later; released when that is cancelled).
    contract_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("contract.id", ondelete="SET NULL"),
                                                          index=True)
    # Changed only by acknowledged device commands (app/devices), through machines.set_lock_state.
    lock_state: Mapped[str] = mapped_column(String(10), default="unlocked")
    lock_state_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The sequence number of the machine's last device command, and of the command whose result set
    # the lock state (NULL: set by the device's own report, or never): an older result never wins.
    command_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    lock_state_seq: Mapped[int | None] = mapped_column(Integer)
    # Filled by the device gateway's position reports (app/devices), through machines.record_position.
    last_latitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    last_longitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    last_speed_kmh: Mapped[Decimal | None] = mapped_column(Numeric(6, 1))
    last_position_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_date: Mapped[date | None] = mapped_column(Date)


def _customer_readable(principal: Principal) -> Any:
    # "Scoping as for customers": whoever may read the contract's customer (its owner and those it
    # is shared with) reads its contracts; through the CRM's own query, not its tables.
    return Contract.customer_id.in_(customers_repo.readable_customer_ids(principal))


def _contract_scope(model: Any) -> ScopeSpec:
    base = request_scope(model)
    return ScopeSpec(group=base.group, company=base.company, department=base.department,
                     owners=(model.owner_id, model.requester_id, model.clerk_id),
                     extra_read=_customer_readable)


@scoped(_contract_scope)
class Contract(RequestMixin, Base):
    """A sales contract (销售合同). `status` is its approval's (the request kit's); `state` its life."""

    __tablename__ = "contract"
    __handover_kept__ = {"submitted_by_id": "history: who submitted it last (the approval carries the live "
                                            "submitter, moved by the requests hook)"}
    __table_args__ = request_table_args(
        "contract",
        check_in("state", ContractState.CHOICES, name="state_valid"),
        check_in("sale_kind", SALE_KINDS, name="sale_kind_valid"),
        check_in("schedule_kind", SCHEDULE_KINDS, name="schedule_kind_valid"),
        CheckConstraint("price >= 0 AND down_payment >= 0 AND down_payment <= price", name="amounts_valid"),
        CheckConstraint("term_months BETWEEN 1 AND 120", name="term_valid"),
        CheckConstraint("grace_days >= 0", name="grace_days_valid"),
        Unique("group_id", "number"),
        Index("ix_contract_company_id_created_at_id", "company_id", "created_at", "id"),
        Index("ix_contract_customer_id_created_at", "customer_id", "created_at"),
        Index("ix_contract_owner_id_created_at", "owner_id", "created_at"),
        Index("ix_contract_group_id_state_created_at", "group_id", "state", "created_at"),
        Index("ix_contract_group_id_signed_date_id", "group_id", "signed_date", "id"),
        Index("ix_contract_group_id_number_id", "group_id", "number", "id"),
    )

    number: Mapped[str] = mapped_column(String(40))  # HT-C01-2026-000123
    state: Mapped[str] = mapped_column(String(20), default=ContractState.DRAFT)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customer.id"))
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))  # the salesperson
    clerk_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    # Who submitted it to approval last (the clerk, or the salesperson); the engine's submitter.
    submitted_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    sale_kind: Mapped[str] = mapped_column(String(20))
    signed_date: Mapped[date | None] = mapped_column(Date)
    # Terms (ledger.md "Contract terms"); frozen at approval (terms_frozen_at).
    price: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    down_payment: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    annual_rate: Mapped[Decimal] = mapped_column(Numeric(9, 6))
    term_months: Mapped[int] = mapped_column(Integer)
    first_due_date: Mapped[date] = mapped_column(Date)
    schedule_kind: Mapped[str] = mapped_column(String(20))
    monthly_rent: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    custom_rows: Mapped[list[dict[str, str]] | None] = mapped_column(JSONB)
    penalty_daily_rate: Mapped[Decimal] = mapped_column(Numeric(9, 6))
    grace_days: Mapped[int] = mapped_column(Integer, default=0)
    allocation_order: Mapped[list[str]] = mapped_column(ARRAY(String(20)))
    needs_investigation: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str | None] = mapped_column(Text)
    terms_frozen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    shipment_date: Mapped[date | None] = mapped_column(Date)
    closed_reason: Mapped[str | None] = mapped_column(Text)

    @property
    def financed(self) -> Decimal:
        return self.price - self.down_payment


class ContractContact(Base):
    """A contact on a contract with their relation; linked to the customer on approval."""

    __tablename__ = "contract_contact"
    __table_args__ = (check_in("relation", CONTACT_RELATIONS, name="relation_valid"),)

    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contract.id", ondelete="CASCADE"), primary_key=True)
    contact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contact.id"), primary_key=True, index=True)
    relation: Mapped[str] = mapped_column(String(30))


class ContractMachine(Base):
    """A machine sold under a contract (the history: a machine repossessed and resold has two)."""

    __tablename__ = "contract_machine"

    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contract.id", ondelete="CASCADE"), primary_key=True)
    machine_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("machine.id"), primary_key=True, index=True)


class ContractInstalment(Base):
    """The schedule frozen at approval (before that, it is computed from the terms)."""

    __tablename__ = "contract_instalment"
    __table_args__ = (CheckConstraint("principal >= 0 AND interest >= 0", name="amounts_non_negative"),)

    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contract.id", ondelete="CASCADE"), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    due_date: Mapped[date] = mapped_column(Date)
    principal: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    interest: Mapped[Decimal] = mapped_column(Numeric(18, 2))


class ContractCounter(Base):
    """The last contract number per company and year: incremented in one upsert (row-locked)."""

    __tablename__ = "contract_counter"

    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("company.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer)


@scoped(lambda m: ScopeSpec(group=m.group_id, company=m.company_id, owners=(m.investigator_id,)))
class Investigation(UUIDPk, Timestamps, Versioned, Base):
    """A guarantee-company investigation (调查) of a contract before shipment, and its score."""

    __tablename__ = "investigation"
    __handover_kept__ = {"dispatched_by_id": "history: who dispatched it"}
    __table_args__ = (
        check_in("state", INVESTIGATION_STATES, name="state_valid"),
        check_in("investigator_recommendation", RECOMMENDATIONS, name="investigator_recommendation_valid",
                 nullable=True),
        check_in("recommendation", RECOMMENDATIONS, name="recommendation_valid", nullable=True),
        Index("ix_investigation_group_id_created_at_id", "group_id", "created_at", "id"),
        Index("ix_investigation_company_id_created_at_id", "company_id", "created_at", "id"),
    )

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org_group.id"))
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("company.id"))
    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contract.id", ondelete="CASCADE"), unique=True)
    state: Mapped[str] = mapped_column(String(20), default="pending_dispatch")
    investigator_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    dispatched_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The questionnaire (schemas.Questionnaire), as the investigator last saved it.
    answers: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    investigator_recommendation: Mapped[str | None] = mapped_column(String(30))
    investigator_comment: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The system's score and recommendation with each factor's contribution (scoring.py).
    score: Mapped[Decimal | None] = mapped_column(Numeric(7, 2))
    recommendation: Mapped[str | None] = mapped_column(String(30))
    factors: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)


@scoped(lambda m: ScopeSpec(group=m.group_id, tenant_wide=True))
class InvestigationScoring(Timestamps, Versioned, Base):
    """A group's own scoring model (scoring.py's shape, as JSON); groups without one use the default."""

    __tablename__ = "investigation_scoring"
    __handover_kept__ = {"updated_by_id": "history: who last changed the scoring model"}

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org_group.id"), primary_key=True)
    model: Mapped[dict[str, Any]] = mapped_column(JSONB)
    updated_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))


@scoped(request_scope)
class ShipmentRequest(RequestMixin, Base):
    """出库发车: the request to ship a contract's machines; approval makes the contract active."""

    __tablename__ = "shipment_request"
    __table_args__ = request_table_args("shipment_request",
                                        Index("ix_shipment_request_company_id_created_at_id", "company_id",
                                              "created_at", "id"))

    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contract.id", ondelete="CASCADE"), index=True)
    contract_number: Mapped[str] = mapped_column(String(40))
    financed: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    planned_date: Mapped[date] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)
    # The investigation's result when requested (score, recommendation, factors): what approvers see.
    investigation: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
