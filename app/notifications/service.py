"""Notifications: the one way any area tells a user something."""

import uuid
from collections.abc import Iterable

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import utcnow
from app.notifications.models import Notification


async def notify(
    session: AsyncSession,
    *,
    group_id: uuid.UUID,
    user_ids: Iterable[uuid.UUID],
    kind: str,
    title: str,
    body: str | None = None,
    entity_type: str | None = None,
    entity_id: object = None,
    dedupe_key: str | None = None,
) -> int:
    """Queue a notification per user; with `dedupe_key` a repeat for the same user is ignored."""
    rows = [
        {
            "id": uuid.uuid4(), "group_id": group_id, "user_id": uid, "kind": kind, "title": title, "body": body,
            "entity_type": entity_type, "entity_id": None if entity_id is None else str(entity_id),
            "dedupe_key": f"{dedupe_key}:{uid}" if dedupe_key else None, "created_at": utcnow(),
        }
        for uid in dict.fromkeys(user_ids)
    ]
    if not rows:
        return 0
    result = await session.execute(insert(Notification).values(rows).on_conflict_do_nothing())
    return result.rowcount or 0
