"""Demo collections: the close of business of the business date opens a case for every overdue
demo contract; C01's go to collector1 and collector2 (one left for the dispatcher to assign),
C02's to collector3, the rest wait unassigned. Each case is dated from the day its contract fell
overdue, as if the close of business had run every day."""

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.collection import cases, cob
from app.collection.models import CollectionCase
from app.collection.schemas import CaseAssignIn
from app.ledger.calendar import business_today
from app.ledger.models import LedgerAccount
from app.org.repository import load_principal


async def seed_collections(session: AsyncSession, org: Any) -> dict[str, int]:
    companies = list(org.companies.values())
    today = await business_today(session, companies[0].id)
    await cob.day_closed(session, today, [c.id for c in companies])
    # Backdate each case to the day after its oldest overdue item fell due.
    await session.execute(
        update(CollectionCase).where(CollectionCase.contract_id == LedgerAccount.contract_id,
                                     LedgerAccount.overdue_since.is_not(None))
        .values(opened_on=LedgerAccount.overdue_since + timedelta(days=1)))
    rows = (await session.execute(select(CollectionCase.id, CollectionCase.company_id)
                                  .where(CollectionCase.state == "open")
                                  .order_by(CollectionCase.opened_on, CollectionCase.id))).all()
    c01 = [i for i, company in rows if company == org.companies["C01"].id]
    c02 = [i for i, company in rows if company == org.companies["C02"].id]
    dispatcher = await load_principal(session, org.users["dispatcher"].id)
    admin = await load_principal(session, org.users["admin"].id)
    assert dispatcher is not None and admin is not None
    plan = [(dispatcher, c01[0::2][:-1] if len(c01) > 2 else c01[0::2], "collector1"),
            (dispatcher, c01[1::2], "collector2"), (admin, c02, "collector3")]
    for by, ids, collector in plan:
        if ids:
            await cases.assign(session, by, CaseAssignIn(case_ids=ids, collector_id=org.users[collector].id,
                                                         reason="片区分配"))
    await cob.day_closed(session, today, [c.id for c in companies])  # priorities after assignment
    return {"cases": len(rows), "c01": len(c01), "c02": len(c02)}
