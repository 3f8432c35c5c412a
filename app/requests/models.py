"""The money requests a collector or clerk files against a contract, each a request type on the
approval engine (the request kit's mixin and registration): interest waivers (利息减免), settlement
requests (结清申请) and GPS service fees (GPS服务费)."""

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import Uuid

from app.approvals.requests import RequestMixin, request_scope, request_table_args
from app.core.db import Base
from app.core.scoping import scoped
from app.core.sql import check_in

GPS_FEE_KINDS = ("purchase", "renewal")


class ContractRequest(RequestMixin):
    """A request about one contract: the contract and the business date it concerns."""

    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contract.id", ondelete="CASCADE"), index=True)


@scoped(request_scope)
class InterestWaiver(ContractRequest, Base):
    __tablename__ = "interest_waiver"
    __table_args__ = request_table_args("interest_waiver", CheckConstraint("amount > 0", name="amount_positive"))

    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    reason: Mapped[str] = mapped_column(Text)
    attachment_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), default=list)
    # The contract's figures when the request was last created or submitted (the flows' conditions).
    unpaid_penalty: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    dpd: Mapped[int] = mapped_column(Integer)
    bucket: Mapped[str] = mapped_column(String(10))


@scoped(request_scope)
class SettlementRequest(ContractRequest, Base):
    __tablename__ = "settlement_request"
    __handover_kept__ = {"released_by_id": "history: who released the documents"}
    __table_args__ = request_table_args("settlement_request")

    notes: Mapped[str | None] = mapped_column(Text)
    payoff_at_submission: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    # The release of the invoice and the certificate of conformity (合格证), once, after approval.
    released_documents: Mapped[list[str] | None] = mapped_column(JSONB)
    released_to: Mapped[str | None] = mapped_column(String(200))
    released_on: Mapped[date | None] = mapped_column(Date)
    released_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


@scoped(request_scope)
class GpsFeeRequest(ContractRequest, Base):
    __tablename__ = "gps_fee_request"
    __table_args__ = request_table_args(
        "gps_fee_request", check_in("kind", GPS_FEE_KINDS, name="kind_valid"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("period_to >= period_from", name="period_ordered"),
        Index("ix_gps_fee_request_machine_id", "machine_id"))

    kind: Mapped[str] = mapped_column(String(20))
    machine_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("machine.id"))
    period_from: Mapped[date] = mapped_column(Date)
    period_to: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    notes: Mapped[str | None] = mapped_column(Text)
    charge_entry_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
