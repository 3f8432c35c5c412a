"""Webhook subscriptions and the delivery of integration events to them.

Rules:
- A subscription's URL passes `endpoint.check_url` when it is saved and before every attempt.
- Each published event becomes one delivery per active subscription of its group that wants its
  type (fan-out in the publishing transaction), and each delivery one job on the durable queue.
- In order per ordering key (the contract): a delivery is attempted only when no earlier delivery
  of the same subscription and key is pending; the earlier one queues the next when it is done.
- At least once: a failed attempt (no 2xx, a timeout, a refused address) is logged on the
  delivery and tried again by a new queue job, with exponential backoff, for `RETRY_FOR` (3 days)
  from the delivery's creation; then the delivery fails, the subscription is disabled and its
  owner notified. Re-activating it sends what is pending, in order.
"""

import base64
import json
import secrets
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks import Webhook

from app.core import audit, queue
from app.core.config import get_settings
from app.core.db import utcnow
from app.core.errors import DomainError
from app.core.events import IntegrationEvent, on_published
from app.core.jobs import periodic
from app.core.principal import Principal
from app.core.updates import apply_changes, changes_of
from app.notifications.service import notify
from app.webhooks import repository as repo
from app.webhooks.endpoint import check_url
from app.webhooks.errors import WebhookSubscriptionInactive
from app.webhooks.models import WebhookDelivery, WebhookSubscription
from app.webhooks.schemas import SubscriptionCreate, SubscriptionUpdate

DELIVER = "webhook.deliver"
RETRY_FOR = timedelta(days=3)
FIRST_RETRY_SECONDS = 30
MAX_RETRY_SECONDS = 6 * 3600
PREVIOUS_SECRET_KEPT = timedelta(days=1)
RETENTION = timedelta(days=30)
AUDITED = ("url", "description", "event_types", "active", "disabled_at", "disabled_reason")


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


# --- subscriptions -----------------------------------------------------------------------------

async def create(session: AsyncSession, principal: Principal, data: SubscriptionCreate) -> WebhookSubscription:
    await check_url(data.url)
    sub = WebhookSubscription(id=uuid.uuid4(), group_id=principal.group_id, owner_id=principal.user_id,
                              url=data.url, description=data.description,
                              event_types=[str(t) for t in data.event_types], active=data.active,
                              secret=new_secret())
    session.add(sub)
    await session.flush()
    audit.record(session, principal, "webhook_subscription.created", "webhook_subscription", sub.id,
                 group_id=sub.group_id, after=audit.snapshot(sub, *AUDITED))
    return sub


async def update(session: AsyncSession, principal: Principal, sub: WebhookSubscription,
                 data: SubscriptionUpdate) -> WebhookSubscription:
    changes = changes_of(data)
    if changes.get("url"):
        await check_url(changes["url"])
    if changes.get("event_types"):
        changes["event_types"] = [str(t) for t in changes["event_types"]]
    was_active = sub.active
    before = audit.snapshot(sub, *AUDITED)
    applied = apply_changes(sub, changes)
    if sub.active and not was_active:
        sub.disabled_at, sub.disabled_reason = None, None
    if applied:
        await session.flush()
        audit.record(session, principal, "webhook_subscription.updated", "webhook_subscription", sub.id,
                     group_id=sub.group_id, before=before, after=audit.snapshot(sub, *AUDITED))
    if sub.active and not was_active:
        for delivery_id in await repo.lane_heads(session, sub.id):
            await queue.enqueue(session, DELIVER, {"delivery_id": str(delivery_id)})
    return sub


async def rotate_secret(session: AsyncSession, principal: Principal, sub: WebhookSubscription) -> WebhookSubscription:
    """A new secret; the previous one keeps signing (a second signature) for a day."""
    sub.previous_secret, sub.previous_secret_until = sub.secret, utcnow() + PREVIOUS_SECRET_KEPT
    sub.secret = new_secret()
    await session.flush()
    audit.record(session, principal, "webhook_subscription.secret_rotated", "webhook_subscription", sub.id,
                 group_id=sub.group_id, after={"previous_secret_until": sub.previous_secret_until.isoformat()})
    return sub


async def redeliver(session: AsyncSession, principal: Principal, sub: WebhookSubscription,
                    delivery: WebhookDelivery) -> uuid.UUID:
    """Send an event again: a new delivery of it, after what is pending on its ordering key."""
    if not sub.active:
        raise WebhookSubscriptionInactive("Activate the subscription first")
    new_id = await repo.redelivery(session, delivery)
    await queue.enqueue(session, DELIVER, {"delivery_id": str(new_id)})
    audit.record(session, principal, "webhook_delivery.redelivered", "webhook_delivery", new_id,
                 group_id=sub.group_id,
                 after={"redelivery_of_id": str(delivery.id), "event_id": str(delivery.event_id)})
    return new_id


# --- fan-out -----------------------------------------------------------------------------------

@on_published
async def fan_out(session: AsyncSession, event_ids: Sequence[uuid.UUID]) -> None:
    for delivery_id in await repo.fan_out(session, event_ids):
        await queue.enqueue(session, DELIVER, {"delivery_id": str(delivery_id)})


# --- delivery ----------------------------------------------------------------------------------

def body_of(event: IntegrationEvent) -> str:
    """The Standard Webhooks payload: type, timestamp, data."""
    return json.dumps({"type": event.event_type, "timestamp": event.occurred_at.isoformat(), "data": event.data},
                      separators=(",", ":"), ensure_ascii=False)


def headers_for(sub: WebhookSubscription, event: IntegrationEvent, body: str, at: datetime) -> dict[str, str]:
    msg_id = str(event.id)
    signatures = [Webhook(sub.secret).sign(msg_id, at, body)]
    if sub.previous_secret and sub.previous_secret_until and sub.previous_secret_until > at:
        signatures.append(Webhook(sub.previous_secret).sign(msg_id, at, body))
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": " ".join(signatures), "content-type": "application/json",
            "user-agent": "Recourse-Webhooks/1"}


async def _post(sub: WebhookSubscription, event: IntegrationEvent) -> tuple[int | None, str | None]:
    """One attempt: (status, error); error None means acknowledged (2xx)."""
    try:
        await check_url(sub.url)
    except DomainError as exc:
        return None, exc.detail or "refused address"
    body, at = body_of(event), utcnow()
    try:
        async with httpx.AsyncClient(timeout=get_settings().webhook_timeout_seconds, follow_redirects=False) as http:
            response = await http.post(sub.url, content=body.encode(), headers=headers_for(sub, event, body, at))
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"HTTP {response.status_code}"


def retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=min(MAX_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2 ** (attempts - 1)))


async def attempt(session: AsyncSession, delivery_id: uuid.UUID) -> None:
    """Try a delivery once (the queue job's work); see the module's rules."""
    row = await repo.lock_delivery(session, delivery_id)
    if row is None:
        return
    delivery, sub, event = row
    if delivery.state != "pending" or not sub.active or await repo.earlier_pending(session, delivery):
        return
    status, error = await _post(sub, event)
    now = utcnow()
    delivery.attempts += 1
    delivery.last_attempt_at, delivery.last_status, delivery.last_error = now, status, error
    if error is None:
        delivery.state, delivery.delivered_at, delivery.next_attempt_at = "delivered", now, None
        await _queue_next(session, delivery)
    elif now + retry_delay(delivery.attempts) - delivery.created_at <= RETRY_FOR:
        delivery.next_attempt_at = now + retry_delay(delivery.attempts)
        await queue.enqueue(session, DELIVER, {"delivery_id": str(delivery.id)},
                            delay=retry_delay(delivery.attempts))
    else:
        await _give_up(session, delivery, sub, error)
    await session.flush()


async def _queue_next(session: AsyncSession, delivery: WebhookDelivery) -> None:
    following = await repo.next_pending(session, delivery)
    if following is not None:
        await queue.enqueue(session, DELIVER, {"delivery_id": str(following)})


async def _give_up(session: AsyncSession, delivery: WebhookDelivery, sub: WebhookSubscription, error: str) -> None:
    delivery.state, delivery.next_attempt_at = "failed", None
    sub.active, sub.disabled_at = False, utcnow()
    sub.disabled_reason = f"Delivery {delivery.id} failed for {RETRY_FOR.days} days: {error}"[:1000]
    await session.flush()
    audit.record(session, None, "webhook_subscription.disabled", "webhook_subscription", sub.id,
                 group_id=sub.group_id, after={"reason": sub.disabled_reason})
    await notify(session, group_id=sub.group_id, user_ids=[sub.owner_id], kind="webhook.disabled",
                 title="Webhook 订阅已停用 / A webhook subscription was disabled",
                 body=f"{sub.url}: {sub.disabled_reason}", entity_type="webhook_subscription", entity_id=sub.id,
                 dedupe_key=f"webhook-disabled:{sub.id}:{delivery.id}")


@periodic("webhooks-purge", every_seconds=6 * 3600)
async def purge_job(session: AsyncSession) -> dict[str, int]:
    """Keep `RETENTION` of delivery log and events (what is still pending stays)."""
    deliveries, events_ = await repo.purge(session, utcnow() - RETENTION)
    return {"deliveries": deliveries, "events": events_}


@queue.handler(DELIVER, max_attempts=8, backoff_seconds=30, max_backoff_seconds=3600)
async def deliver(session: AsyncSession, payload: dict[str, str], attempt_number: int) -> None:
    """Failures of the receiver are handled by `attempt` (logged, queued again); the queue's own
    retries are for ours (the database)."""
    await attempt(session, uuid.UUID(payload["delivery_id"]))
