"""The stored state always equals the replay, whatever history the service records; the verifier
(scripts/verify-ledger, job verify-ledger) finds any drift and says where."""

import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text, update

from app.cli import _verify_ledger
from app.contracts.models import Contract
from app.core.errors import DomainError
from app.ledger import entries as ledger_entries
from app.ledger import repository as repo
from app.ledger import rules
from app.ledger import service as ledger
from app.ledger.models import EntryKind, LedgerEntry, LedgerItem
from app.ledger.verify import balance_of_entries, differences, owed, verify
from app.org.repository import load_principal
from tests.ledger.conftest import EXAMPLE_TERMS

D = Decimal
SHIPPED = date(2026, 1, 20)
# Equal principal with a grace period and a dearer penalty, paying principal first.
OTHER_TERMS = {**EXAMPLE_TERMS, "price": "120000.00", "term_months": 6, "schedule_kind": "equal_principal",
               "first_due_date": "2026-02-15", "penalty_daily_rate": "0.001", "grace_days": 3,
               "allocation_order": ["principal", "interest", "fee", "penalty"]}


@pytest.fixture
async def contracts(db, shipped):
    """Two shipped contracts on 2026-01-20 (made once per test, not per example)."""
    made = [await shipped(), await shipped(OTHER_TERMS)]
    return [await db.get(Contract, uuid.UUID(c["id"])) for c in made]


async def check(db, contract: Contract) -> None:
    account = await repo.account(db, contract.id)
    assert differences(contract, account, await repo.items_of(db, contract.id),
                       await repo.entries_of(db, contract.id)) == []


operation = st.tuples(st.sampled_from(["days", "payment", "payment", "waiver", "charge", "reversal", "settle",
                                       "payoff", "refund"]),
                      st.integers(0, 60), st.integers(1, 1000))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(pick=st.integers(0, 1), ops=st.lists(operation, min_size=1, max_size=10))
async def test_whatever_the_service_records_the_stored_state_equals_the_replay(db, org, contracts,
                                                                               business_date, pick, ops):
    savepoint = await db.begin_nested()
    try:
        contract = contracts[pick]
        clerk = await load_principal(db, org.users["clerk1"].id)
        today = SHIPPED
        for kind, days, per_mille in ops:
            try:
                async with db.begin_nested():
                    entries = await repo.entries_of(db, contract.id)
                    if kind == "days":
                        today += timedelta(days=days)
                        await business_date(today)
                        await ledger.resync(db, contract)  # what the close of business does for each day
                    elif kind in ("payment", "waiver", "payoff"):
                        value_date = max(SHIPPED, today - timedelta(days=days))
                        state = ledger_entries.replay(entries, through=value_date, policy=ledger.policy_of(contract))
                        room = rules.payoff(state) if kind != "waiver" else state.total(rules.Component.PENALTY)
                        # A payoff pays exactly the payoff of its value date (and writes off the interest).
                        amount = room if kind == "payoff" else (room * per_mille / 1000).quantize(D("0.01"))
                        if kind != "waiver":
                            await ledger.record_payment(db, clerk, contract, amount=amount, value_date=value_date,
                                                        method="bank_transfer")
                        else:
                            await ledger.post_waiver(db, clerk, contract, amount=amount, reason="减免",
                                                     value_date=value_date)
                    elif kind == "charge":
                        await ledger.post_charge(db, clerk, contract, kind="gps_fee", amount=D(per_mille),
                                                 due_date=today + timedelta(days=days - 30))
                    elif kind == "refund":
                        state = ledger_entries.replay(entries, through=today, policy=ledger.policy_of(contract))
                        amount = (rules.unapplied_credit(state) * per_mille / 1000).quantize(D("0.01"))
                        await ledger.refund(db, clerk, contract, amount=amount, method="bank_transfer", reason="退款")
                    elif kind == "reversal":
                        live = [e for e in entries if e.kind in ledger.REVERSIBLE]
                        if live:
                            await ledger.reverse_entry(db, clerk, contract, live[per_mille % len(live)], reason="错账")
                    else:
                        await ledger.settle(db, clerk, contract, reason="提前结清")
            except DomainError:
                pass
            await check(db, contract)
    finally:
        await savepoint.rollback()


async def test_the_entries_sum_to_what_is_owed_after_the_payoff_paid_and_a_settlement(db, org, contracts,
                                                                                     business_date):
    contract = contracts[0]
    clerk = await load_principal(db, org.users["clerk1"].id)
    await business_date(date(2026, 2, 10))
    await ledger.resync(db, contract)
    payoff = (await repo.account(db, contract.id)).payoff
    await ledger.record_payment(db, clerk, contract, amount=payoff, value_date=date(2026, 2, 10), method="offset")
    settled = await ledger.settle(db, clerk, contract, reason="提前结清")
    # The payment of the payoff wrote off the schedule's interest (11 × 34 426.57 + 34 426.60 − 400 000)
    # less instalment 1's, due on 31 Jan, so the settlement approved after it has nothing left to.
    entries = await repo.entries_of(db, contract.id)
    assert sum((e.amount for e in entries if e.kind == EntryKind.WRITE_OFF), D(0)) == D("13118.87") - D("2000.00")
    assert settled.entry.amount == 0
    state = ledger_entries.replay(entries, through=date(2026, 2, 10))
    assert balance_of_entries(entries) == owed(state) == 0
    assert (await repo.account(db, contract.id)).settled
    await check(db, contract)


async def test_the_verifier_reports_a_drifted_item_and_a_wrong_penalty_entry(db, org, contracts, business_date):
    drifted, wrong_penalty = contracts
    await business_date(date(2026, 3, 1))
    for contract in contracts:
        await ledger.resync(db, contract)
    assert (await verify(db, org.group.id)).ok
    await db.execute(update(LedgerItem).where(LedgerItem.contract_id == drifted.id,
                                              LedgerItem.key == "instalment:1").values(principal_paid=D("1.00")))
    db.add(LedgerEntry(group_id=wrong_penalty.group_id, company_id=wrong_penalty.company_id,
                       contract_id=wrong_penalty.id, kind=EntryKind.PENALTY, component="penalty", amount=D("0.01"),
                       value_date=date(2026, 2, 20), instalment_number=1))
    await db.flush()
    db.expire_all()
    report = await verify(db, org.group.id)
    assert set(report.mismatches) == {drifted.id, wrong_penalty.id}
    assert any("instalment:1.principal_paid" in line for line in report.mismatches[drifted.id])
    assert any("penalty of instalment 1 on 2026-02-20" in line for line in report.mismatches[wrong_penalty.id])


async def test_the_ledger_tables_keep_their_promises_to_the_app_role(db):
    # ledger_item and ledger_account are derived state the app rewrites; ledger_entry it only appends.
    privileges = (await db.execute(text(
        "SELECT has_table_privilege('ledger_item', 'UPDATE'), has_table_privilege('ledger_entry', 'UPDATE')"))).one()
    assert tuple(privileges) == (True, False)


async def test_the_command_replays_the_committed_ledgers_and_refuses_an_unknown_group(database_urls, capsys):
    assert await _verify_ledger(database_urls[1], "demo") == 0
    assert "differ from their stored state" in capsys.readouterr().out
    assert await _verify_ledger(database_urls[1], "no-such-group") == 2


async def test_a_settlement_writes_off_the_interest_not_yet_due_when_the_payoff_was_not_paid(db, org, contracts,
                                                                                            business_date):
    contract = contracts[0]
    clerk = await load_principal(db, org.users["clerk1"].id)
    await business_date(date(2026, 2, 10))
    settled = await ledger.settle(db, clerk, contract, reason="提前结清")
    assert settled.entry.amount == D("13118.87") - D("2000.00")
    entries = await repo.entries_of(db, contract.id)
    assert balance_of_entries(entries) == owed(ledger_entries.replay(entries, through=date(2026, 2, 10)))
    await check(db, contract)
