"""The ledger's facts, one function each, for the routers and for other areas (requests, towing,
settlement): `start_schedule`, `record_payment`, `post_charge`, `post_waiver`, `settle`,
`reverse_entry`. Each runs in the caller's transaction, takes the contract's ledger lock (its
`ledger_account` row), lets `rules.admit` judge the new fact against every earlier one, appends
it, brings the posted penalty to the rule (`_sync`) and rewrites the stored state, and audits.
Retries are made safe by the caller's `Idempotency-Key` (HTTP) or by the approving transaction
running once (effects)."""

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.contracts.models import Contract
from app.core import audit, events
from app.core.principal import Principal
from app.customers import service as customers
from app.ledger import entries as ledger_entries
from app.ledger import repository as repo
from app.ledger import rules
from app.ledger.calendar import business_today
from app.ledger.errors import LedgerBeforeShipment, LedgerCannotReverse, LedgerNoAccount, PaymentDuplicateReference
from app.ledger.models import EntryKind, LedgerAccount, LedgerEntry
from app.ledger.rules import Component, LedgerState, Policy
from app.ledger.schedule import ZERO, Instalment

# What a person may reverse: the facts. Instalments falling due and penalty follow from the terms
# and the rule; the close of business and `_sync` post those.
REVERSIBLE = (EntryKind.PAYMENT, EntryKind.CHARGE, EntryKind.WAIVER, EntryKind.SETTLEMENT, EntryKind.REFUND)


def policy_of(contract: Contract) -> Policy:
    return Policy(penalty_daily_rate=contract.penalty_daily_rate, grace_days=contract.grace_days,
                  allocation_order=tuple(Component(c) for c in contract.allocation_order))


@dataclass
class Recorded:
    """A fact just appended, and what the replay did with it."""

    entry: LedgerEntry
    allocations: list[rules.Allocation]
    state: LedgerState


# --- the stored state ------------------------------------------------------------------------

def item_key(key: tuple[str, str]) -> str:
    return f"{key[0]}:{key[1]}"


def _item_rows(contract_id: uuid.UUID, state: LedgerState, charges: dict[str, LedgerEntry]) -> list[dict[str, Any]]:
    rows = []
    for item in state.items:
        c = item.components
        row: dict[str, Any] = {"contract_id": contract_id, "key": item_key(item.key), "due_date": item.due_date}
        if item.is_instalment:
            row.update(kind="instalment", instalment_number=int(item.key[1]), charge_id=None, charge_kind=None)
        else:
            charge = charges[item.key[1]]
            row.update(kind="charge", instalment_number=None, charge_id=charge.id, charge_kind=charge.charge_kind)
        for component, prefix, columns in ((Component.PRINCIPAL, "principal", ("due", "paid")),
                                           (Component.INTEREST, "interest", ("due", "paid", "waived")),
                                           (Component.FEE, "fee", ("due", "paid")),
                                           (Component.PENALTY, "penalty", ("due", "paid", "waived"))):
            amounts = c.get(component, rules.Amounts())
            for column in columns:
                row[f"{prefix}_{column}"] = getattr(amounts, column)
        rows.append(row)
    return rows


def account_figures(state: LedgerState) -> dict[str, Any]:
    """The per-contract totals stored on `ledger_account`, from a replay."""
    overdue = rules.overdue_items(state)
    dpd = rules.days_past_due(state)
    return {
        "as_of": state.as_of,
        "outstanding_principal": state.total(Component.PRINCIPAL),
        "overdue_principal": sum((i.unpaid(Component.PRINCIPAL) for i in overdue), ZERO),
        "overdue_interest": sum((i.unpaid(Component.INTEREST) for i in overdue), ZERO),
        "overdue_fee": sum((i.unpaid(Component.FEE) for i in overdue), ZERO),
        "unpaid_penalty": state.total(Component.PENALTY),
        "overdue_amount": rules.overdue_amount(state),
        "overdue_since": min((i.due_date for i in overdue), default=None),
        "dpd": dpd,
        "bucket": rules.bucket(dpd).value,
        "payoff": rules.payoff(state),
        "unapplied_credit": rules.unapplied_credit(state),
    }


def _derived(contract: Contract, kind: str, component: Component,
             adjustments: dict[tuple[int, date], Decimal]) -> list[dict[str, Any]]:
    return [{"id": uuid.uuid4(), "group_id": contract.group_id, "company_id": contract.company_id,
             "contract_id": contract.id, "kind": kind, "component": component.value, "amount": amount,
             "value_date": day, "instalment_number": number} for (number, day), amount in adjustments.items()]


async def _sync(session: AsyncSession, contract: Contract, account: LedgerAccount, entries: list[LedgerEntry],
                today: date) -> LedgerState:
    """Post the penalty entries that bring what is posted to the rule through `today` (the days
    not yet closed, and the days a back-dated credit or a reversal changed), and the write-off
    entries that bring what is posted to what payments of the payoff wrote off; then rewrite the
    stored state from the replay."""
    return await sync_through(session, contract, account, entries, max(account.as_of, today))


async def sync_through(session: AsyncSession, contract: Contract, account: LedgerAccount,
                       entries: list[LedgerEntry], through: date) -> LedgerState:
    """`_sync` through exactly `through` (the close of business, for an account holding credit)."""
    policy = policy_of(contract)
    state = ledger_entries.replay(entries, through=through, policy=policy)
    await repo.add_entries(session, [
        *_derived(contract, EntryKind.PENALTY, Component.PENALTY,
                  rules.penalty_adjustments(ledger_entries.posted_penalty(entries), state)),
        *_derived(contract, EntryKind.WRITE_OFF, Component.INTEREST,
                  rules.write_off_adjustments(ledger_entries.posted_write_offs(entries), state))])
    charges = {str(e.id): e for e in entries if e.kind == EntryKind.CHARGE}
    await repo.replace_items(session, contract.id, _item_rows(contract.id, state, charges))
    for name, value in account_figures(state).items():
        setattr(account, name, value)
    facts = rules.effective_facts(ledger_entries.facts_of(entries))
    account.settled = any(isinstance(f, rules.Settlement) for f in facts)
    await session.flush()
    return state


async def _locked(session: AsyncSession, contract: Contract) -> LedgerAccount:
    account = await repo.lock_account(session, contract.id)
    if account is None:
        raise LedgerNoAccount(f"The contract {contract.number} has no receivable: it is not shipped")
    return account


async def _append(session: AsyncSession, principal: Principal | None, contract: Contract, fact: rules.Fact,
                  **columns: Any) -> Recorded:
    """Judge `fact` against the contract's history, append it as an entry, sync the state."""
    account = await _locked(session, contract)
    today = await business_today(session, contract.company_id)
    value_date = getattr(fact, "value_date", None)
    if value_date is not None and contract.shipment_date is not None and value_date < contract.shipment_date:
        raise LedgerBeforeShipment(f"The value date {value_date} is before the shipment on {contract.shipment_date}")
    entries = await repo.entries_of(session, contract.id)
    rules.admit(ledger_entries.schedule_of(entries), ledger_entries.facts_of(entries), fact, today=today,
                policy=policy_of(contract))
    entry = LedgerEntry(id=uuid.UUID(fact.id), group_id=contract.group_id, company_id=contract.company_id,
                        contract_id=contract.id, actor_id=principal.user_id if principal else None, **columns)
    session.add(entry)
    await session.flush()
    entries.append(entry)
    state = await _sync(session, contract, account, entries, today)
    return Recorded(entry, [a for a in state.allocations if a.credit_id == fact.id], state)


async def _publish(session: AsyncSession, event_type: str, contract: Contract, recorded: Recorded,
                   **extra: object) -> None:
    """The integration event of a fact, in its transaction (ordered per contract)."""
    entry = recorded.entry
    await events.publish(session, event_type, {
        "contract_id": contract.id, "contract_number": contract.number, "customer_id": contract.customer_id,
        "entry_id": entry.id, "amount": entry.amount, "value_date": entry.value_date, **extra},
        group_id=contract.group_id, company_id=contract.company_id, ordering_key=contract.id)


def _audit(session: AsyncSession, principal: Principal | None, action: str, contract: Contract,
           recorded: Recorded) -> None:
    audit.record(session, principal, action, "ledger_entry", recorded.entry.id, company_id=contract.company_id,
                 group_id=contract.group_id, after={
                     **audit.snapshot(recorded.entry, "contract_id", "kind", "amount", "value_date", "reference",
                                      "charge_kind", "reverses_id", "reason"),
                     "allocation": [{"item": item_key(a.item), "component": a.component.value, "amount": a.amount}
                                    for a in recorded.allocations]})


# --- the facts -------------------------------------------------------------------------------

async def start_schedule(session: AsyncSession, principal: Principal | None, contract: Contract,
                         schedule: list[Instalment], shipped_on: date) -> LedgerAccount:
    """On shipment: the instalments fall due as entries, and the contract's account opens."""
    await repo.add_entries(session, [
        {"id": uuid.uuid4(), "group_id": contract.group_id, "company_id": contract.company_id,
         "contract_id": contract.id, "kind": EntryKind.INSTALMENT_DUE, "component": component,
         "amount": amount, "value_date": i.due_date, "instalment_number": i.number,
         "actor_id": principal.user_id if principal else None}
        for i in schedule for component, amount in (("principal", i.principal), ("interest", i.interest))])
    account = LedgerAccount(contract_id=contract.id, group_id=contract.group_id, company_id=contract.company_id,
                            as_of=shipped_on, penalty_daily_rate=contract.penalty_daily_rate,
                            grace_days=contract.grace_days)
    session.add(account)
    await session.flush()
    await _sync(session, contract, account, await repo.entries_of(session, contract.id), shipped_on)
    audit.record(session, principal, "ledger.schedule_started", "contract", contract.id,
                 company_id=contract.company_id, group_id=contract.group_id,
                 after={"instalments": len(schedule), "as_of": shipped_on})
    return account


async def record_payment(session: AsyncSession, principal: Principal, contract: Contract, *, amount: Decimal,
                         value_date: date, method: str, reference: str | None = None, payer: str | None = None,
                         notes: str | None = None) -> Recorded:
    """Money received, allocated by the contract's order (ledger.md "Allocation of a credit")."""
    if reference is not None and await repo.reference_taken(session, contract.id, reference):
        raise PaymentDuplicateReference(f"The contract already has a payment with reference {reference}")
    fact = rules.Payment(str(uuid.uuid4()), value_date, amount)
    recorded = await _append(session, principal, contract, fact, kind=EntryKind.PAYMENT, amount=amount,
                             value_date=value_date, method=method, reference=reference, payer=payer, reason=notes)
    _audit(session, principal, "payment.recorded", contract, recorded)
    await _publish(session, "payment.recorded", contract, recorded, method=method, reference=reference)
    # A payment within the salesperson's protection makes the customer theirs for good (domain.md).
    await customers.secure_customer(session, contract.customer_id, owner_id=contract.owner_id,
                                    reason="payment_received", principal=principal)
    return recorded


async def post_charge(session: AsyncSession, principal: Principal | None, contract: Contract, *, kind: str,
                      amount: Decimal, due_date: date, description: str | None = None) -> Recorded:
    """A fee item outside the schedule (GPS service fee, tow cost, freight, rent, other)."""
    fact = rules.Charge(str(uuid.uuid4()), due_date, amount, kind)
    recorded = await _append(session, principal, contract, fact, kind=EntryKind.CHARGE, component="fee",
                             amount=amount, value_date=due_date, charge_kind=kind, reason=description)
    _audit(session, principal, "charge.posted", contract, recorded)
    await _publish(session, "charge.posted", contract, recorded, charge_kind=kind)
    return recorded


async def post_waiver(session: AsyncSession, principal: Principal | None, contract: Contract, *, amount: Decimal,
                      reason: str, value_date: date | None = None) -> Recorded:
    """利息减免: reduces unpaid penalty, oldest first; never more than is unpaid on its value date."""
    value_date = value_date or await business_today(session, contract.company_id)
    fact = rules.Waiver(str(uuid.uuid4()), value_date, amount)
    recorded = await _append(session, principal, contract, fact, kind=EntryKind.WAIVER, component="penalty",
                             amount=amount, value_date=value_date, reason=reason)
    _audit(session, principal, "waiver.posted", contract, recorded)
    return recorded


async def settle(session: AsyncSession, principal: Principal | None, contract: Contract, *, reason: str,
                 value_date: date | None = None) -> Recorded:
    """Early settlement: writes off the interest of instalments not yet due; nothing is recorded after."""
    value_date = value_date or await business_today(session, contract.company_id)
    fact = rules.Settlement(str(uuid.uuid4()), value_date)
    # The entry carries what it writes off, so that the entries always sum to what is owed: the
    # interest of the instalments not yet due still unpaid (none once a payment paid the payoff,
    # which wrote it off; nothing is recorded after a settlement but its reversal, so this stays).
    entries = await repo.entries_of(session, contract.id)
    before = ledger_entries.replay(entries, through=value_date, policy=policy_of(contract))
    written_off = sum((i.unpaid(Component.INTEREST) for i in before.items
                       if i.is_instalment and i.due_date > value_date), ZERO)
    recorded = await _append(session, principal, contract, fact, kind=EntryKind.SETTLEMENT, amount=written_off,
                             value_date=value_date, reason=reason)
    _audit(session, principal, "contract.settlement_posted", contract, recorded)
    await _publish(session, "contract.settled", contract, recorded)
    return recorded


async def refund(session: AsyncSession, principal: Principal, contract: Contract, *, amount: Decimal, method: str,
                 reason: str, reference: str | None = None) -> Recorded:
    """Pays unapplied credit back to the customer today (ledger.md "Unapplied credit": the only
    way it leaves the account), drawn from the oldest credit first; audited like every fact."""
    if reference is not None and await repo.reference_taken(session, contract.id, reference):
        raise PaymentDuplicateReference(f"The contract already has an entry with reference {reference}")
    today = await business_today(session, contract.company_id)
    fact = rules.Refund(str(uuid.uuid4()), today, amount)
    recorded = await _append(session, principal, contract, fact, kind=EntryKind.REFUND, amount=amount,
                             value_date=today, method=method, reference=reference, reason=reason)
    _audit(session, principal, "refund.recorded", contract, recorded)
    return recorded


async def reverse_entry(session: AsyncSession, principal: Principal, contract: Contract, target: LedgerEntry, *,
                        reason: str) -> Recorded:
    """Takes back a payment, charge, waiver or settlement posted in error: the figures become
    exactly those of a history without it (later penalty recomputed and adjusted)."""
    if target.kind not in REVERSIBLE:
        raise LedgerCannotReverse(f"A {target.kind} entry is not reversed by hand")
    fact = rules.Reversal(str(uuid.uuid4()), str(target.id))
    today = await business_today(session, contract.company_id)
    recorded = await _append(session, principal, contract, fact, kind=EntryKind.REVERSAL, amount=ZERO,
                             value_date=today, reverses_id=target.id, reason=reason)
    _audit(session, principal, f"{target.kind}.reversed", contract, recorded)
    if target.kind == EntryKind.PAYMENT:
        await _publish(session, "payment.reversed", contract, recorded, reversed_entry_id=target.id,
                       reversed_amount=target.amount, reason=reason)
    return recorded


async def resync(session: AsyncSession, contract: Contract) -> LedgerState:
    """Bring a contract's posted penalty and stored state to its replay through its business date
    (what the close of business does in bulk, for one contract)."""
    account = await _locked(session, contract)
    return await _sync(session, contract, account, await repo.entries_of(session, contract.id),
                       await business_today(session, contract.company_id))
