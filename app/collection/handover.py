"""What collections hands over when a collector leaves: their open cases move to the receiver, each
with an assignment history row (the handover's reason)."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.collection import repository as repo
from app.collection.models import CollectionCase
from app.core.db import utcnow
from app.org.handover import HandoverContext, register_handover_hook


async def _move_open_cases(session: AsyncSession, ctx: HandoverContext) -> int:
    ids = await repo.open_case_ids_held_by(session, ctx.principal.group_id, ctx.from_user.id)
    at = utcnow()
    await repo.move_cases(session, ids, ctx.to_user.id, at)
    await repo.add_assignments(session, [
        {"id": uuid.uuid4(), "case_id": i, "from_collector_id": ctx.from_user.id,
         "to_collector_id": ctx.to_user.id, "by_id": ctx.principal.user_id, "at": at, "reason": "handover"}
        for i in ids])
    return len(ids)


register_handover_hook("open_collection_cases", _move_open_cases,
                       covers=[(CollectionCase.collector_id, CollectionCase.state == "open")])
