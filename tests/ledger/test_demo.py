"""The demo's ledger histories: accounts in every bucket and a few paid off, every stored state equal
to its replay, everything brought to the business date (one seeding, one test: it is the slow part)."""

from collections import Counter

from sqlalchemy import select

from app.contracts.demo import seed_contracts
from app.contracts.models import Contract
from app.customers.demo import seed_customers
from app.ledger import entries as ledger_entries
from app.ledger import repository as repo
from app.ledger import service as ledger
from app.ledger.calendar import business_today
from app.ledger.demo import PAID_OFF, seed_ledger
from app.ledger.models import LedgerEntry
from app.ledger.rules import Bucket


async def test_demo_ledger_has_every_bucket_paid_off_accounts_and_replays_exactly(db, org):
    await seed_customers(db, org)
    await seed_contracts(db, org)
    seeded = await seed_ledger(db, org)

    assert set(seeded) == {*(b.value for b in Bucket), PAID_OFF}, seeded
    assert 3 <= len(seeded[PAID_OFF]) <= 6 and len(seeded[Bucket.CURRENT]) >= 3, seeded
    # The README's walkthrough signs in as clerk1, who sees C01: one of each there too.
    assert all(any(n.startswith("HT-C01-") for n in numbers) for numbers in seeded.values()), seeded
    today = await business_today(db, org.companies["C01"].id)
    contracts = (await db.scalars(select(Contract).where(Contract.shipment_date.isnot(None)))).all()
    assert sorted(c.number for c in contracts) == sorted(n for numbers in seeded.values() for n in numbers)
    for contract in contracts:
        account = await repo.account(db, contract.id)
        entries = await repo.entries_of(db, contract.id)
        policy = ledger.policy_of(contract)
        assert account is not None and account.as_of == today, contract.number
        state = ledger_entries.replay(entries, through=account.as_of, policy=policy)
        stored = {name: getattr(account, name) for name in ledger.account_figures(state)}
        assert stored == ledger.account_figures(state), contract.number
        assert not ledger_entries.penalty_adjustments(entries, through=account.as_of, policy=policy), contract.number
        assert not state.unapplied, contract.number
        # A settled account is the settled contract's, and nothing is owed on it.
        assert account.settled == (contract.state == "settled"), contract.number
        assert not account.settled or account.payoff == 0, contract.number

    kinds = Counter((e.kind, e.charge_kind, e.reason) for e in (await db.scalars(select(LedgerEntry))).all()
                    if e.kind in ("charge", "reversal", "settlement"))
    assert kinds[("reversal", None, "退票")] == 1, kinds
    reversal = await db.scalar(select(LedgerEntry).where(LedgerEntry.kind == "reversal"))
    assert reversal.company_id == org.companies["C01"].id and reversal.actor_id == org.users["approver2"].id
    assert {k for k, _, _ in kinds} == {"charge", "reversal", "settlement"}
    assert {c for k, c, _ in kinds if k == "charge"} == {"gps_fee", "freight"}
    payments = Counter(e.reason for e in (await db.scalars(select(LedgerEntry).where(LedgerEntry.kind == "payment"))))
    assert payments["按期还款"] and payments["逾期还款"] and payments["部分还款"], payments
