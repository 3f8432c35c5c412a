"""Integration events: what ERP, BI and messaging systems follow without polling.

Any area publishes an event in its own transaction with `publish(...)` (one row) or
`publish_from(...)` (set-based: INSERT ... SELECT, for the close of business's batches). The rows
are the outbox: an event exists only if the change that caused it committed. Consumers (webhooks)
register with `on_published` and are called in the same transaction with the new events' ids, so
their fan-out is written, and their delivery jobs queued (core.queue), atomically with the change.

`ordering_key` names what the events must stay in order for (the contract, for most): deliveries
of one subscription with the same key go out in `seq` order.

Core knows the event types (a catalogue clients subscribe to), not the areas that publish them.
"""

import json
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Identity, Index, Select, String, func, insert, literal, select
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, utcnow
from app.core.scoping import ScopeSpec, scoped

# The catalogue: every type a subscription may name. Publishing an unknown type is a programming
# error (a typo would silently reach nobody).
EVENT_TYPES: dict[str, str] = {
    "payment.recorded": "A payment was recorded on a contract",
    "payment.reversed": "A payment was reversed",
    "charge.posted": "A charge (GPS fee, tow cost, freight...) was posted on a contract",
    "contract.approved": "A contract was approved",
    "contract.shipped": "A contract's machines were shipped: its receivable starts",
    "contract.settled": "A contract was settled early",
    "collection_case.opened": "A collection case was opened for an overdue contract",
    "collection_case.assigned": "A collection case was assigned to (or taken from) a collector",
    "collection_case.closed": "A collection case was closed (cured or settled)",
    "promise.broken": "A promise to pay was broken",
    "approval.completed": "An approval request was approved or rejected",
    "device_command.acknowledged": "A GPS device acknowledged a command (lock, unlock)",
    "device_command.failed": "A command to a GPS device failed",
}


@scoped(lambda m: ScopeSpec(group=m.group_id, company=m.company_id))
class IntegrationEvent(Base):
    """One published event (the outbox). `seq` orders events as they were written."""

    __tablename__ = "integration_event"
    __table_args__ = (Index("ix_integration_event_group_id_seq", "group_id", "seq"),)

    seq: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID, unique=True, server_default=func.gen_random_uuid())
    group_id: Mapped[uuid.UUID] = mapped_column(UUID)
    company_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    event_type: Mapped[str] = mapped_column(String(60))
    ordering_key: Mapped[str] = mapped_column(String(100))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


Consumer = Callable[[AsyncSession, Sequence[uuid.UUID]], Awaitable[None]]
_consumers: list[Consumer] = []


def on_published(consumer: Consumer) -> Consumer:
    """Register `consumer(session, event_ids)`, called in the publishing transaction (a decorator)."""
    _consumers.append(consumer)
    return consumer


def _known(event_type: str) -> None:
    if event_type not in EVENT_TYPES:
        raise KeyError(f"unknown integration event type {event_type!r}")


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    # JSON as a receiver reads it: decimals and dates as strings, ids as strings.
    return json.loads(json.dumps(data, default=str))


async def _published(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    ids = list(ids)
    if ids:
        for consumer in _consumers:
            await consumer(session, ids)
    return ids


async def publish(session: AsyncSession, event_type: str, data: dict[str, Any], *, group_id: uuid.UUID,
                  ordering_key: object, company_id: uuid.UUID | None = None) -> uuid.UUID:
    """Write one event in the caller's transaction; returns its id (the `webhook-id` receivers see)."""
    _known(event_type)
    stmt = insert(IntegrationEvent).values(group_id=group_id, company_id=company_id, event_type=event_type,
                                           ordering_key=str(ordering_key), data=_plain(data), occurred_at=utcnow())
    event_id = (await session.execute(stmt.returning(IntegrationEvent.id))).scalar_one()
    await _published(session, [event_id])
    return event_id


async def publish_from(session: AsyncSession, event_type: str, source: Select[Any]) -> list[uuid.UUID]:
    """Set-based: one event per row of `source`, whose columns are labelled `group_id`,
    `company_id`, `ordering_key` (text) and `data` (jsonb), in the source's order."""
    _known(event_type)
    sub = source.subquery("source")
    stmt = insert(IntegrationEvent).from_select(
        ["group_id", "company_id", "event_type", "ordering_key", "data", "occurred_at"],
        select(sub.c.group_id, sub.c.company_id, literal(event_type, String(60)), sub.c.ordering_key, sub.c.data,
               literal(utcnow(), DateTime(timezone=True))))
    return await _published(session, list((await session.execute(stmt.returning(IntegrationEvent.id))).scalars()))
