"""What reports do at the close of business: on a month's last day (every calendar day is a
business day for the close of business, so that is the month's last business day), snapshot each
open account's bucket for the roll rates (registered with the ledger's close of business)."""

import uuid
from collections.abc import Sequence
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from app.ledger.cob import on_day_closed
from app.reports import repository as repo
from app.reports.service import is_month_end


@on_day_closed
async def month_end_snapshot(session: AsyncSession, day: date, company_ids: Sequence[uuid.UUID],
                             contract_ids: Sequence[uuid.UUID] = ()) -> int:
    """Set-based and idempotent (see `repository.snapshot_month_end`); by company, like the day's
    judgement: accounts a payment already brought to the day are snapshotted too."""
    if not is_month_end(day) or not company_ids:
        return 0
    return await repo.snapshot_month_end(session, day, company_ids)
