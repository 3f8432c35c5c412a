"""Demo webhooks: an ERP subscription to the money and contract events (its receiver does not exist,
so its delivery log fills with retries as the demo is used: what a failing integration looks like)
and a BI subscription, switched off. Seeded after the history, so only new events go out."""

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.webhooks.models import WebhookSubscription
from app.webhooks.service import new_secret

SUBSCRIPTIONS = (
    ("https://erp.huadong-machinery.example/recourse/events", "ERP (用友 U8) 收款与合同同步",
     ["payment.recorded", "payment.reversed", "charge.posted", "contract.approved", "contract.shipped",
      "contract.settled"], True),
    ("https://bi.huadong-machinery.example/hooks/collections", "BI 催收看板 (停用)",
     ["collection_case.opened", "collection_case.assigned", "collection_case.closed", "promise.broken"], False),
)


async def seed_webhooks(session: AsyncSession, org: Any) -> int:
    admin = org.users["admin"]
    session.add_all([
        WebhookSubscription(id=uuid.uuid4(), group_id=org.group.id, owner_id=admin.id, url=url, description=text,
                            event_types=types, active=active, secret=new_secret())
        for url, text, types, active in SUBSCRIPTIONS])
    await session.flush()
    return len(SUBSCRIPTIONS)
