"""The ledger: append-only facts per contract (ledger.md "The ledger").

Nothing here is ever updated or deleted: a mistake is reversed by a new entry pointing at the old
one (`reverses_id`). The migration REVOKEs UPDATE/DELETE/TRUNCATE from the app's role and a
trigger refuses them even to the owner, as for the audit trail. `seq` is the order the facts were
recorded in, which decides the replay order inside one value date.
"""

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Identity, Index, func
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import BigInteger, Boolean, Date, DateTime, Integer, Numeric, String, Text

from app.core.db import Base, UUIDPk, utcnow
from app.core.scoping import ScopeSpec, scoped
from app.core.sql import check_in
from app.ledger.rules import Bucket, Component


class EntryKind:
    INSTALMENT_DUE = "instalment_due"  # one per instalment and component (principal, interest)
    CHARGE = "charge"
    PENALTY = "penalty"  # a day's accrual, or an adjustment of one (may be negative)
    PAYMENT = "payment"
    WAIVER = "waiver"
    SETTLEMENT = "settlement"
    REVERSAL = "reversal"
    # The interest a payment that paid the payoff wrote off (ledger.md "Payoff"), per instalment, or
    # an adjustment of it (negative: that payment was reversed, or is no longer the payoff).
    WRITE_OFF = "write_off"
    REFUND = "refund"  # unapplied credit paid back to the customer (ledger.md "Unapplied credit")
    CHOICES = (INSTALMENT_DUE, CHARGE, PENALTY, PAYMENT, WAIVER, SETTLEMENT, REVERSAL, WRITE_OFF, REFUND)


PAYMENT_METHODS = ("bank_transfer", "cash", "cheque", "offset")
CHARGE_KINDS = ("gps_fee", "tow", "freight", "rent", "other")
COMPONENTS = tuple(c.value for c in Component)


@scoped(lambda m: ScopeSpec(group=m.group_id, company=m.company_id))
class LedgerEntry(UUIDPk, Base):
    __tablename__ = "ledger_entry"
    __handover_kept__ = {"actor_id": "history: who recorded the entry"}
    __table_args__ = (
        check_in("kind", EntryKind.CHOICES, name="kind_valid"),
        check_in("component", COMPONENTS, name="component_valid", nullable=True),
        check_in("charge_kind", CHARGE_KINDS, name="charge_kind_valid", nullable=True),
        # Only a derived adjustment (penalty, write-off) lowers a figure; every fact is non-negative.
        CheckConstraint("kind IN ('penalty', 'write_off') OR amount >= 0", name="amount_non_negative"),
        CheckConstraint("(kind = 'reversal') = (reverses_id IS NOT NULL)", name="reversal_points_at_entry"),
        CheckConstraint("kind NOT IN ('instalment_due', 'penalty', 'write_off') OR instalment_number IS NOT NULL",
                        name="instalment_named"),
        CheckConstraint("(kind = 'charge') = (charge_kind IS NOT NULL)", name="charge_kind_for_charges"),
        Index("ix_ledger_entry_contract_id_seq", "contract_id", "seq"),
        Index("ix_ledger_entry_contract_id_value_date", "contract_id", "value_date"),
        # A fact is reversed at most once.
        Index("ux_ledger_entry_reverses_id", "reverses_id", unique=True,
              postgresql_where="reverses_id IS NOT NULL"),
        check_in("method", PAYMENT_METHODS, name="method_valid", nullable=True),
        CheckConstraint("(kind IN ('payment', 'refund')) = (method IS NOT NULL)", name="method_for_payments"),
        # A bank serial names one payment of a contract: recording it twice is a 409, not a double credit.
        Index("ux_ledger_entry_contract_id_reference", "contract_id", "reference", unique=True,
              postgresql_where="reference IS NOT NULL"),
    )

    seq: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True)
    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org_group.id"))
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("company.id"))
    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contract.id"))
    kind: Mapped[str] = mapped_column(String(20))
    component: Mapped[str | None] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    value_date: Mapped[date] = mapped_column(Date)  # business date; a charge's or instalment's due date
    instalment_number: Mapped[int | None] = mapped_column(Integer)
    charge_kind: Mapped[str | None] = mapped_column(String(20))
    reverses_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("ledger_entry.id"))
    # The application's clock (the one clock: a shifted clock dates its facts too); the server's only
    # for the close of business's own INSERT … SELECT.
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                  server_default=func.now())
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))  # None: close of business
    reason: Mapped[str | None] = mapped_column(Text)  # why (a reversal, a waiver); a charge's description
    # A payment's particulars (payments only).
    method: Mapped[str | None] = mapped_column(String(20))
    reference: Mapped[str | None] = mapped_column(String(64))  # bank serial; unique per contract
    payer: Mapped[str | None] = mapped_column(String(100))


ITEM_KINDS = ("instalment", "charge")
BUCKETS = tuple(b.value for b in Bucket)


class LedgerItem(Base):
    """The stored state of one instalment or charge: per component what is due, paid and waived.

    Derived: rewritten from the replay in the transaction of every fact that changes it (and by the
    close of business for a day's penalty), so lists and the close of business never replay.
    `scripts/verify-ledger` compares it with the replay. Charges have only a fee; instalments have
    principal, interest and penalty (0 where the contract has none)."""

    __tablename__ = "ledger_item"
    __table_args__ = (
        check_in("kind", ITEM_KINDS, name="kind_valid"),
        CheckConstraint("(kind = 'instalment') = (instalment_number IS NOT NULL)", name="instalment_numbered"),
        CheckConstraint("(kind = 'charge') = (charge_id IS NOT NULL)", name="charge_named"),
        # The close of business walks the instalments still bearing principal, by contract.
        Index("ix_ledger_item_contract_id_due_date", "contract_id", "due_date"),
    )

    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contract.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(60), primary_key=True)  # "instalment:3", "charge:<entry id>"
    kind: Mapped[str] = mapped_column(String(12))
    instalment_number: Mapped[int | None] = mapped_column(Integer)
    charge_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("ledger_entry.id"))
    charge_kind: Mapped[str | None] = mapped_column(String(20))
    due_date: Mapped[date] = mapped_column(Date)
    principal_due: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=0)
    principal_paid: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=0)
    interest_due: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=0)
    interest_paid: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=0)
    interest_waived: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=0)  # settlement write-off
    fee_due: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=0)
    fee_paid: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=0)
    penalty_due: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=0)
    penalty_paid: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=0)
    penalty_waived: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=0)


@scoped(lambda m: ScopeSpec(group=m.group_id, company=m.company_id))
class LedgerAccount(Base):
    """A contract's receivable totals as of `as_of`: the day through which its penalty is posted
    and its figures computed (the business date of its last fact or close of business).

    The row is also the contract's ledger lock: every writer (a fact, the close of business) takes
    it `FOR UPDATE` first, so a day's penalty is posted once whoever gets there first."""

    __tablename__ = "ledger_account"
    __table_args__ = (
        check_in("bucket", BUCKETS, name="bucket_valid"),
        CheckConstraint("dpd >= 0", name="dpd_non_negative"),
        # The close of business walks the open accounts a day behind.
        Index("ix_ledger_account_as_of_open", "as_of", postgresql_where="NOT settled"),
        Index("ix_ledger_account_company_id_bucket", "company_id", "bucket"),
    )

    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contract.id"), primary_key=True)
    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org_group.id"))
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("company.id"))
    as_of: Mapped[date] = mapped_column(Date)
    penalty_daily_rate: Mapped[Decimal] = mapped_column(Numeric(9, 6))  # the contract's terms, copied
    grace_days: Mapped[int] = mapped_column(Integer)  # for the close of business's set-based SQL
    outstanding_principal: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=0)
    overdue_principal: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=0)
    overdue_interest: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=0)
    overdue_fee: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=0)
    unpaid_penalty: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=0)
    overdue_amount: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=0)
    overdue_since: Mapped[date | None] = mapped_column(Date)  # the due date of the oldest overdue item
    dpd: Mapped[int] = mapped_column(Integer, default=0)
    bucket: Mapped[str] = mapped_column(String(8), default=Bucket.CURRENT.value)
    payoff: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=0)  # on `as_of`, less the credit
    # Payments' money nothing is left to reduce: drawn by what falls due next, or refunded.
    unapplied_credit: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=0, server_default="0")
    settled: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class BusinessDateOverride(Base):
    """A group's business date set by hand (demos, black-box tests); refused in production.
    Without one, a company's business date is today in its time zone."""

    __tablename__ = "business_date_override"
    __handover_kept__ = {"set_by_id": "history: who set the business date"}

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org_group.id"), primary_key=True)
    business_date: Mapped[date] = mapped_column(Date)
    set_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    set_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
