"""The areas publish their integration events in the transaction of the change, ordered per
contract, and a subscription receives them."""

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from app.contracts.models import Contract
from app.core import queue
from app.core.events import IntegrationEvent
from app.ledger import service as ledger
from app.ledger.models import LedgerEntry
from app.org.repository import load_principal


async def _types(db, contract_id: uuid.UUID) -> list[str]:
    stmt = (select(IntegrationEvent.event_type).where(IntegrationEvent.ordering_key == str(contract_id))
            .order_by(IntegrationEvent.seq))
    return list((await db.execute(stmt)).scalars())


async def test_a_contracts_life_is_published_in_order_and_delivered(client, auth, db, org, overdue_case, receiver):
    sub = await client.post("/api/v1/webhook-subscriptions", headers=auth("admin"), json={
        "url": receiver.url, "event_types": ["payment.recorded", "payment.reversed", "collection_case.assigned"]})
    assert sub.status_code == 201
    case = await overdue_case()
    # The contract is its own approval request: its approval's completion is on the contract's key too.
    assert await _types(db, case.contract_id) == ["contract.approved", "approval.completed", "contract.shipped",
                                                  "collection_case.opened"]
    assigned = await client.post("/api/v1/collection-cases/assign", headers=auth("dispatcher"), json={
        "case_ids": [str(case.id)], "collector_id": str(org.users["collector1"].id)})
    assert assigned.status_code == 200, assigned.text
    contract = await db.get(Contract, case.contract_id)
    clerk = await load_principal(db, org.users["clerk1"].id)
    paid = await ledger.record_payment(db, clerk, contract, amount=Decimal("100.00"), value_date=date(2026, 2, 10),
                                       method="bank_transfer")
    await ledger.reverse_entry(db, clerk, contract, await db.get(LedgerEntry, paid.entry.id), reason="wrong account")
    assert (await _types(db, case.contract_id))[4:] == ["collection_case.assigned", "payment.recorded",
                                                        "payment.reversed"]
    await queue.drain(db)
    types = [r["json"]["type"] for r in receiver.requests]
    assert types == ["collection_case.assigned", "payment.recorded", "payment.reversed"]
    assert receiver.requests[1]["json"]["data"]["amount"] == "100.00"
