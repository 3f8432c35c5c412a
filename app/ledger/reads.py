"""The ledger's reads for one contract: its entries, the progress of each instalment (for the
contract's schedule), its balance, the payoff on a date, and statements (JSON and .xlsx).

The contract is always fetched through the contracts area's scoped lookup, so a contract out of the
caller's scope answers 404 exactly like a missing one. Figures come from the stored state
(`ledger_account`, `ledger_item`), which every fact and close of business keep equal to the replay;
only a payoff on a day after the account's `as_of` and a statement replay the contract's entries
(`entries.replay`, one contract).
"""

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from sqlalchemy.ext.asyncio import AsyncSession

from app.contracts import repository as contracts_repo
from app.contracts.models import Contract
from app.core.pagination import PageParams, SortKey, paginate
from app.core.principal import Principal
from app.core.spreadsheet import append_rows, workbook_bytes
from app.ledger import entries as ledger_entries
from app.ledger import repository as repo
from app.ledger import rules
from app.ledger.calendar import business_today
from app.ledger.errors import LedgerNoAccount, LedgerPayoffDateInPast, LedgerStatementPeriodInvalid
from app.ledger.models import EntryKind, LedgerAccount, LedgerEntry, LedgerItem
from app.ledger.read_schemas import (
    BalanceOut,
    EntryOut,
    InstalmentComponents,
    PayoffOut,
    StatementLine,
    StatementOut,
)
from app.ledger.rules import Amounts, Component, LedgerState
from app.ledger.schedule import ZERO
from app.ledger.service import policy_of

ONE_DAY = timedelta(days=1)


async def _contract(session: AsyncSession, principal: Principal, contract_id: uuid.UUID) -> Contract:
    return await contracts_repo.get_contract(session, principal, contract_id)


async def _account(session: AsyncSession, contract: Contract) -> LedgerAccount:
    account = await repo.account(session, contract.id)
    if account is None:
        raise LedgerNoAccount(f"The contract {contract.number} has no receivable: it is not shipped")
    return account


def entry_out(entry: LedgerEntry, reversed_by: uuid.UUID | None) -> EntryOut:
    return EntryOut.model_validate({**{name: getattr(entry, name) for name in EntryOut.model_fields
                                       if name != "reversed_by"}, "reversed_by": reversed_by})


# --- entries ---------------------------------------------------------------------------------

async def entries_page(session: AsyncSession, principal: Principal, contract_id: uuid.UUID, *, kind: str | None,
                       page: PageParams, sort: SortKey) -> tuple[list[EntryOut], str | None]:
    """A page of the contract's entries by `seq` (the recorded order), with who reversed each: three
    queries whatever the page (the contract, the page, the reversals of the page)."""
    contract = await _contract(session, principal, contract_id)
    rows, cursor = await paginate(session, repo.entries_statement(contract.id, kind), page, sort, LedgerEntry.seq)
    reversals = await repo.reversals_of(session, [e.id for e in rows])
    return [entry_out(e, reversals[e.id].id if e.id in reversals else None) for e in rows], cursor


# --- the schedule's progress -----------------------------------------------------------------

@dataclass(frozen=True)
class InstalmentProgress:
    paid: InstalmentComponents
    unpaid: InstalmentComponents
    status: str


def instalment_status(due_date: date, as_of: date, *, paid_any: bool, unpaid_any: bool) -> str:
    """`paid`: nothing of principal, interest or penalty unpaid; `scheduled`: not yet due; then,
    once due: `partially_paid` when something is paid, else `due` on its due date, `overdue` after."""
    if not unpaid_any and (paid_any or due_date <= as_of):
        return "paid"
    if due_date > as_of:
        return "scheduled"
    if paid_any:
        return "partially_paid"
    return "due" if due_date == as_of else "overdue"


def _progress(item: LedgerItem, as_of: date) -> InstalmentProgress:
    paid = InstalmentComponents(principal=item.principal_paid, interest=item.interest_paid, penalty=item.penalty_paid)
    unpaid = InstalmentComponents(
        principal=item.principal_due - item.principal_paid,
        interest=item.interest_due - item.interest_paid - item.interest_waived,
        penalty=item.penalty_due - item.penalty_paid - item.penalty_waived)
    status = instalment_status(item.due_date, as_of, paid_any=any(v > 0 for v in paid.model_dump().values()),
                               unpaid_any=any(v > 0 for v in unpaid.model_dump().values()))
    return InstalmentProgress(paid, unpaid, status)


async def instalment_progress(session: AsyncSession,
                              contract: Contract) -> tuple[date, dict[int, InstalmentProgress]] | None:
    """(as_of, progress by instalment number) from the stored state, or None before the shipment.
    Statuses are judged on the account's `as_of`, the day its figures are computed through."""
    account = await repo.account(session, contract.id)
    if account is None:
        return None
    items = await repo.items_of(session, contract.id)
    return account.as_of, {i.instalment_number: _progress(i, account.as_of) for i in items
                           if i.instalment_number is not None}


# --- balance and payoff ----------------------------------------------------------------------

async def balance(session: AsyncSession, principal: Principal, contract_id: uuid.UUID) -> BalanceOut:
    account = await _account(session, await _contract(session, principal, contract_id))
    figures = {name: getattr(account, name) for name in BalanceOut.model_fields if name != "overdue_penalty"}
    return BalanceOut(**figures, overdue_penalty=account.unpaid_penalty)


def _stored_state(items: Sequence[LedgerItem], as_of: date) -> LedgerState:
    """The stored items as the rules' state on `as_of` (equal to the replay through it)."""
    return LedgerState(as_of, [rules.Item(
        ("instalment", str(i.instalment_number)) if i.instalment_number is not None else ("charge", str(i.charge_id)),
        i.due_date, {Component.PRINCIPAL: Amounts(i.principal_due, i.principal_paid),
                     Component.INTEREST: Amounts(i.interest_due, i.interest_paid, i.interest_waived),
                     Component.FEE: Amounts(i.fee_due, i.fee_paid),
                     Component.PENALTY: Amounts(i.penalty_due, i.penalty_paid, i.penalty_waived)}) for i in items])


async def payoff(session: AsyncSession, principal: Principal, contract_id: uuid.UUID, on: date | None) -> PayoffOut:
    """结清金额 on `on` (default: the business date). A day before the business date is refused; on the
    day the account is posted through, the stored state answers; a later day replays the entries
    through it, which projects the penalty of the days in between on the principal unpaid now."""
    contract = await _contract(session, principal, contract_id)
    account = await _account(session, contract)
    today = await business_today(session, contract.company_id)
    day = on or today
    if day < today:
        raise LedgerPayoffDateInPast(f"The payoff date {day} is before the business date {today}",
                                     errors=[{"pointer": "/query/date", "message": f"not before {today}"}])
    if day == account.as_of:
        state = _stored_state(await repo.items_of(session, contract.id), day)
        credit = account.unapplied_credit
    else:
        state = ledger_entries.replay(await repo.entries_of(session, contract.id), through=day,
                                      policy=policy_of(contract))
        credit = rules.unapplied_credit(state)
    return PayoffOut(date=day, payoff=rules.owed_on(state, day) - credit, principal=state.total(Component.PRINCIPAL),
                     interest=state.total(Component.INTEREST, due_by=day), fees=state.total(Component.FEE, due_by=day),
                     penalty=state.total(Component.PENALTY), unapplied_credit=credit, projected=day > account.as_of,
                     as_of=account.as_of)


# --- statements ------------------------------------------------------------------------------

def _effects(entries: Sequence[LedgerEntry], state: LedgerState) -> dict[uuid.UUID, tuple[Decimal, Decimal]]:
    """(debit, credit) of each entry on the balance of `StatementOut` (its description says why),
    from the replay through the statement's last day: a waiver is what it reduced there, a payment
    all of it (what it reduced, and the credit it left), an instalment's interest what no settlement
    or payoff wrote off."""
    credited: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for allocation in state.allocations:
        credited[allocation.credit_id] += allocation.amount
    written_off = {item.key: item.components[Component.INTEREST].waived for item in state.items if item.is_instalment}
    reversed_ids = {e.reverses_id for e in entries if e.kind == EntryKind.REVERSAL}
    effects: dict[uuid.UUID, tuple[Decimal, Decimal]] = {}
    for e in entries:
        debit = credit = ZERO
        if e.id in reversed_ids or e.kind in (EntryKind.REVERSAL, EntryKind.SETTLEMENT, EntryKind.WRITE_OFF):
            pass
        elif e.kind == EntryKind.PAYMENT:
            key = str(e.id)
            credit = credited[key] + state.unapplied.get(key, ZERO) + state.refunded.get(key, ZERO)
        elif e.kind == EntryKind.WAIVER:
            credit = credited[str(e.id)]
        elif e.kind == EntryKind.INSTALMENT_DUE:
            if e.component == Component.INTEREST.value:
                debit = e.amount - written_off.get(rules.instalment_key(e.instalment_number or 0), ZERO)
        elif e.amount >= 0:  # a charge, a day's penalty, a refund
            debit = e.amount
        else:  # a penalty adjustment taking some back
            credit = -e.amount
        effects[e.id] = (debit, credit)
    return effects


async def _statement(session: AsyncSession, principal: Principal, contract_id: uuid.UUID, start: date | None,
                     end: date | None) -> tuple[Contract, StatementOut]:
    contract = await _contract(session, principal, contract_id)
    account = await _account(session, contract)
    first = contract.shipment_date or account.as_of
    start = max(start or first, first)
    end = end or account.as_of
    if start > end or end > account.as_of:
        raise LedgerStatementPeriodInvalid(
            f"The period {start}–{end} must run forwards and end by {account.as_of}, the day the ledger is posted "
            "through", errors=[{"pointer": "/query/to", "message": f"from ≤ to ≤ {account.as_of}"}])
    entries = await repo.entries_of(session, contract.id)
    policy = policy_of(contract)
    opening = rules.payoff(ledger_entries.replay(entries, through=start - ONE_DAY, policy=policy))
    state = ledger_entries.replay(entries, through=end, policy=policy)
    effects = _effects(entries, state)
    reversals = {e.reverses_id: e.id for e in entries if e.reverses_id is not None}
    lines, running = [], opening
    for e in sorted((e for e in entries if start <= e.value_date <= end), key=lambda e: (e.value_date, e.seq)):
        debit, credit = effects[e.id]
        running += debit - credit
        lines.append(StatementLine(entry=entry_out(e, reversals.get(e.id)), debit=debit, credit=credit,
                                   balance=running))
    return contract, StatementOut(**{"from": start}, to=end, contract_id=contract.id, opening_balance=opening,
                                  total_debit=sum((line.debit for line in lines), ZERO),
                                  total_credit=sum((line.credit for line in lines), ZERO),
                                  closing_balance=rules.payoff(state),
                                  unapplied_credit=rules.unapplied_credit(state), lines=lines)


async def statement(session: AsyncSession, principal: Principal, contract_id: uuid.UUID, start: date | None,
                    end: date | None) -> StatementOut:
    """The statement over [start, end] (default: from the shipment to the day the ledger is posted
    through); see `StatementOut` for what the balance is and how it reconciles."""
    return (await _statement(session, principal, contract_id, start, end))[1]


KIND_LABELS = {"instalment_due": "应收到期", "charge": "费用", "penalty": "罚息", "payment": "还款", "waiver": "减免",
               "settlement": "结清", "reversal": "冲正", "write_off": "结清免息", "refund": "退款"}
COMPONENT_LABELS = {"principal": "本金", "interest": "利息", "fee": "费用", "penalty": "罚息"}
STATEMENT_HEADERS = ["起息日", "序号", "类型", "科目", "期次", "说明", "金额", "借方", "贷方", "余额"]


def _line_row(line: StatementLine) -> list[Any]:
    e = line.entry
    particulars = "; ".join(str(p) for p in (e.charge_kind, e.method, e.reference, e.payer, e.reason) if p)
    if e.reversed_by is not None:
        particulars = f"已冲正 {particulars}".strip()
    return [e.value_date, e.seq, KIND_LABELS[e.kind], COMPONENT_LABELS.get(e.component or "", ""),
            e.instalment_number, particulars, e.amount, line.debit, line.credit, line.balance]


async def statement_xlsx(session: AsyncSession, principal: Principal, contract_id: uuid.UUID, start: date | None,
                         end: date | None) -> tuple[bytes, str]:
    """The statement as an .xlsx workbook (one sheet: the heading, the lines, the closing), and its file name."""
    contract, out = await _statement(session, principal, contract_id, start, end)
    wb = Workbook()
    ws = wb.active
    ws.title = "对账单"
    append_rows(ws, (["合同号", contract.number], ["期间", out.from_, out.to], ["期初余额", out.opening_balance], [],
                     STATEMENT_HEADERS, *(_line_row(line) for line in out.lines), [],
                     ["借方合计", out.total_debit], ["贷方合计", out.total_credit], ["期末余额", out.closing_balance]))
    return workbook_bytes(wb), f"statement-{contract.number}-{out.from_}-{out.to}.xlsx"
