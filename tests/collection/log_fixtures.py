"""Fixtures of the logs' and promises' tests: an open case on a contract of sales1's (C01), shipped on
2026-01-20 with its first instalment (due 2026-01-31) overdue on the business date 2026-02-10, held
by collector1. The case row is inserted directly (the close of business opens cases elsewhere)."""

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import update

from app.attachments.demo import sample_photo
from app.collection.models import CaseAssignment, CollectionCase
from app.contracts.models import Contract
from app.ledger import service as ledger_service
from tests.attachments.helpers import upload
from tests.ledger.conftest import (  # noqa: F401 - the sales and ledger fixtures
    EXAMPLE_TERMS,
    act,
    approval_of,
    business_date,
    flows,
    make_flow,
    new_contract,
    shipped,
)

TODAY = date(2026, 2, 10)
OPENED_ON = date(2026, 2, 1)


@dataclass(frozen=True)
class Case:
    """Plain values: ORM objects of the test session expire whenever a request rolls back."""

    id: uuid.UUID
    contract_id: uuid.UUID
    customer_id: uuid.UUID
    contact_id: uuid.UUID

    @property
    def logs(self) -> str:
        return f"/api/v1/collection-cases/{self.id}/logs"


def at(day: int, hour: int = 10, minute: int = 0, month: int = 2) -> str:
    """An RFC 3339 moment in 2026 (UTC)."""
    return datetime(2026, month, day, hour, minute, tzinfo=UTC).isoformat()


def log_body(**fields) -> dict:
    body = {"id": str(uuid.uuid4()), "person": {"name": "李工", "relation": "工地负责人"}, "action": "call",
            "result": "no_answer", "occurred_at": at(10, 2)}
    body.update(fields)
    return body


@pytest.fixture
def open_case(db, org, client, auth, shipped, business_date):  # noqa: F811 - imported fixtures
    """open_case(collector="collector1") → Case: an open case of C01 held by the collector."""

    async def make(*, collector: str | None = "collector1") -> Case:
        contract = await shipped()
        await business_date(TODAY)
        row = await db.get(Contract, uuid.UUID(contract["id"]))
        await ledger_service.resync(db, row)
        case = CollectionCase(id=uuid.uuid4(), group_id=row.group_id, company_id=row.company_id, contract_id=row.id,
                              customer_id=row.customer_id, opened_on=OPENED_ON, state="open", priority=0,
                              collector_id=org.users[collector].id if collector else None)
        db.add(case)
        await db.flush()
        values = Case(case.id, row.id, row.customer_id, uuid.UUID(contract["contacts"][0]["contact_id"]))
        return values

    return make


@pytest.fixture
def reassign(db, org):
    """reassign(case, "collector2", at_=datetime): the case moves, with its assignment history row."""

    async def move(case: Case, to: str, at_: datetime) -> None:
        current = await db.get(CollectionCase, case.id, populate_existing=True)
        db.add(CaseAssignment(id=uuid.uuid4(), case_id=case.id, from_collector_id=current.collector_id,
                              to_collector_id=org.users[to].id, at=at_, reason="test"))
        await db.execute(update(CollectionCase).where(CollectionCase.id == case.id)
                         .values(collector_id=org.users[to].id, assigned_at=at_))
        await db.flush()

    return move


async def uploaded(client, auth, user: str = "collector1") -> str:
    """The id of a photo (without EXIF) the user uploaded: what a log's attachment_ids name."""
    response = await upload(client, auth(user), sample_photo())
    assert response.status_code == 201, response.text
    return response.json()["id"]
