"""The demo contracts load cleanly through the services and the engine, in every state."""

from collections import Counter

from sqlalchemy import select

from app.contracts.demo import seed_contracts
from app.contracts.models import Contract, Investigation, Machine
from app.customers.demo import seed_customers


async def test_demo_contracts_cover_every_state(db, org):
    await seed_customers(db, org)
    await seed_contracts(db, org)
    contracts = (await db.scalars(select(Contract).where(Contract.group_id == org.group.id))).all()
    assert len(contracts) == 60
    states = Counter(c.state for c in contracts)
    assert set(states) == {"draft", "submitted", "approved", "investigating", "shipping", "active", "settled",
                           "repossessed", "cancelled"}, states
    assert any(c.state == "draft" and c.rejection_reason for c in contracts)
    assert {c.company_id for c in contracts} == {org.companies[c].id for c in ("C01", "C02", "C03")}
    active = [c for c in contracts if c.state == "active"]
    assert len({c.first_due_date.month for c in active}) >= 6 and all(c.shipment_date for c in active)
    submitted = (await db.scalars(select(Investigation).where(Investigation.submitted_at.isnot(None)))).all()
    assert sorted(i.recommendation for i in submitted) == ["do_not_ship", "ship"]
    gps = (await db.scalars(select(Machine.gps_device_id).where(Machine.group_id == org.group.id))).all()
    assert len(gps) == 60 and sum(g is not None for g in gps) >= 45
    db.info.pop("audit_pending", None)
