"""Every query of webhooks: subscriptions through `readable()`/`writable()`, deliveries through
their subscription, and the set-based fan-out of new events."""

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, and_, delete, exists, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.core.events import IntegrationEvent
from app.core.principal import Principal
from app.core.scoping import readable
from app.webhooks.models import WebhookDelivery, WebhookSubscription


def subscriptions(principal: Principal) -> Select[Any]:
    return readable(principal, WebhookSubscription)


def deliveries_of(subscription_id: uuid.UUID, state: str | None = None) -> Select[Any]:
    """A subscription's delivery log (the caller has read the subscription in scope)."""
    stmt = select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id)
    return stmt if state is None else stmt.where(WebhookDelivery.state == state)


async def delivery_of(session: AsyncSession, subscription_id: uuid.UUID, delivery_id: uuid.UUID
                      ) -> WebhookDelivery | None:
    return await session.scalar(select(WebhookDelivery).where(
        WebhookDelivery.id == delivery_id, WebhookDelivery.subscription_id == subscription_id))


async def fan_out(session: AsyncSession, event_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """One delivery per new event per active subscription of its group that wants its type, in
    the events' order. Set-based; returns the deliveries' ids."""
    e, s = IntegrationEvent, WebhookSubscription
    source = (select(func.gen_random_uuid(), s.id, e.id, e.event_type, e.ordering_key)
              .join(s, and_(s.group_id == e.group_id, s.active.is_(True), e.event_type == func.any(s.event_types)))
              .where(e.id.in_(list(event_ids))).order_by(e.seq, s.id))
    stmt = (insert(WebhookDelivery)
            .from_select(["id", "subscription_id", "event_id", "event_type", "ordering_key"], source)
            .returning(WebhookDelivery.id))
    return list((await session.execute(stmt)).scalars())


async def redelivery(session: AsyncSession, original: WebhookDelivery) -> uuid.UUID:
    stmt = insert(WebhookDelivery).values(
        id=uuid.uuid4(), subscription_id=original.subscription_id, event_id=original.event_id,
        event_type=original.event_type, ordering_key=original.ordering_key, redelivery_of_id=original.id)
    return (await session.execute(stmt.returning(WebhookDelivery.id))).scalar_one()


async def lock_delivery(session: AsyncSession, delivery_id: uuid.UUID) -> Any:
    """The delivery (locked), its subscription and its event; None when it is gone."""
    return (await session.execute(
        select(WebhookDelivery, WebhookSubscription, IntegrationEvent)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .join(IntegrationEvent, IntegrationEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.id == delivery_id).with_for_update(of=WebhookDelivery))).first()


async def earlier_pending(session: AsyncSession, delivery: WebhookDelivery) -> bool:
    """Is an earlier delivery of the same subscription and ordering key still pending? (Then this
    one waits: the earlier one queues it when it is done.)"""
    d = WebhookDelivery
    return bool(await session.scalar(select(exists().where(
        d.subscription_id == delivery.subscription_id, d.ordering_key == delivery.ordering_key,
        d.state == "pending", d.seq < delivery.seq))))


async def next_pending(session: AsyncSession, delivery: WebhookDelivery) -> uuid.UUID | None:
    d = WebhookDelivery
    return await session.scalar(select(d.id).where(
        d.subscription_id == delivery.subscription_id, d.ordering_key == delivery.ordering_key,
        d.state == "pending", d.seq > delivery.seq).order_by(d.seq).limit(1))


async def lane_heads(session: AsyncSession, subscription_id: uuid.UUID) -> list[uuid.UUID]:
    """The oldest pending delivery of each ordering key of a subscription."""
    d, earlier = WebhookDelivery, aliased(WebhookDelivery)
    stmt = select(d.id).where(d.subscription_id == subscription_id, d.state == "pending", ~exists().where(
        earlier.subscription_id == d.subscription_id, earlier.ordering_key == d.ordering_key,
        earlier.state == "pending", earlier.seq < d.seq)).order_by(d.seq)
    return list((await session.execute(stmt)).scalars())




async def purge(session: AsyncSession, before: Any) -> tuple[int, int]:
    """Deliveries no longer pending and created before `before`, then events before it that no
    delivery names any more (a disabled subscription's pending deliveries keep theirs)."""
    d = WebhookDelivery
    deliveries = await session.execute(delete(d).where(d.created_at < before, d.state != "pending"))
    e = IntegrationEvent
    events_ = await session.execute(delete(e).where(e.occurred_at < before, ~exists().where(d.event_id == e.id)))
    return deliveries.rowcount or 0, events_.rowcount or 0


async def reassign_subscriptions(session: AsyncSession, group_id: uuid.UUID, from_user_id: uuid.UUID,
                                 to_user_id: uuid.UUID) -> int:
    """Every subscription one user owns to another (a handover), in one statement."""
    result = await session.execute(
        update(WebhookSubscription).where(WebhookSubscription.group_id == group_id,
                                          WebhookSubscription.owner_id == from_user_id)
        .values(owner_id=to_user_id, version=WebhookSubscription.version + 1)
        .execution_options(synchronize_session="fetch"))
    return result.rowcount or 0  # type: ignore[attr-defined]
