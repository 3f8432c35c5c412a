"""Response models of the ledger's read endpoints: entries, balance, payoff, statement, and the
per-instalment progress the contract's schedule carries once the contract is shipped. Amounts are
`Money` (two-decimal strings)."""

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from app.core.types import Money
from app.ledger.models import BUCKETS, CHARGE_KINDS, PAYMENT_METHODS, EntryKind

EntryKindName = Literal[EntryKind.CHOICES]  # type: ignore[valid-type]
InstalmentStatus = Literal["paid", "partially_paid", "due", "overdue", "scheduled"]
BucketName = Literal[BUCKETS]  # type: ignore[valid-type]
# A named schema: the charges' `kind` and the entries' `charge_kind` then share one type in clients.
ChargeKind = StrEnum("ChargeKind", [(kind, kind) for kind in CHARGE_KINDS])  # type: ignore[misc]


class EntryOut(BaseModel):
    """One ledger entry: a fact, as recorded (entries are never changed; a mistake is reversed)."""

    id: uuid.UUID
    seq: int = Field(description="The order entries were recorded in")
    kind: EntryKindName
    # Listed in its own order: the allocation order's enum (the same values) keeps its named schema.
    component: Literal["principal", "interest", "fee", "penalty"] | None
    amount: Money = Field(description="The entry's amount; a penalty adjustment may be negative")
    value_date: date = Field(description="The business date it takes effect (an instalment's or charge's due date)")
    recorded_at: datetime
    actor_id: uuid.UUID | None = Field(description="Who recorded it; null for the close of business")
    reason: str | None = Field(description="Notes of a payment, description of a charge, reason of a reversal")
    reverses_id: uuid.UUID | None = Field(description="The entry this reversal takes back")
    reversed_by: uuid.UUID | None = Field(description="The reversal that took this entry back, if any")
    instalment_number: int | None
    charge_kind: ChargeKind | None
    method: Literal[PAYMENT_METHODS] | None  # type: ignore[valid-type]
    reference: str | None
    payer: str | None


class InstalmentComponents(BaseModel):
    principal: Money
    interest: Money
    penalty: Money


class BalanceOut(BaseModel):
    """The contract's receivable as stored by its last fact or close of business (on `as_of`)."""

    as_of: date = Field(description="The day the figures are computed through (penalty posted through it)")
    outstanding_principal: Money = Field(description="All unpaid principal, due or not")
    overdue_principal: Money
    overdue_interest: Money
    overdue_fee: Money
    overdue_penalty: Money = Field(description="All unpaid penalty (part of the overdue amount)")
    overdue_amount: Money = Field(description="Unpaid principal, interest and fees of overdue items plus all unpaid "
                                              "penalty")
    overdue_since: date | None = Field(description="The due date of the oldest overdue item")
    dpd: int = Field(description="Days past due on `as_of`")
    bucket: BucketName
    unpaid_penalty: Money
    unapplied_credit: Money = Field(description="Payments' money nothing is left to reduce (after a reversal of "
                                               "what they paid): applied to what falls due next, paid back only "
                                               "by a refund")
    payoff: Money = Field(description="结清金额 on `as_of`, less the unapplied credit (negative when the account "
                                      "holds more credit than is owed)")
    settled: bool


class PayoffOut(BaseModel):
    """结清金额 on `date` (ledger.md "Payoff"): all unpaid principal, unpaid interest and fees due on or
    before `date`, and all unpaid penalty through `date`, less the account's unapplied credit."""

    date: date
    payoff: Money = Field(description="principal + interest + fees + penalty − unapplied_credit (negative when the "
                                      "account holds more credit than is owed)")
    principal: Money = Field(description="All unpaid principal, due or not")
    interest: Money = Field(description="Unpaid interest of instalments due on or before `date`")
    fees: Money = Field(description="Unpaid charges due on or before `date`")
    penalty: Money = Field(description="All unpaid penalty through `date`")
    unapplied_credit: Money = Field(description="Credit the account holds (ledger.md \"Unapplied credit\")")
    projected: bool = Field(description="True when `date` is after the day the ledger is posted through (`as_of`): "
                                        "penalty of the days after it is projected on the principal unpaid now")
    as_of: date


class StatementLine(BaseModel):
    entry: EntryOut
    debit: Money = Field(description="What the entry adds to the balance (see the statement's description)")
    credit: Money = Field(description="What the entry takes off the balance")
    balance: Money = Field(description="The running balance after this line")


class StatementOut(BaseModel):
    """A contract's statement over [`from`, `to`].

    The balance on a day D is the payoff-style outstanding at the close of D, from the replay of the
    entries as they stand now: all unpaid principal (due or not; owed in full from the shipment) +
    unpaid interest and fees due on or before D + all unpaid penalty through D. `opening_balance` is
    that balance at the close of the day before `from`, `closing_balance` at the close of `to`, and
    the statement reconciles: opening + Σ debit − Σ credit = closing, each line's `balance` being the
    running figure (exact at the end of each value date).

    The balance is net of the account's unapplied credit (below 0 while it holds more than is owed).
    What moves the balance: an instalment's interest falling due (debit, less what a settlement or a
    payment of the payoff wrote off), a charge falling due (debit), a day's penalty and its
    adjustments (debit; an adjustment may be negative), a payment (credit: all of it, what it reduced
    and what it left as unapplied credit), a waiver (credit: what it reduced), a refund (debit: credit
    paid back). Unapplied credit paying what falls due later moves nothing (the item's debit and the
    credit it draws cancel); neither do write-off entries (the interest lines already show them).
    An instalment's principal falling due moves nothing (it is owed from the start) and a settlement
    moves nothing on its own day (it only writes off interest not yet due). A reversed entry and its
    reversal both show 0: the replay reads history without them, as if the reversed fact had never
    been recorded.
    """

    contract_id: uuid.UUID
    from_: date = Field(alias="from", description="The first value date (not before the shipment)")
    to: date = Field(description="The last value date (not after the day the ledger is posted through)")
    opening_balance: Money
    total_debit: Money
    total_credit: Money
    closing_balance: Money
    unapplied_credit: Money = Field(description="The unapplied credit the account holds at the close of `to`, "
                                                "already netted in `closing_balance`")
    lines: list[StatementLine]
