"""A company's business date: the group's date set by hand where one is (outside production, for
demos and black-box tests), else today in the company's time zone (ledger.md "Business date")."""

import uuid
from collections.abc import Iterable
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.business_date import business_date
from app.core.db import utcnow
from app.ledger import repository as repo
from app.org import repository as org_repo


async def business_dates(session: AsyncSession, company_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, date]:
    """The business date of each company (two queries whatever their number)."""
    zones = await org_repo.company_zones(session, company_ids)
    overrides = await repo.business_date_overrides(session, [group_id for group_id, _ in zones.values()])
    now = utcnow()
    return {cid: overrides.get(group_id) or business_date(now, tz) for cid, (group_id, tz) in zones.items()}


async def business_today(session: AsyncSession, company_id: uuid.UUID) -> date:
    return (await business_dates(session, [company_id]))[company_id]
