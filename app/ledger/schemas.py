"""Payments, charges and reversals as the platform API states them (money as two-decimal strings)."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.types import BusinessDate, Money, MultilineText, PositiveMoney, Text
from app.ledger.models import CHARGE_KINDS, PAYMENT_METHODS
from app.ledger.rules import Component

PaymentMethod = Literal[PAYMENT_METHODS]  # type: ignore[valid-type]
ChargeKind = Literal[CHARGE_KINDS]  # type: ignore[valid-type]


# What an amount of an item is (ledger.md): one named enum for generated clients.
LedgerComponent = StrEnum("LedgerComponent", {c.name: c.value for c in Component})


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PaymentIn(_In):
    amount: PositiveMoney
    value_date: BusinessDate = Field(description="The day the money arrived (not in the future, not before the "
                                                 "shipment); a back-dated payment recomputes later penalty")
    method: PaymentMethod
    reference: Text(64, min_length=1) | None = Field(
        default=None, description="Bank serial (流水号): unique per contract; recording it twice answers 409")
    payer: Text(100, min_length=1) | None = None
    notes: MultilineText(1000) | None = None


class ChargeIn(_In):
    contract_id: uuid.UUID
    kind: ChargeKind = Field(description="gps_fee (GPS服务费), tow (拖车费), freight (运费挂账), rent (租金), other")
    amount: PositiveMoney
    due_date: BusinessDate
    description: MultilineText(1000) | None = None


class RefundIn(_In):
    amount: PositiveMoney = Field(description="Not more than the unapplied credit the account holds today")
    method: PaymentMethod = Field(description="How the money goes back to the customer")
    reason: MultilineText(1000, min_length=1)
    reference: Text(64, min_length=1) | None = Field(
        default=None, description="Bank serial (流水号) of the refund: unique per contract")


class ReverseIn(_In):
    reason: MultilineText(1000, min_length=1)


class AllocationOut(BaseModel):
    """What a credit paid: one item's component."""

    item: str = Field(description='"instalment:N" or "charge:<charge id>"')
    instalment_number: int | None
    charge_id: uuid.UUID | None
    component: LedgerComponent
    amount: Money


class ReversalOut(BaseModel):
    id: uuid.UUID
    reason: str | None
    recorded_at: datetime
    actor_id: uuid.UUID | None


class PaymentOut(BaseModel):
    id: uuid.UUID
    contract_id: uuid.UUID
    amount: Money
    value_date: date
    method: PaymentMethod
    reference: str | None
    payer: str | None
    notes: str | None
    recorded_at: datetime
    actor_id: uuid.UUID | None
    allocation: list[AllocationOut] = Field(description="How the payment was allocated, as the ledger stands now "
                                                        "(a later back-dated credit may move it); empty once reversed")
    unapplied: Money = Field(description="What it left as unapplied credit: found nothing to reduce (only after a "
                                         "reversal of what it paid), and not yet drawn by what fell due since or "
                                         "refunded")
    refunded: Money = Field(description="What refunds paid back of its unapplied credit")
    reversal: ReversalOut | None


class RefundOut(BaseModel):
    """Unapplied credit paid back to the customer (ledger.md "Unapplied credit")."""

    id: uuid.UUID
    contract_id: uuid.UUID
    amount: Money
    value_date: date = Field(description="The business date it was recorded on")
    method: PaymentMethod
    reference: str | None
    reason: str | None
    recorded_at: datetime
    actor_id: uuid.UUID | None
    reversal: ReversalOut | None


class ChargeOut(BaseModel):
    id: uuid.UUID
    contract_id: uuid.UUID
    kind: ChargeKind
    amount: Money
    due_date: date
    description: str | None
    paid: Money
    unpaid: Money
    recorded_at: datetime
    actor_id: uuid.UUID | None
    reversal: ReversalOut | None


ZERO = Decimal("0.00")
