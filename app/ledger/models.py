"""The ledger: append-only facts per contract (ledger.md "The ledger").

Nothing here is ever updated or deleted: a mistake is reversed by a new entry pointing at the old
one (`reverses_id`). The migration REVOKEs UPDATE/DELETE/TRUNCATE from the app's role and a
trigger refuses them even to the owner, as for the audit trail. `seq` is the order the facts were
recorded in, which decides the replay order inside one value date.
"""

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, UUIDPk
from app.core.scoping import ScopeSpec, scoped
from app.core.sql import check_in
from app.ledger.rules import Component


class EntryKind:
    INSTALMENT_DUE = "instalment_due"  # one per instalment and component (principal, interest)
    CHARGE = "charge"
    PENALTY = "penalty"  # a day's accrual, or an adjustment of one (may be negative)
    PAYMENT = "payment"
    WAIVER = "waiver"
    SETTLEMENT = "settlement"
    REVERSAL = "reversal"
    CHOICES = (INSTALMENT_DUE, CHARGE, PENALTY, PAYMENT, WAIVER, SETTLEMENT, REVERSAL)


CHARGE_KINDS = ("gps_fee", "tow", "freight", "rent", "other")
COMPONENTS = tuple(c.value for c in Component)


@scoped(lambda m: ScopeSpec(group=m.group_id, company=m.company_id))
class LedgerEntry(UUIDPk, Base):
    __tablename__ = "ledger_entry"
    __table_args__ = (
        check_in("kind", EntryKind.CHOICES, name="kind_valid"),
        check_in("component", COMPONENTS, name="component_valid", nullable=True),
        check_in("charge_kind", CHARGE_KINDS, name="charge_kind_valid", nullable=True),
        # Only a penalty adjustment lowers a figure; every other fact carries a non-negative amount.
        CheckConstraint("kind = 'penalty' OR amount >= 0", name="amount_non_negative"),
        CheckConstraint("(kind = 'reversal') = (reverses_id IS NOT NULL)", name="reversal_points_at_entry"),
        CheckConstraint("kind NOT IN ('instalment_due', 'penalty') OR instalment_number IS NOT NULL",
                        name="instalment_named"),
        CheckConstraint("(kind = 'charge') = (charge_kind IS NOT NULL)", name="charge_kind_for_charges"),
        Index("ix_ledger_entry_contract_id_seq", "contract_id", "seq"),
        Index("ix_ledger_entry_contract_id_value_date", "contract_id", "value_date"),
        # A fact is reversed at most once.
        Index("ux_ledger_entry_reverses_id", "reverses_id", unique=True,
              postgresql_where="reverses_id IS NOT NULL"),
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
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))  # None: close of business
    reason: Mapped[str | None] = mapped_column(Text)
