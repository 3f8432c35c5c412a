"""Collections' tests open their cases the way production does: a contract shipped through the
API, its business date moved past a due date, the ledger brought up to date and the close of
business's collections step run for that day."""

import uuid
from datetime import date
from types import SimpleNamespace

import pytest

from app.collection import cob
from app.collection.models import CollectionCase
from app.contracts.models import Contract
from app.ledger import service as ledger
from tests.ledger.conftest import (  # noqa: F401 - the ledger's fixtures
    EXAMPLE_TERMS,
    act,
    approval_of,
    business_date,
    flows,
    make_flow,
    new_contract,
    shipped,
)


@pytest.fixture
def overdue_case(db, shipped, business_date):  # noqa: F811 - imported fixtures
    """overdue_case(on=date(2026, 2, 10), terms=None) → (a snapshot of) the open case of a contract of sales1's (C01)
    shipped on 2026-01-20 with nothing paid, after the close of business of `on`."""

    async def make(on: date = date(2026, 2, 10), terms: dict | None = None) -> SimpleNamespace:
        contract = await db.get(Contract, uuid.UUID((await shipped(terms))["id"]))
        await business_date(on)
        await ledger.resync(db, contract)
        await cob.day_closed(db, on, [contract.company_id])
        case = (await db.execute(CollectionCase.__table__.select().where(
            CollectionCase.contract_id == contract.id, CollectionCase.state == "open"))).first()
        assert case is not None
        return SimpleNamespace(**case._mapping)  # a snapshot: requests expire the session's objects

    return make
