"""From stored ledger entries to the money rules: `replay(entries)` is a contract's state.

The entries are a contract's `ledger_entry` rows (or anything shaped like them), in any order: they
are taken in `seq` order, the order they were recorded in. `instalment_due` entries are the
schedule (one per instalment and component); charges, payments, waivers, settlements and reversals
are the facts of `rules.replay`; `penalty` entries are what the close of business posted, which the
replay never reads (penalty is derived from the rule), and which `penalty_adjustments` compares.
"""

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Protocol

from app.ledger import rules
from app.ledger.rules import Fact, LedgerState, Policy
from app.ledger.schedule import ZERO, Instalment


class EntryLike(Protocol):
    id: uuid.UUID
    seq: int
    kind: str
    component: str | None
    amount: Decimal
    value_date: date
    instalment_number: int | None
    charge_kind: str | None
    reverses_id: uuid.UUID | None


def _in_order(entries: Iterable[EntryLike]) -> list[EntryLike]:
    return sorted(entries, key=lambda e: e.seq)


def schedule_of(entries: Iterable[EntryLike]) -> list[Instalment]:
    """The instalments the `instalment_due` entries (not reversed) make up, by number."""
    ordered = _in_order(entries)
    reversed_ids = {e.reverses_id for e in ordered if e.kind == "reversal"}
    rows: dict[int, dict[str, Decimal]] = defaultdict(lambda: {"principal": ZERO, "interest": ZERO})
    due: dict[int, date] = {}
    for e in ordered:
        if e.kind == "instalment_due" and e.id not in reversed_ids and e.instalment_number is not None:
            rows[e.instalment_number][e.component or "principal"] += e.amount
            due[e.instalment_number] = e.value_date
    return [Instalment(n, due[n], rows[n]["principal"], rows[n]["interest"]) for n in sorted(rows)]


def facts_of(entries: Iterable[EntryLike]) -> list[Fact]:
    """The facts of `rules.replay`, in recorded order (entry ids as strings)."""
    facts: list[Fact] = []
    for e in _in_order(entries):
        key = str(e.id)
        if e.kind == "charge":
            facts.append(rules.Charge(key, e.value_date, e.amount, e.charge_kind or "other"))
        elif e.kind == "payment":
            facts.append(rules.Payment(key, e.value_date, e.amount))
        elif e.kind == "waiver":
            facts.append(rules.Waiver(key, e.value_date, e.amount))
        elif e.kind == "settlement":
            facts.append(rules.Settlement(key, e.value_date))
        elif e.kind == "refund":
            facts.append(rules.Refund(key, e.value_date, e.amount))
        elif e.kind == "reversal" and e.reverses_id is not None:
            facts.append(rules.Reversal(key, str(e.reverses_id)))
    return facts


def replay(entries: Sequence[EntryLike], *, through: date, policy: Policy = Policy()) -> LedgerState:
    """A contract's state at the close of `through`, from its entries alone."""
    return rules.replay(schedule_of(entries), facts_of(entries), through=through, policy=policy)


def posted_penalty(entries: Iterable[EntryLike], kind: str = "penalty") -> dict[tuple[int, date], Decimal]:
    """Penalty (or write-offs, `kind="write_off"`) posted per (instalment number, day): the
    entries plus their adjustments."""
    posted: dict[tuple[int, date], Decimal] = defaultdict(lambda: ZERO)
    for e in entries:
        if e.kind == kind and e.instalment_number is not None:
            posted[(e.instalment_number, e.value_date)] += e.amount
    return {k: v for k, v in posted.items() if v}


def posted_write_offs(entries: Iterable[EntryLike]) -> dict[tuple[int, date], Decimal]:
    return posted_penalty(entries, "write_off")


def penalty_adjustments(entries: Sequence[EntryLike], *, through: date,
                        policy: Policy = Policy()) -> dict[tuple[int, date], Decimal]:
    """The penalty entries to post so that what is posted equals the rule applied to the facts."""
    return rules.penalty_adjustments(posted_penalty(entries), replay(entries, through=through, policy=policy))

