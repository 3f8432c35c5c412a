"""The messages the close of business sends, for the companies whose day closed: payment reminders
(N days before an instalment falls due, the template's N), overdue notices (cases opened today),
broken-promise notices (promises judged broken today) and settlement confirmations. Set-based and
idempotent: each message has a key (instalment, case, promise, contract) and is queued once.

Registered after collections' hook (app/domains.py imports this later), so today's cases and
judged promises exist when it runs."""

import uuid
from collections.abc import Sequence
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from app.ledger.cob import on_day_closed
from app.messages import delivery
from app.messages import repository as repo


@on_day_closed
async def day_closed(session: AsyncSession, day: date, company_ids: Sequence[uuid.UUID],
                     contract_ids: Sequence[uuid.UUID] = ()) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name, queue_them in (("reminders", repo.queue_reminders), ("overdue_notices", repo.queue_overdue_notices),
                             ("broken_promise_notices", repo.queue_broken_promise_notices),
                             ("settlement_confirmations", repo.queue_settlement_confirmations)):
        queued = await queue_them(session, day, company_ids)
        await delivery.enqueue(session, queued)
        counts[name] = len(queued)
    return counts
