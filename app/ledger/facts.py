"""Payments and charges as resources: find one in the caller's scope, shape it with what the
ledger did with it (its allocation, what is paid of a charge, its reversal)."""

import uuid
from collections import defaultdict
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.contracts.errors import ContractNotFound
from app.contracts.models import Contract
from app.core.principal import Principal
from app.core.scoping import get_readable, get_writable
from app.ledger import entries as ledger_entries
from app.ledger import repository as repo
from app.ledger.errors import ChargeNotFound, PaymentNotFound, RefundNotFound
from app.ledger.models import EntryKind, LedgerEntry, LedgerItem
from app.ledger.rules import LedgerState
from app.ledger.schemas import AllocationOut, ChargeOut, PaymentOut, RefundOut, ReversalOut
from app.ledger.service import item_key, policy_of


async def contract_in_scope(session: AsyncSession, principal: Principal, contract_id: uuid.UUID, *,
                            write: bool = False, code: str = ContractNotFound.code) -> Contract:
    """The contract if the caller may see (or change) it; else 404 with `code`, like a missing one."""
    get = get_writable if write else get_readable
    return await get(session, principal, Contract, contract_id, code=code)


async def entry_in_scope(session: AsyncSession, principal: Principal, entry_id: uuid.UUID, kind: str, *,
                         write: bool = False) -> tuple[LedgerEntry, Contract]:
    """A payment, charge or refund whose contract the caller may see (or change); else 404 like a missing one."""
    error = {EntryKind.PAYMENT: PaymentNotFound, EntryKind.REFUND: RefundNotFound}.get(kind, ChargeNotFound)
    code = error.code
    entry = await get_readable(session, principal, LedgerEntry, entry_id, code=code)
    if entry.kind != kind:
        raise error(f"No {kind} {entry_id}")
    return entry, await contract_in_scope(session, principal, entry.contract_id, write=write, code=code)


def _reversal(entry: LedgerEntry, reversals: dict[uuid.UUID, LedgerEntry]) -> ReversalOut | None:
    r = reversals.get(entry.id)
    return None if r is None else ReversalOut(id=r.id, reason=r.reason, recorded_at=r.recorded_at, actor_id=r.actor_id)


class ContractLedger:
    """A contract's entries and their replay through the account's `as_of`: what allocations say."""

    def __init__(self, contract: Contract, entries: list[LedgerEntry], state: LedgerState | None) -> None:
        self.contract, self.entries, self.state = contract, entries, state
        self.reversals = {e.reverses_id: e for e in entries if e.kind == EntryKind.REVERSAL and e.reverses_id}
        self.allocations: dict[str, list[AllocationOut]] = defaultdict(list)
        for a in state.allocations if state else ():
            kind, key = a.item
            self.allocations[a.credit_id].append(AllocationOut(
                item=item_key(a.item), instalment_number=int(key) if kind == "instalment" else None,
                charge_id=uuid.UUID(key) if kind == "charge" else None, component=a.component.value,
                amount=a.amount))

    @classmethod
    async def load(cls, session: AsyncSession, contract: Contract) -> "ContractLedger":
        entries = await repo.entries_of(session, contract.id)
        account = await repo.account(session, contract.id)
        state = None if account is None else ledger_entries.replay(entries, through=account.as_of,
                                                                    policy=policy_of(contract))
        return cls(contract, entries, state)

    @property
    def version(self) -> int:
        """The ledger's version: its last entry's `seq` (a new fact may move any allocation)."""
        return max((e.seq for e in self.entries), default=0)

    def payment(self, entry: LedgerEntry) -> PaymentOut:
        unapplied = self.state.unapplied.get(str(entry.id), Decimal(0)) if self.state else Decimal(0)
        refunded = self.state.refunded.get(str(entry.id), Decimal(0)) if self.state else Decimal(0)
        return PaymentOut(id=entry.id, contract_id=entry.contract_id, amount=entry.amount, value_date=entry.value_date,
                          method=entry.method, reference=entry.reference, payer=entry.payer, notes=entry.reason,
                          recorded_at=entry.recorded_at, actor_id=entry.actor_id,
                          allocation=self.allocations.get(str(entry.id), []), unapplied=unapplied, refunded=refunded,
                          reversal=_reversal(entry, self.reversals))

    def refund(self, entry: LedgerEntry) -> RefundOut:
        return RefundOut(id=entry.id, contract_id=entry.contract_id, amount=entry.amount, value_date=entry.value_date,
                         method=entry.method, reference=entry.reference, reason=entry.reason,
                         recorded_at=entry.recorded_at, actor_id=entry.actor_id,
                         reversal=_reversal(entry, self.reversals))


def charge_out(entry: LedgerEntry, item: LedgerItem | None, reversal: LedgerEntry | None) -> ChargeOut:
    """A charge with what is paid of it (its stored item; none once reversed)."""
    paid = item.fee_paid if item else Decimal(0)
    unpaid = item.fee_due - item.fee_paid if item else Decimal(0)
    return ChargeOut(id=entry.id, contract_id=entry.contract_id, kind=entry.charge_kind, amount=entry.amount,
                     due_date=entry.value_date, description=entry.reason, paid=paid, unpaid=unpaid,
                     recorded_at=entry.recorded_at, actor_id=entry.actor_id,
                     reversal=_reversal(entry, {} if reversal is None else {entry.id: reversal}))


async def charges_out(session: AsyncSession, rows: list[LedgerEntry]) -> list[ChargeOut]:
    """Charges of a page with their items and reversals: two queries whatever the page's size."""
    ids = [e.id for e in rows]
    items = await repo.charge_items(session, ids)
    reversals = await repo.reversals_of(session, ids)
    return [charge_out(e, items.get(e.id), reversals.get(e.id)) for e in rows]
