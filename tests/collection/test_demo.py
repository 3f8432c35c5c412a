"""The demo's collections: a case for every overdue demo account, held by the demo collectors of
their company (some waiting for the dispatcher), dated from the day the contract fell overdue."""

from collections import Counter

from sqlalchemy import select

from app.collection.demo import seed_collections
from app.collection.models import CollectionCase, CollectionLog
from app.contracts.demo import seed_contracts
from app.customers.demo import seed_customers
from app.ledger.demo import seed_ledger
from app.ledger.models import LedgerAccount
from app.ledger.verify import verify


async def test_every_overdue_demo_account_has_a_case_held_by_its_companys_collectors(db, org):
    await seed_customers(db, org)
    await seed_contracts(db, org)
    await seed_ledger(db, org)
    seeded = await seed_collections(db, org)
    assert seeded["logs"] >= 2 * 3 and seeded["kept"] == 1 and seeded["broken"] >= 1 and seeded["pending"] >= 1, seeded
    overdue = set((await db.scalars(select(LedgerAccount.contract_id).where(LedgerAccount.dpd > 0))).all())
    cases = (await db.scalars(select(CollectionCase).where(CollectionCase.state == "open"))).all()
    assert {c.contract_id for c in cases} == overdue and len(cases) >= 5
    held = Counter(c.collector_id for c in cases)
    for collector in ("collector1", "collector2"):
        assert held[org.users[collector].id] >= 1, held
    assert held[None] >= 1, held  # some wait for the dispatcher
    companies = {u.id: u.company_id for u in org.users.values()}
    for case in cases:
        account = await db.get(LedgerAccount, case.contract_id)
        assert case.opened_on <= account.as_of and case.priority > 0
        if case.collector_id is not None:
            assert companies[case.collector_id] == case.company_id
    flagged = (await db.scalars(select(CollectionLog.evidence_mismatch).where(CollectionLog.action == "visit"))).all()
    assert True in flagged and False in flagged  # every third visit's photo was taken elsewhere, the day before
    assert (await verify(db, org.group.id)).ok  # the kept promise's payment went through the ledger's rules
