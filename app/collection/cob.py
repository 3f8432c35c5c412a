"""What collections does at the close of business of each day, for the contracts closed that day
(registered with the ledger's close of business): open cases for contracts newly overdue, close
the cured and settled ones, refresh the worklist priority. Promises are judged here too once their
module registers (`app/collection/promises.py`)."""

import uuid
from collections.abc import Sequence
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from app.collection import cases
from app.collection import repository as repo


async def day_closed(session: AsyncSession, day: date, contract_ids: Sequence[uuid.UUID]) -> dict[str, int]:
    counts = await cases.open_and_close(session, day, contract_ids)
    counts["reprioritised"] = await repo.refresh_priority(session, day, contract_ids=contract_ids)
    return counts
