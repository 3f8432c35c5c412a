"""Reports keep one table of their own: the month-end bucket snapshot behind the roll rates.

Every other figure is read from the areas' own tables at request time (the ledger's accounts and
entries, collections' cases, logs and promises, contracts, customers' activity): nothing copied
that could drift from the ledger."""

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base
from app.core.scoping import ScopeSpec, scoped
from app.core.sql import check_in
from app.ledger.models import BUCKETS


@scoped(lambda m: ScopeSpec(group=m.group_id, company=m.company_id))
class BucketSnapshot(Base):
    """A contract's aging bucket at a month end (月末账龄快照), written by the close of business of
    the month's last day from the contract's ledger account (open accounts only: a contract missing
    from a later snapshot was settled or closed). Rewritten while that day is the account's day, so
    the last run of the month's last day stands; never changed after."""

    __tablename__ = "bucket_snapshot"
    __table_args__ = (
        check_in("bucket", BUCKETS, name="bucket_valid"),
        CheckConstraint("dpd >= 0", name="dpd_non_negative"),
        # A company's month end (scoped reports walk one company at a time); the group's is the key.
        Index("ix_bucket_snapshot_company_id_snapshot_date", "company_id", "snapshot_date"),
        Index("ix_bucket_snapshot_contract_id", "contract_id"),
    )

    snapshot_date: Mapped[date] = mapped_column(Date, primary_key=True)  # a month's last day
    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contract.id"), primary_key=True)
    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org_group.id"))
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("company.id"))
    as_of: Mapped[date] = mapped_column(Date)  # the account's day the figures are from (the snapshot date, normally)
    dpd: Mapped[int] = mapped_column(Integer)
    bucket: Mapped[str] = mapped_column(String(8))
    outstanding_principal: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    overdue_amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    unapplied_credit: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=0, server_default="0")
