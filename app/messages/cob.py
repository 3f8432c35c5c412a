"""The messages the close of business sends, for the companies whose day closed: payment reminders
(N days before an instalment falls due, the template's N), overdue notices (cases opened today),
broken-promise notices (promises judged broken today) and settlement confirmations. Set-based and
idempotent: each message has a key (instalment, case, promise, contract) and is queued once.

Registered after collections' hook (app/domains.py imports this later), so today's cases and
judged promises exist when it runs."""

import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from app.ledger.cob import on_day_closed
from app.messages import delivery
from app.messages import repository as repo

KINDS = {"reminders": "payment_reminder", "overdue_notices": "overdue_notice",
         "broken_promise_notices": "promise_broken", "settlement_confirmations": "settlement_confirmation"}


@on_day_closed
async def day_closed(session: AsyncSession, day: date, company_ids: Sequence[uuid.UUID],
                     contract_ids: Sequence[uuid.UUID] = ()) -> dict[str, int]:
    queued = await repo.queue_day(session, day, company_ids)  # one statement
    await delivery.enqueue(session, [(message_id, company_id) for message_id, company_id, _ in queued])
    counts = Counter(kind for _, _, kind in queued)
    return {name: counts[kind] for name, kind in KINDS.items()}
