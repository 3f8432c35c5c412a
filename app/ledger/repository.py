"""The ledger's queries: entries, the stored state (items and the account), the business date."""

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.contracts.models import Contract
from app.ledger.models import BusinessDateOverride, LedgerAccount, LedgerEntry, LedgerItem


async def lock_account(session: AsyncSession, contract_id: uuid.UUID, *, fresh: bool = False) -> LedgerAccount | None:
    """The contract's account, locked: every writer of a contract's ledger takes this lock first.
    `fresh`: reread a copy already loaded (set-based SQL has rewritten it)."""
    stmt = select(LedgerAccount).where(LedgerAccount.contract_id == contract_id).with_for_update()
    if fresh:
        stmt = stmt.execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def account(session: AsyncSession, contract_id: uuid.UUID) -> LedgerAccount | None:
    return await session.get(LedgerAccount, contract_id)


async def entries_of(session: AsyncSession, contract_id: uuid.UUID) -> list[LedgerEntry]:
    """Every entry of a contract, in recorded order."""
    stmt = select(LedgerEntry).where(LedgerEntry.contract_id == contract_id).order_by(LedgerEntry.seq)
    return list((await session.execute(stmt)).scalars())


async def entry(session: AsyncSession, entry_id: uuid.UUID) -> LedgerEntry | None:
    return await session.get(LedgerEntry, entry_id)


async def reference_taken(session: AsyncSession, contract_id: uuid.UUID, reference: str) -> bool:
    stmt = select(LedgerEntry.id).where(LedgerEntry.contract_id == contract_id, LedgerEntry.reference == reference)
    return (await session.execute(stmt.limit(1))).first() is not None


async def add_entries(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(LedgerEntry), list(rows))


async def replace_items(session: AsyncSession, contract_id: uuid.UUID, rows: Sequence[dict[str, Any]]) -> None:
    """The contract's stored item state becomes `rows` (derived state, rewritten whole)."""
    await session.execute(delete(LedgerItem).where(LedgerItem.contract_id == contract_id))
    if rows:
        await session.execute(insert(LedgerItem), list(rows))


async def items_of(session: AsyncSession, contract_id: uuid.UUID) -> list[LedgerItem]:
    stmt = select(LedgerItem).where(LedgerItem.contract_id == contract_id).order_by(
        LedgerItem.due_date, LedgerItem.kind.desc(), LedgerItem.instalment_number, LedgerItem.key)
    return list((await session.execute(stmt)).scalars())


async def business_date_overrides(session: AsyncSession, group_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, date]:
    stmt = select(BusinessDateOverride.group_id, BusinessDateOverride.business_date).where(
        BusinessDateOverride.group_id.in_(list(set(group_ids))))
    return {group_id: day for group_id, day in (await session.execute(stmt)).all()}


async def charge_items(session: AsyncSession, charge_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, LedgerItem]:
    if not charge_ids:
        return {}
    stmt = select(LedgerItem).where(LedgerItem.charge_id.in_(list(charge_ids)))
    return {i.charge_id: i for i in (await session.execute(stmt)).scalars() if i.charge_id}


def entries_statement(contract_id: uuid.UUID, kind: str | None = None) -> Any:
    """A contract's entries (optionally of one kind), for `paginate` by `seq` along
    `ix_ledger_entry_contract_id_seq`. The caller has fetched the contract through its scope."""
    stmt = select(LedgerEntry).where(LedgerEntry.contract_id == contract_id)
    return stmt if kind is None else stmt.where(LedgerEntry.kind == kind)


async def reversals_of(session: AsyncSession, entry_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, LedgerEntry]:
    """The reversal of each of `entry_ids` that has one."""
    if not entry_ids:
        return {}
    stmt = select(LedgerEntry).where(LedgerEntry.reverses_id.in_(list(entry_ids)))
    return {e.reverses_id: e for e in (await session.execute(stmt)).scalars() if e.reverses_id}


def scoped_entries_of_kind(base: Any, kind: str, contract_id: uuid.UUID | None) -> Any:
    """Entries of `kind` (of one contract) from a scoped `base` select (lists across contracts)."""
    stmt = base.where(LedgerEntry.kind == kind)
    return stmt if contract_id is None else stmt.where(LedgerEntry.contract_id == contract_id)


async def ledger_version(session: AsyncSession, contract_id: uuid.UUID) -> int:
    """A contract ledger's version for ETags: its last entry's `seq` (any new fact may move allocations)."""
    stmt = select(func.max(LedgerEntry.seq)).where(LedgerEntry.contract_id == contract_id)
    return (await session.scalar(stmt)) or 0


async def accounts_batch(session: AsyncSession, group_id: uuid.UUID | None, after: uuid.UUID | None,
                         limit: int) -> list[LedgerAccount]:
    """Accounts in contract-id order after `after` (keyset batches for the verifier)."""
    stmt = select(LedgerAccount).order_by(LedgerAccount.contract_id).limit(limit)
    if group_id is not None:
        stmt = stmt.where(LedgerAccount.group_id == group_id)
    if after is not None:
        stmt = stmt.where(LedgerAccount.contract_id > after)
    return list((await session.execute(stmt)).scalars())


async def contracts_by_id(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Contract]:
    stmt = select(Contract).where(Contract.id.in_(list(ids)))
    return {c.id: c for c in (await session.execute(stmt)).scalars()}


async def entries_of_contracts(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[LedgerEntry]:
    stmt = select(LedgerEntry).where(LedgerEntry.contract_id.in_(list(ids))).order_by(LedgerEntry.seq)
    return list((await session.execute(stmt)).scalars())


async def items_of_contracts(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[LedgerItem]:
    stmt = select(LedgerItem).where(LedgerItem.contract_id.in_(list(ids)))
    return list((await session.execute(stmt)).scalars())


# --- for reports (app/reports) ------------------------------------------------------------------

def open_accounts_figures(company_ids: Sequence[uuid.UUID], posted_from: date) -> Any:
    """The open accounts of these companies posted through `posted_from` or later, as (contract,
    group, company, as_of, dpd, bucket, outstanding principal, overdue amount, unapplied credit): a
    SELECT the month-end snapshot inserts from in one statement."""
    a = LedgerAccount
    return (select(a.contract_id, a.group_id, a.company_id, a.as_of, a.dpd, a.bucket, a.outstanding_principal,
                   a.overdue_amount, a.unapplied_credit)
            .where(a.company_id.in_(list(company_ids)), a.as_of >= posted_from, a.settled.is_(False)))


# --- the demo's histories (app/ledger/demo.py) ------------------------------------------------

async def set_business_date_override(session: AsyncSession, group_id: uuid.UUID, day: date | None) -> None:
    """The group's business date becomes `day` (None: today in each company's zone again)."""
    await session.execute(delete(BusinessDateOverride).where(BusinessDateOverride.group_id == group_id))
    if day is not None:
        await session.execute(insert(BusinessDateOverride).values(group_id=group_id, business_date=day))


async def latest_payment(session: AsyncSession, contract_id: uuid.UUID) -> LedgerEntry | None:
    """The contract's latest payment that stands (not reversed): what an unlock request's form shows."""
    reversed_ids = select(LedgerEntry.reverses_id).where(LedgerEntry.contract_id == contract_id,
                                                         LedgerEntry.reverses_id.is_not(None))
    stmt = (select(LedgerEntry).where(LedgerEntry.contract_id == contract_id, LedgerEntry.kind == "payment",
                                      LedgerEntry.id.not_in(reversed_ids))
            .order_by(LedgerEntry.seq.desc()).limit(1))
    return await session.scalar(stmt)
