"""The ledger's tests hang their entries on contracts made through the API (a draft, or one approved
and shipped on a chosen business date), and try to rewrite entries as the tables' owner, as the
audit trail's tests do."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy.dialects.postgresql import insert

from app.ledger.models import BusinessDateOverride
from tests.approvals.conftest import act, make_flow  # noqa: F401 - the engine's fixtures
from tests.contracts.conftest import ANNUITY_TERMS, approval_of, flows, new_contract  # noqa: F401 - the sales fixtures
from tests.core.test_audit import owner_db  # noqa: F401 - a rolled-back session as the tables' owner

# ledger.md's worked example: 400 000.00 financed at 6 % over 12 months, first due 2026-01-31.
EXAMPLE_TERMS = {**ANNUITY_TERMS, "price": "400000.00", "down_payment": "0.00", "first_due_date": "2026-01-31"}


@pytest.fixture
def business_date(db, org):
    """business_date(date(2026, 2, 10)): the demo group's business date, set by hand."""

    async def set_(day: date) -> None:
        stmt = insert(BusinessDateOverride).values(group_id=org.group.id, business_date=day)
        await db.execute(stmt.on_conflict_do_update(index_elements=["group_id"], set_={"business_date": day}))
        await db.flush()

    return set_


@pytest.fixture
def shipped(client, auth, flows, new_contract, act, approval_of, business_date):  # noqa: F811 - imported fixtures
    """shipped(terms, on=date): a contract of sales1's approved by L1, L2 (and the leader) and shipped
    on business date `on`: its schedule has started."""

    flows_made: list[bool] = []  # the flows once per test: a test may ship several contracts

    async def make(terms: dict | None = None, *, on: date = date(2026, 1, 20)) -> dict:
        if not flows_made:
            await flows()
            flows_made.append(True)
        await business_date(on)
        contract = await new_contract(terms or EXAMPLE_TERMS)
        url = f"/api/v1/contracts/{contract['id']}"
        assert (await client.post(f"{url}/submit", headers=auth("clerk1"))).status_code == 200
        approval = await approval_of(contract["id"])
        leader = ("leader",) if Decimal(contract["terms"]["financed"]) > 300000 else ()
        approvers = ("approver1", "approver2", *leader)
        for user in approvers:
            assert (await act(user, approval["id"], "approve", {})).status_code == 200
        shipment = await client.post(f"{url}/shipment-request", json={}, headers=auth("clerk1"))
        assert shipment.status_code == 201, shipment.text
        assert (await act("leader", shipment.json()["approval_id"], "approve", {})).status_code == 200
        active = (await client.get(url, headers=auth("clerk1"))).json()
        assert active["state"] == "active", active
        return active

    return make
