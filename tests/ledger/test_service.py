"""The ledger's facts through its service: the schedule starts at shipment, payments allocate and
bring penalty up to date, the stored state always equals the replay."""

import uuid
from datetime import date
from decimal import Decimal

import pytest

from app.contracts.models import Contract
from app.ledger import entries as ledger_entries
from app.ledger import repository as repo
from app.ledger import rules
from app.ledger import service as ledger
from app.ledger.errors import LedgerBeforeShipment, LedgerNoAccount, PaymentDuplicateReference
from app.org.repository import load_principal

D = Decimal


async def stored_equals_replay(db, contract: Contract) -> None:
    account = await repo.account(db, contract.id)
    entries = await repo.entries_of(db, contract.id)
    state = ledger_entries.replay(entries, through=account.as_of, policy=ledger.policy_of(contract))
    for name, value in ledger.account_figures(state).items():
        assert getattr(account, name) == value, name
    assert ledger_entries.penalty_adjustments(entries, through=account.as_of, policy=ledger.policy_of(contract)) == {}
    assert rules.write_off_adjustments(ledger_entries.posted_write_offs(entries), state) == {}


async def test_the_worked_example_through_the_service(db, org, shipped, business_date):
    contract = await db.get(Contract, uuid.UUID((await shipped())["id"]))
    clerk = await load_principal(db, org.users["clerk1"].id)
    account = await repo.account(db, contract.id)
    assert (account.as_of, account.payoff, account.dpd) == (date(2026, 1, 20), D("400000.00"), 0)

    await business_date(date(2026, 2, 10))
    state = await ledger.resync(db, contract)
    await db.refresh(account)
    assert (account.payoff, account.unpaid_penalty, account.dpd, account.bucket) == (
        D("402162.10"), D("162.10"), 10, "M1")
    await stored_equals_replay(db, contract)
    assert state.as_of == date(2026, 2, 10)

    paid = await ledger.record_payment(db, clerk, contract, amount=D("34588.67"), value_date=date(2026, 2, 10),
                                       method="bank_transfer", reference="B-1")
    assert [(a.component.value, a.amount) for a in paid.allocations] == [
        ("penalty", D("162.10")), ("interest", D("2000.00")), ("principal", D("32426.57"))]
    await db.refresh(account)
    assert (account.dpd, account.overdue_amount, account.outstanding_principal) == (0, 0, D("367573.43"))
    await stored_equals_replay(db, contract)

    with pytest.raises(PaymentDuplicateReference):
        await ledger.record_payment(db, clerk, contract, amount=D("1.00"), value_date=date(2026, 2, 10),
                                    method="cash", reference="B-1")
    with pytest.raises(LedgerBeforeShipment):
        await ledger.record_payment(db, clerk, contract, amount=D("1.00"), value_date=date(2026, 1, 19), method="cash")


async def test_reversing_a_back_dated_payment_posts_back_the_penalty_it_saved(db, org, shipped, business_date):
    contract = await db.get(Contract, uuid.UUID((await shipped())["id"]))
    clerk = await load_principal(db, org.users["clerk1"].id)
    await business_date(date(2026, 2, 20))
    # Instalment 1 with 1–5 Feb's penalty, paid on 5 Feb but recorded on the 20th: the penalty the
    # business days since posted for 6–20 Feb is taken back.
    paid = await ledger.record_payment(db, clerk, contract, amount=D("34426.57") + 5 * D("16.21"),
                                       value_date=date(2026, 2, 5), method="bank_transfer")
    account = await repo.account(db, contract.id)
    first = (await repo.items_of(db, contract.id))[0]
    assert (first.key, first.penalty_due, first.penalty_paid, account.unpaid_penalty) == (
        "instalment:1", 5 * D("16.21"), 5 * D("16.21"), 0)
    await stored_equals_replay(db, contract)
    await ledger.reverse_entry(db, clerk, contract, paid.entry, reason="退票")
    await db.refresh(account)
    assert account.unpaid_penalty == 20 * D("16.21")  # as if it had never happened
    await stored_equals_replay(db, contract)


async def test_a_contract_not_shipped_has_no_receivable(db, org, new_contract):
    contract = await db.get(Contract, uuid.UUID((await new_contract())["id"]))
    clerk = await load_principal(db, org.users["clerk1"].id)
    with pytest.raises(LedgerNoAccount):
        await ledger.record_payment(db, clerk, contract, amount=D("1.00"), value_date=date(2026, 1, 1), method="cash")
