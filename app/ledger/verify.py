"""The ledger's check: replay every contract from its entries and compare with what is stored (the
account's figures, every item's components, the posted penalty per instalment and day) and check
that the entries sum to what is owed. `scripts/verify-ledger` and the daily job `verify-ledger`.

A difference means the stored state (or a set-based close of business) drifted from the rules: it
is reported per contract, never repaired silently."""

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.contracts.models import Contract
from app.core.jobs import periodic
from app.ledger import entries as ledger_entries
from app.ledger import repository as repo
from app.ledger import rules
from app.ledger.models import EntryKind, LedgerAccount, LedgerEntry, LedgerItem
from app.ledger.rules import Component, LedgerState
from app.ledger.schedule import ZERO
from app.ledger.service import account_figures, item_key, policy_of

BATCH = 500
# A refund is a debit: money paid back out of the credit the account held.
DEBITS = (EntryKind.INSTALMENT_DUE, EntryKind.CHARGE, EntryKind.PENALTY, EntryKind.REFUND)
CREDITS = (EntryKind.PAYMENT, EntryKind.WAIVER, EntryKind.SETTLEMENT, EntryKind.WRITE_OFF)
_COLUMNS = {Component.PRINCIPAL: ("due", "paid"), Component.INTEREST: ("due", "paid", "waived"),
            Component.FEE: ("due", "paid"), Component.PENALTY: ("due", "paid", "waived")}


@dataclass
class Report:
    contracts: int = 0
    mismatches: dict[uuid.UUID, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.mismatches


def balance_of_entries(entries: list[LedgerEntry]) -> Decimal:
    """Σ debits − Σ credits over the entries no reversal takes back."""
    reversed_ids = {e.reverses_id for e in entries if e.kind == EntryKind.REVERSAL}
    live = [e for e in entries if e.kind != EntryKind.REVERSAL and e.id not in reversed_ids]
    return (sum((e.amount for e in live if e.kind in DEBITS), ZERO)
            - sum((e.amount for e in live if e.kind in CREDITS), ZERO))


def owed(state: LedgerState) -> Decimal:
    """Everything unpaid (due or not), less the unapplied credit and what waivers found no penalty
    for (ledger.md "Unapplied credit": Σ debits − Σ credits = what is owed − unapplied credit)."""
    return (sum((i.unpaid(c) for i in state.items for c in Component), ZERO)
            - rules.unapplied_credit(state) - sum(state.void.values(), ZERO))


def differences(contract: Contract, account: LedgerAccount, items: list[LedgerItem],
                entries: list[LedgerEntry]) -> list[str]:
    """What differs between the stored state of one contract and its replay through `as_of`."""
    policy = policy_of(contract)
    state = ledger_entries.replay(entries, through=account.as_of, policy=policy)
    found = [f"account.{name}: stored {getattr(account, name)} != replay {value}"
             for name, value in account_figures(state).items() if getattr(account, name) != value]
    stored = {i.key: i for i in items}
    for item in state.items:
        row = stored.pop(item_key(item.key), None)
        if row is None:
            found.append(f"item {item_key(item.key)}: missing")
            continue
        for component, columns in _COLUMNS.items():
            amounts = item.components.get(component, rules.Amounts())
            for column in columns:
                if getattr(row, f"{component.value}_{column}") != getattr(amounts, column):
                    found.append(f"item {row.key}.{component.value}_{column}: stored "
                                 f"{getattr(row, f'{component.value}_{column}')} != replay {getattr(amounts, column)}")
    found += [f"item {key}: not in the replay" for key in stored]
    adjustments = rules.penalty_adjustments(ledger_entries.posted_penalty(entries), state)
    found += [f"penalty of instalment {n} on {day}: posted differs from the rule by {-delta}"
              for (n, day), delta in adjustments.items()]
    write_offs = rules.write_off_adjustments(ledger_entries.posted_write_offs(entries), state)
    found += [f"write-off of instalment {n} on {day}: posted differs from the replay by {-delta}"
              for (n, day), delta in write_offs.items()]
    if balance_of_entries(entries) != owed(state):
        found.append(f"entries sum to {balance_of_entries(entries)}, the replay owes {owed(state)}")
    return found


async def verify(session: AsyncSession, group_id: uuid.UUID | None = None) -> Report:
    """Every account (of one group), in batches: three queries a batch."""
    report = Report()
    after: uuid.UUID | None = None
    while batch := await repo.accounts_batch(session, group_id, after, BATCH):
        ids = [a.contract_id for a in batch]
        contracts = await repo.contracts_by_id(session, ids)
        entries: dict[uuid.UUID, list[LedgerEntry]] = defaultdict(list)
        for e in await repo.entries_of_contracts(session, ids):
            entries[e.contract_id].append(e)
        items: dict[uuid.UUID, list[LedgerItem]] = defaultdict(list)
        for i in await repo.items_of_contracts(session, ids):
            items[i.contract_id].append(i)
        for account in batch:
            found = differences(contracts[account.contract_id], account, items[account.contract_id],
                                entries[account.contract_id])
            if found:
                report.mismatches[account.contract_id] = found
        report.contracts += len(batch)
        after = ids[-1]
    return report


@periodic("verify-ledger", every_seconds=24 * 3600)
async def verify_job(session: AsyncSession) -> dict[str, Any]:
    report = await verify(session)
    return {"contracts": report.contracts, "mismatches": len(report.mismatches),
            "first": {str(k): v[:3] for k, v in list(report.mismatches.items())[:5]}}
