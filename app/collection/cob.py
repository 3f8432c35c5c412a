"""What collections does at the close of business of each day, for the companies whose day closed
(registered with the ledger's close of business): open cases for contracts newly overdue, close
the cured and settled ones, judge the promises due, refresh the worklist priority (a broken promise
raises its case)."""

import uuid
from collections.abc import Sequence
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from app.collection import cases, promises
from app.collection import repository as repo
from app.ledger.cob import on_day_closed
from app.org import repository as org_repo


@on_day_closed
async def day_closed(session: AsyncSession, day: date, company_ids: Sequence[uuid.UUID],
                     contract_ids: Sequence[uuid.UUID] = ()) -> dict[str, int]:
    """Idempotent: a second call for the same day finds nothing to open or close."""
    counts = await cases.open_and_close(session, day, company_ids)
    counts.update(await promises.judge_promises(session, day, company_ids=company_ids))
    zones = await org_repo.company_zones(session, company_ids)
    for zone in {tz.key for _, tz in zones.values()}:
        in_zone = [cid for cid, (_, tz) in zones.items() if tz.key == zone]
        counts["reprioritised"] = counts.get("reprioritised", 0) + await repo.refresh_priority(
            session, day, company_ids=in_zone, zone=zone)
    return counts
