"""The money rules of a contract's ledger: penalty, allocation, payoff, aging. Pure functions, no I/O.

Every rule is `../shared/docs/ledger.md` ("Penalty", "Allocation of a credit", "Payoff",
"Overdue, days past due, buckets"). The state of a contract on a date is never stored here: it is
`replay(schedule, facts, through=D)`, a from-scratch replay of the facts in value-date order (the
order facts were recorded in breaks ties inside one value date), so the stored state a later slice
keeps for speed can always be checked against it.

- Penalty: for every instalment and business day `D > due_date + grace_days`,
  `round(principal of that instalment unpaid at the start of D × penalty_daily_rate)`. The unpaid
  principal only changes when a credit is applied, so between two credit dates every day's penalty
  is the same rounded figure: the replay accrues a run of days as `days × daily` (exactly the sum of
  the per-day roundings) and keeps the runs (`PenaltyRun`) so the per-day figures can be expanded.
  Credits of day `D` are applied after day `D`'s penalty has accrued; penalty stops by itself once
  the instalment's principal is paid.
- A reversal removes the fact it points at from the replay: the figures are exactly those of a
  history without it (back-dated credits and reversals thereby recompute later days' penalty;
  `penalty_adjustments` gives the entries that bring posted penalty to the replayed figures).
- A payment the replay cannot place (possible only after a reversal removed what it paid) is
  **unapplied credit** (ledger.md "Unapplied credit"): a figure of the account (`unapplied`),
  subtracted from the payoff, drawn oldest first by the items that fall due later (at their due
  date, before that day's credits) and by a `Refund`, the only way it leaves the account. A waiver
  that finds less penalty than it waived leaves the rest `void` (nothing was paid; nothing is owed
  back). `admit` refuses a new credit that would leave a recorded one with less to reduce, and any
  fact that would take back credit a refund already paid out.
- A payment that brings the payoff on its value date to 0.00 leaves the contract **paid off**: the
  interest of the instalments not yet due is written off with it (`write_offs`), so they fall due
  at zero. It follows from the replay, so a reversal of that payment (or of anything that made it
  the payoff) restores the interest and the schedule exactly.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from app.ledger.errors import (
    LedgerCannotReverse,
    LedgerContractSettled,
    LedgerEntryDuplicate,
    LedgerEntryNotFound,
    LedgerFutureValueDate,
    LedgerInvalidAmount,
    LedgerSettlementBeforeCredit,
    PaymentExceedsOutstanding,
    RefundExceedsCredit,
    WaiverExceedsPenalty,
)
from app.ledger.schedule import DEFAULT_PENALTY_DAILY_RATE, ZERO, Instalment, cent


class Component(StrEnum):
    PENALTY = "penalty"
    FEE = "fee"
    INTEREST = "interest"
    PRINCIPAL = "principal"


DEFAULT_ORDER = (Component.PENALTY, Component.FEE, Component.INTEREST, Component.PRINCIPAL)


class Bucket(StrEnum):
    CURRENT = "current"
    M1 = "M1"
    M2 = "M2"
    M3 = "M3"
    M4_PLUS = "M4+"


@dataclass(frozen=True)
class Policy:
    """The contract terms that govern penalty and allocation (ledger.md "Contract terms")."""

    penalty_daily_rate: Decimal = DEFAULT_PENALTY_DAILY_RATE
    grace_days: int = 0
    allocation_order: tuple[Component, ...] = DEFAULT_ORDER


# --- facts (what a ledger entry says; the entry id is the fact's id) ---------------------------

@dataclass(frozen=True)
class DatedFact:
    """What a credit or a settlement carries: its entry's id and its value date."""

    id: str
    value_date: date


@dataclass(frozen=True)
class Credit(DatedFact):
    amount: Decimal


class Payment(Credit):
    """Money received (bank transfer, cash, cheque, offset), allocated by the contract's order."""


class Waiver(Credit):
    """利息减免: reduces unpaid penalty only, oldest first."""


class Settlement(DatedFact):
    """Approved early settlement: writes off the interest of instalments not yet due on `value_date`."""


@dataclass(frozen=True)
class Refund(DatedFact):
    """Unapplied credit paid back to the customer: draws the pool, oldest credit first."""

    amount: Decimal


@dataclass(frozen=True)
class Charge:
    """A GPS service fee, tow cost, freight, rent outside the schedule, other: a fee item."""

    id: str
    due_date: date
    amount: Decimal
    kind: str = "other"


@dataclass(frozen=True)
class Reversal:
    """Takes back the fact `reverses` names, one posted in error."""

    id: str
    reverses: str


Fact = Payment | Waiver | Charge | Settlement | Refund | Reversal
Credit = Payment | Waiver | Settlement
Dated = Payment | Waiver | Settlement | Refund


# --- state -------------------------------------------------------------------------------------

@dataclass
class Amounts:
    """One component of one item. `waived` is a waiver (penalty) or a settlement write-off (interest)."""

    due: Decimal = ZERO
    paid: Decimal = ZERO
    waived: Decimal = ZERO

    @property
    def unpaid(self) -> Decimal:
        return self.due - self.paid - self.waived


@dataclass
class Item:
    """An instalment (`("instalment", number)`) or a charge (`("charge", id)`) and its components."""

    key: tuple[str, str]
    due_date: date
    components: dict[Component, Amounts]

    @property
    def is_instalment(self) -> bool:
        return self.key[0] == "instalment"

    def unpaid(self, component: Component) -> Decimal:
        amounts = self.components.get(component)
        return amounts.unpaid if amounts else ZERO

    def owes_beyond_penalty(self) -> bool:
        return any(self.unpaid(c) > 0 for c in (Component.PRINCIPAL, Component.INTEREST, Component.FEE))


@dataclass(frozen=True)
class Allocation:
    credit_id: str
    item: tuple[str, str]
    component: Component
    amount: Decimal


@dataclass(frozen=True)
class PenaltyRun:
    """Every day from `first_day` to `last_day` (inclusive) accrued `daily` on instalment `number`."""

    number: int
    first_day: date
    last_day: date
    daily: Decimal


@dataclass(frozen=True)
class WriteOff:
    """The interest of instalment `number` that payment `credit_id`, the payoff on `day`, wrote off."""

    credit_id: str
    number: int
    day: date
    amount: Decimal


@dataclass
class LedgerState:
    as_of: date
    items: list[Item]
    allocations: list[Allocation] = field(default_factory=list)
    # Unapplied credit per payment, oldest first (the order it arose in): the pool items draw.
    unapplied: dict[str, Decimal] = field(default_factory=dict)
    void: dict[str, Decimal] = field(default_factory=dict)  # what a waiver found no penalty for
    refunded: dict[str, Decimal] = field(default_factory=dict)  # per payment, what refunds drew
    shortfall: dict[str, Decimal] = field(default_factory=dict)  # per refund, what the pool lacked
    write_offs: list[WriteOff] = field(default_factory=list)  # interest a payoff paid wrote off
    leftover: dict[str, Decimal] = field(default_factory=dict)  # per credit, what it found nothing for
    penalty_runs: list[PenaltyRun] = field(default_factory=list)

    def total(self, component: Component, *, due_by: date | None = None) -> Decimal:
        """Unpaid `component` over all items, or over the items due on or before `due_by`."""
        return sum((i.unpaid(component) for i in self.items if due_by is None or i.due_date <= due_by), ZERO)


def instalment_key(number: int) -> tuple[str, str]:
    return ("instalment", str(number))


# --- replay ------------------------------------------------------------------------------------

def effective_facts(facts: Sequence[Fact]) -> list[Fact]:
    """The facts a replay applies: every fact but reversals and what they reverse, in recorded order."""
    reversed_ids = {f.reverses for f in facts if isinstance(f, Reversal)}
    return [f for f in facts if not isinstance(f, Reversal) and f.id not in reversed_ids]


def replay(schedule: Sequence[Instalment], facts: Sequence[Fact], *, through: date,
           policy: Policy = Policy()) -> LedgerState:
    """The contract's state at the close of `through`: penalty accrued for every day up to it and
    every credit with a value date on or before it applied, in value-date then recorded order."""
    live = effective_facts(facts)
    items = [Item(instalment_key(i.number), i.due_date, {
        Component.PENALTY: Amounts(), Component.INTEREST: Amounts(due=i.interest),
        Component.PRINCIPAL: Amounts(due=i.principal)}) for i in schedule]
    items += [Item(("charge", f.id), f.due_date, {Component.FEE: Amounts(due=f.amount)})
              for f in live if isinstance(f, Charge)]
    # Oldest due date first; an instalment before a charge on the same date; then as listed.
    items.sort(key=lambda i: (i.due_date, not i.is_instalment))
    state = LedgerState(through, items)
    accrued_through: dict[int, date] = {}
    dated = sorted((f for f in live if not isinstance(f, Charge) and f.value_date <= through),
                   key=lambda f: f.value_date)  # stable: recorded order inside a value date
    for fact in dated:
        _accrue(state, schedule, policy, accrued_through, fact.value_date)
        _draw(state, policy, fact.value_date)
        if isinstance(fact, Refund):
            _refund(state, fact)
        else:
            _apply(state, policy, fact)
    _accrue(state, schedule, policy, accrued_through, through)
    _draw(state, policy, through)
    return state


def _accrue(state: LedgerState, schedule: Sequence[Instalment], policy: Policy,
            accrued_through: dict[int, date], until: date) -> None:
    """Penalty of every day up to `until` not yet accrued, on the principal unpaid now (no credit
    was applied in between, so that is the principal unpaid at the start of each of those days)."""
    by_key = {i.key: i for i in state.items}
    for instalment in schedule:
        first = accrued_through.get(instalment.number, instalment.due_date + timedelta(days=policy.grace_days))
        first += timedelta(days=1)
        if first > until:
            continue
        accrued_through[instalment.number] = until
        item = by_key[instalment_key(instalment.number)]
        daily = cent(item.unpaid(Component.PRINCIPAL) * policy.penalty_daily_rate)
        if daily > 0:
            item.components[Component.PENALTY].due += daily * ((until - first).days + 1)
            state.penalty_runs.append(PenaltyRun(instalment.number, first, until, daily))


def _draw(state: LedgerState, policy: Policy, day: date) -> None:
    """Unapplied credit pays the items due by `day`, oldest first (in the contract's order inside
    an item), drawn from the oldest credit first. Credit only exists once everything due and all
    principal are paid, so what it finds are the items that fell due since (no penalty accrues)."""
    if not state.unapplied:
        return
    for item in state.items:
        if item.due_date > day:
            break  # items are in due-date order
        for component in policy.allocation_order:
            amounts = item.components.get(component)
            while amounts is not None and amounts.unpaid > 0 and state.unapplied:
                credit_id, available = next(iter(state.unapplied.items()))
                take = min(available, amounts.unpaid)
                amounts.paid += take
                state.allocations.append(Allocation(credit_id, item.key, component, take))
                _take_credit(state, credit_id, take)
            if not state.unapplied:
                return


def _take_credit(state: LedgerState, credit_id: str, amount: Decimal) -> None:
    left = state.unapplied[credit_id] - amount
    if left > 0:
        state.unapplied[credit_id] = left
    else:
        del state.unapplied[credit_id]


def _refund(state: LedgerState, refund: Refund) -> None:
    left = refund.amount
    while left > 0 and state.unapplied:
        credit_id, available = next(iter(state.unapplied.items()))
        take = min(available, left)
        state.refunded[credit_id] = state.refunded.get(credit_id, ZERO) + take
        _take_credit(state, credit_id, take)
        left -= take
    if left > 0:
        state.shortfall[refund.id] = left


def _write_off_if_paid_off(state: LedgerState, payment: Payment) -> None:
    """ledger.md "Payoff": a payment that brings the payoff on its value date to 0.00 writes off the
    interest of the instalments not yet due, as a settlement would."""
    if owed_on(state, payment.value_date) != 0:
        return
    for item in state.items:
        if item.is_instalment and item.due_date > payment.value_date:
            interest = item.components[Component.INTEREST]
            if interest.unpaid > 0:
                state.write_offs.append(WriteOff(payment.id, int(item.key[1]), payment.value_date, interest.unpaid))
                interest.waived += interest.unpaid


def _apply(state: LedgerState, policy: Policy, credit: Credit) -> None:
    if isinstance(credit, Settlement):
        for item in state.items:
            if item.is_instalment and item.due_date > credit.value_date:
                interest = item.components[Component.INTEREST]
                if interest.unpaid > 0:
                    state.allocations.append(Allocation(credit.id, item.key, Component.INTEREST, interest.unpaid))
                    interest.waived += interest.unpaid
        return
    if isinstance(credit, Waiver):
        targets = [(item, Component.PENALTY) for item in state.items if item.is_instalment]
        left = _take(state, credit, targets, waive=True)
    else:
        due = [i for i in state.items if i.due_date <= credit.value_date]
        targets = [(item, c) for item in due for c in policy.allocation_order if c in item.components]
        targets += [(item, Component.PRINCIPAL) for item in state.items
                    if item.is_instalment and item.due_date > credit.value_date]
        left = _take(state, credit, targets, waive=False)
        _write_off_if_paid_off(state, credit)
    if left > 0:
        state.leftover[credit.id] = left
        (state.void if isinstance(credit, Waiver) else state.unapplied)[credit.id] = left


def _take(state: LedgerState, credit: Payment | Waiver, targets: Iterable[tuple[Item, Component]], *,
          waive: bool) -> Decimal:
    left = credit.amount
    for item, component in targets:
        amounts = item.components[component]
        take = min(left, amounts.unpaid)
        if take <= 0:
            continue
        if waive:
            amounts.waived += take
        else:
            amounts.paid += take
        state.allocations.append(Allocation(credit.id, item.key, component, take))
        left -= take
    return left


# --- figures of a state ------------------------------------------------------------------------

def owed_on(state: LedgerState, day: date) -> Decimal:
    """What the payoff counts on `day` before credit: all unpaid principal (due or not), unpaid
    interest and fees due on or before `day`, and all unpaid penalty."""
    return (state.total(Component.PRINCIPAL) + state.total(Component.INTEREST, due_by=day)
            + state.total(Component.FEE, due_by=day) + state.total(Component.PENALTY))


def unapplied_credit(state: LedgerState) -> Decimal:
    """The account's unapplied credit: payments' money nothing is left to reduce."""
    return sum(state.unapplied.values(), ZERO)


def payoff(state: LedgerState) -> Decimal:
    """结清金额 on `state.as_of`: what is owed on that date less the unapplied credit (below 0 when
    the account holds more credit than is owed)."""
    return owed_on(state, state.as_of) - unapplied_credit(state)


def overdue_items(state: LedgerState) -> list[Item]:
    """Items due before `as_of` with some principal, interest or fee unpaid, oldest first."""
    return [i for i in state.items if i.due_date < state.as_of and i.owes_beyond_penalty()]


def overdue_amount(state: LedgerState) -> Decimal:
    """Unpaid principal, interest and fees of overdue items plus all unpaid penalty."""
    owed = sum((i.unpaid(c) for i in overdue_items(state)
                for c in (Component.PRINCIPAL, Component.INTEREST, Component.FEE)), ZERO)
    return owed + state.total(Component.PENALTY)


def days_past_due(state: LedgerState) -> int:
    overdue = overdue_items(state)
    return (state.as_of - min(i.due_date for i in overdue)).days if overdue else 0


def bucket(dpd: int) -> Bucket:
    if dpd <= 0:
        return Bucket.CURRENT
    if dpd <= 30:
        return Bucket.M1
    if dpd <= 60:
        return Bucket.M2
    if dpd <= 90:
        return Bucket.M3
    return Bucket.M4_PLUS


def penalty_by_day(state: LedgerState) -> dict[tuple[int, date], Decimal]:
    """The penalty of every (instalment number, day) the replay accrued (days with none are absent)."""
    days: dict[tuple[int, date], Decimal] = {}
    for run in state.penalty_runs:
        day = run.first_day
        while day <= run.last_day:
            days[(run.number, day)] = run.daily
            day += timedelta(days=1)
    return days


def penalty_adjustments(posted: Mapping[tuple[int, date], Decimal],
                        state: LedgerState) -> dict[tuple[int, date], Decimal]:
    """What to post so that, per instalment and day, posted penalty equals the replay's: after a
    back-dated credit or a reversal changed the principal unpaid on later days."""
    expected = penalty_by_day(state)
    keys = set(posted) | set(expected)
    diffs = {k: expected.get(k, ZERO) - posted.get(k, ZERO) for k in keys}
    return {k: v for k, v in sorted(diffs.items()) if v != 0}


def write_off_by_day(state: LedgerState) -> dict[tuple[int, date], Decimal]:
    """The interest a payoff paid wrote off, per (instalment number, the payment's value date)."""
    days: dict[tuple[int, date], Decimal] = {}
    for w in state.write_offs:
        days[(w.number, w.day)] = days.get((w.number, w.day), ZERO) + w.amount
    return days


def write_off_adjustments(posted: Mapping[tuple[int, date], Decimal],
                          state: LedgerState) -> dict[tuple[int, date], Decimal]:
    """What to post so that the posted write-offs equal the replay's (a payoff paid writes off; a
    reversal of it, or a back-dated fact that makes it no longer the payoff, takes that back)."""
    expected = write_off_by_day(state)
    diffs = {k: expected.get(k, ZERO) - posted.get(k, ZERO) for k in set(posted) | set(expected)}
    return {k: v for k, v in sorted(diffs.items()) if v != 0}


# --- admitting a new fact ----------------------------------------------------------------------

def admit(schedule: Sequence[Instalment], facts: Sequence[Fact], fact: Fact, *, today: date,
          policy: Policy = Policy()) -> list[Fact]:
    """`facts` with `fact` appended, or the `DomainError` saying why the rules refuse it."""
    if any(f.id == fact.id for f in facts):
        raise LedgerEntryDuplicate(f"An entry {fact.id} already exists")
    active = effective_facts(facts)
    settled = any(isinstance(f, Settlement) for f in active)
    if isinstance(fact, Reversal):
        _check_reversal(facts, fact, settled=settled)
        return _refunds_covered(schedule, facts, fact, today=today, policy=policy)
    if isinstance(fact, Payment | Waiver | Charge | Refund):
        if fact.amount <= 0 or fact.amount != fact.amount.quantize(Decimal("0.01")):
            raise LedgerInvalidAmount("An amount is above 0 with at most two decimals")
    if isinstance(fact, Dated) and fact.value_date > today:
        raise LedgerFutureValueDate("A credit's value date is not in the future")
    if isinstance(fact, Refund):
        # Money leaves the account now: only what it holds now, on a settled contract too.
        available = unapplied_credit(replay(schedule, facts, through=today, policy=policy))
        if fact.value_date != today or fact.amount > available:
            raise RefundExceedsCredit(f"The refund {fact.amount:.2f} exceeds the {available:.2f} of unapplied "
                                      "credit the account holds today")
        return [*facts, fact]
    if settled:
        raise LedgerContractSettled("The contract is settled; reverse the settlement first")
    if isinstance(fact, Settlement):
        # A settlement closes the account: it is the last credit, so it never writes off interest
        # a recorded payment already paid (which would leave that payment with nothing to reduce).
        latest = max((f.value_date for f in active if isinstance(f, Payment | Waiver)), default=None)
        if latest is not None and latest > fact.value_date:
            raise LedgerSettlementBeforeCredit(f"A credit is dated {latest}, after {fact.value_date}")
    if isinstance(fact, Payment | Waiver):
        before = replay(schedule, facts, through=fact.value_date, policy=policy)
        # The most a payment can reduce on its value date is exactly the payoff of that date.
        limit = payoff(before) if isinstance(fact, Payment) else before.total(Component.PENALTY)
        error = PaymentExceedsOutstanding if isinstance(fact, Payment) else WaiverExceedsPenalty
        if fact.amount > limit:
            raise error(f"The amount {fact.amount:.2f} exceeds the {limit:.2f} it could reduce")
        # A back-dated credit must not leave a later one with nothing to reduce.
        was = replay(schedule, facts, through=today, policy=policy).leftover
        now = replay(schedule, [*facts, fact], through=today, policy=policy).leftover
        if any(amount > was.get(credit_id, ZERO) for credit_id, amount in now.items()):
            raise error("This back-dated credit would leave a later credit with nothing to reduce")
    return _refunds_covered(schedule, facts, fact, today=today, policy=policy)


def _refunds_covered(schedule: Sequence[Instalment], facts: Sequence[Fact], fact: Fact, *, today: date,
                     policy: Policy) -> list[Fact]:
    """`facts` with `fact`, unless it takes back credit a refund already paid out (a reversal of the
    payment it came from, a back-dated charge it would now pay): the refund is reversed first."""
    new = [*facts, fact]
    if any(isinstance(f, Refund) for f in effective_facts(new)):
        was = replay(schedule, facts, through=today, policy=policy).shortfall
        now = replay(schedule, new, through=today, policy=policy).shortfall
        if any(amount > was.get(refund_id, ZERO) for refund_id, amount in now.items()):
            raise RefundExceedsCredit("This would take back credit a refund paid out; reverse the refund first")
    return new


def _check_reversal(facts: Sequence[Fact], reversal: Reversal, *, settled: bool) -> None:
    target = next((f for f in facts if f.id == reversal.reverses), None)
    if target is None:
        raise LedgerEntryNotFound(f"No entry {reversal.reverses}")
    if settled and not isinstance(target, Settlement | Refund | Reversal):
        # The settlement wrote off what was unpaid then; changing what was paid under it would
        # change what it wrote off. Reverse the settlement first.
        raise LedgerContractSettled("The contract is settled; reverse the settlement first")
    if isinstance(target, Reversal):
        raise LedgerCannotReverse("A reversal is not reversed; record the fact again")
    if any(isinstance(f, Reversal) and f.reverses == target.id for f in facts):
        raise LedgerCannotReverse(f"The entry {target.id} is already reversed")
