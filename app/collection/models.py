"""Collections (债权催收): a case per overdue episode of a contract, who holds it (and who held it),
the collectors' logs from the field, and promises to pay.

A case's money figures are the contract's ledger account (`ledger_account`), read through a join,
never copied; the case stores only what belongs to collecting: its collector, last contact, next
action, the active promise and the worklist priority (refreshed by the close of business and by
every log, so the worklist is one ordered index walk)."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import Boolean, Date, DateTime, Integer, Numeric, String, Text, Uuid

from app.core.db import Base, Timestamps, UUIDPk, Versioned, utcnow
from app.core.scoping import ScopeSpec, scoped
from app.core.sql import check_in

CASE_STATES = ("open", "closed")
OUTCOMES = ("cured", "settled", "written_off", "repossessed")
ACTIONS = ("call", "visit", "sms", "wechat", "letter", "legal_notice", "other")
RESULTS = ("no_answer", "refused", "promised", "partial_payment_reported", "paid_reported", "dispute", "unreachable",
           "wrong_number", "other")
PROMISE_STATES = ("pending", "kept", "broken", "superseded")


@scoped(lambda m: ScopeSpec(group=m.group_id, company=m.company_id, owners=(m.collector_id,)))
class CollectionCase(UUIDPk, Timestamps, Versioned, Base):
    __tablename__ = "collection_case"
    __table_args__ = (
        check_in("state", CASE_STATES, name="state_valid"),
        check_in("outcome", OUTCOMES, name="outcome_valid", nullable=True),
        CheckConstraint("(state = 'closed') = (outcome IS NOT NULL)", name="closed_with_outcome"),
        # One open case per contract: the close of business opens it, cures close it.
        Index("ux_collection_case_contract_open", "contract_id", unique=True, postgresql_where=text("state = 'open'")),
        # The worklist: a collector's open cases by priority (keyset (priority, id)).
        Index("ix_collection_case_collector_priority", "collector_id", "priority", "id",
              postgresql_where=text("state = 'open'")),
        Index("ix_collection_case_company_id_priority", "company_id", "priority", "id"),
        Index("ix_collection_case_group_id_priority", "group_id", "priority", "id"),
        Index("ix_collection_case_contract_id", "contract_id"),
        # The field sync's triggers: the collectors of a customer's open cases (migration field_sync).
        Index("ix_collection_case_customer_id_open", "customer_id", postgresql_where=text("state = 'open'")),
    )

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org_group.id"))
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("company.id"))
    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contract.id"))
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customer.id"))
    previous_case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("collection_case.id"))
    state: Mapped[str] = mapped_column(String(10), default="open")
    outcome: Mapped[str | None] = mapped_column(String(20))
    opened_on: Mapped[date] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    collector_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_contact_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    next_action_date: Mapped[date | None] = mapped_column(Date)
    active_promise_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("promise_to_pay.id", use_alter=True, name="fk_collection_case_active_promise_id_promise_to_pay"))
    # Higher first; see app/collection/priority.py for the formula.
    priority: Mapped[int] = mapped_column(Integer, default=0)


class CaseAssignment(UUIDPk, Base):
    """Every change of a case's collector: who, from whom, to whom, when, why."""

    __tablename__ = "case_assignment"
    __handover_kept__ = {"from_collector_id": "history: the assignment trail",
                         "to_collector_id": "history: the assignment trail",
                         "by_id": "history: who assigned"}
    __table_args__ = (Index("ix_case_assignment_case_id_at", "case_id", "at"),)

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("collection_case.id"))
    from_collector_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    to_collector_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))  # None: a rule or a handover job
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    reason: Mapped[str | None] = mapped_column(Text)


@scoped(lambda m: ScopeSpec(group=m.group_id, company=m.company_id, owners=(m.author_id,)))
class CollectionLog(Base):
    """催收日志: immutable; the phone's own UUID is its id (a retry returns the stored log)."""

    __tablename__ = "collection_log"
    __handover_kept__ = {"author_id": "history: who wrote the log",
                         "voided_by_id": "history: who voided it"}
    __table_args__ = (
        check_in("action", ACTIONS, name="action_valid"),
        check_in("result", RESULTS, name="result_valid"),
        Index("ix_collection_log_case_id_occurred_at", "case_id", "occurred_at", "id"),
        Index("ix_collection_log_company_id_occurred_at", "company_id", "occurred_at", "id"),
        Index("ix_collection_log_group_id_occurred_at", "group_id", "occurred_at", "id"),
        Index("ix_collection_log_author_id_occurred_at", "author_id", "occurred_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org_group.id"))
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("company.id"))
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("collection_case.id"))
    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contract.id"))
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    contact_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("contact.id"))
    person_name: Mapped[str | None] = mapped_column(String(100))
    person_relation: Mapped[str | None] = mapped_column(String(50))
    action: Mapped[str] = mapped_column(String(20))
    result: Mapped[str] = mapped_column(String(30))
    notes: Mapped[str | None] = mapped_column(Text)
    latitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    longitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    accuracy_m: Mapped[int | None] = mapped_column(Integer)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    attachment_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), default=list)
    body: Mapped[dict[str, Any]] = mapped_column(JSONB)  # the request as sent: a retry with another body is a 409
    evidence_mismatch: Mapped[bool] = mapped_column(Boolean, default=False)
    voided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    voided_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    void_reason: Mapped[str | None] = mapped_column(Text)


class PromiseToPay(UUIDPk, Base):
    """承诺还款: judged by the close of business on its date (kept when payments with value dates
    from its creation through its date reach its amount)."""

    __tablename__ = "promise_to_pay"
    __handover_kept__ = {"collector_id": "history: the collector the promise was made to (their performance)"}
    __table_args__ = (
        check_in("state", PROMISE_STATES, name="state_valid"),
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_promise_to_pay_pending_date", "promised_date", postgresql_where=text("state = 'pending'")),
        Index("ix_promise_to_pay_case_id", "case_id"),
        Index("ix_promise_to_pay_contract_pending", "contract_id", postgresql_where=text("state = 'pending'")),
        # The dispatcher's morning list (reports): the promises due on a day, whatever their state.
        Index("ix_promise_to_pay_promised_date", "promised_date"),
    )

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org_group.id"))
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("company.id"))
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("collection_case.id"))
    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contract.id"))
    log_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("collection_log.id"))
    collector_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    created_on: Mapped[date] = mapped_column(Date)  # business date of the log
    promised_date: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(12), default="pending")
    judged_on: Mapped[date | None] = mapped_column(Date)
    amount_paid: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CollectionPolicy(Base):
    """Per company: at what DPD the close of business opens a case (default 1)."""

    __tablename__ = "collection_policy"

    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("company.id"), primary_key=True)
    open_at_dpd: Mapped[int] = mapped_column(Integer, default=1)
