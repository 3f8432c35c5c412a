"""Webhook subscriptions, their delivery log and redelivery (/api/v1). Thin."""

import uuid
from typing import Annotated, Any

from fastapi import Path, Query, Request, Response

from app.core.etag import check_if_match, declares, set_etag, set_location
from app.core.events import EVENT_TYPES
from app.core.idempotency import Idempotent
from app.core.pagination import Page, PageQuery, SortKey, paginate
from app.core.principal import Requires
from app.core.routers import api_router
from app.core.routing import Session
from app.core.scoping import get_readable, get_writable
from app.webhooks import repository as repo
from app.webhooks import service
from app.webhooks.errors import WebhookDeliveryNotFound, WebhookSubscriptionNotFound
from app.webhooks.models import WebhookDelivery, WebhookSubscription
from app.webhooks.permissions import WEBHOOK_MANAGE
from app.webhooks.schemas import (
    DeliveryOut,
    DeliveryState,
    EventTypeOut,
    SubscriptionCreate,
    SubscriptionOut,
    SubscriptionUpdate,
    SubscriptionWithSecret,
)

router = api_router(tags=["webhooks"])
Manager = Requires(WEBHOOK_MANAGE)
SubscriptionId = Annotated[uuid.UUID, Path()]
DeliveryId = Annotated[uuid.UUID, Path()]
NEWEST = SortKey("-created_at", WebhookSubscription.created_at, True)
LATEST_DELIVERIES = SortKey("-seq", WebhookDelivery.seq, True)
PATH = "/webhook-subscriptions"


async def _subscription(session: Session, principal: Any, subscription_id: uuid.UUID, *,
                        write: bool = False) -> WebhookSubscription:
    get = get_writable if write else get_readable
    return await get(session, principal, WebhookSubscription, subscription_id, code=WebhookSubscriptionNotFound.code)


@router.get("/webhook-event-types", response_model=list[EventTypeOut], operation_id="list_webhook_event_types",
            summary="The integration events a subscription may name")
async def list_event_types(principal: Manager) -> Any:
    return [EventTypeOut(type=name, description=text) for name, text in EVENT_TYPES.items()]


@router.get(PATH, response_model=Page[SubscriptionOut], operation_id="list_webhook_subscriptions",
            summary="List webhook subscriptions, newest first")
async def list_subscriptions(session: Session, principal: Manager, page: PageQuery) -> Any:
    rows, cursor = await paginate(session, repo.subscriptions(principal), page, NEWEST, WebhookSubscription.id)
    return Page[SubscriptionOut](items=[SubscriptionOut.model_validate(r) for r in rows], next_cursor=cursor)


@router.post(PATH, response_model=SubscriptionWithSecret, status_code=201, operation_id="create_webhook_subscription",
             summary="Subscribe a URL to events; the signing secret is in this answer only",
             dependencies=[Idempotent])
@declares(etag=True, location=True)
async def create_subscription(session: Session, principal: Manager, body: SubscriptionCreate,
                              response: Response) -> Any:
    sub = await service.create(session, principal, body)
    set_location(response, f"/api/v1{PATH}/{sub.id}", sub.version)
    return SubscriptionWithSecret.model_validate(sub)


@router.get(PATH + "/{subscription_id}", response_model=SubscriptionOut, operation_id="get_webhook_subscription",
            summary="Get webhook subscription")
@declares(etag=True)
async def get_subscription(session: Session, principal: Manager, subscription_id: SubscriptionId,
                           response: Response) -> Any:
    sub = await _subscription(session, principal, subscription_id)
    set_etag(response, sub.version)
    return SubscriptionOut.model_validate(sub)


@router.patch(PATH + "/{subscription_id}", response_model=SubscriptionOut, operation_id="update_webhook_subscription",
              summary="Change URL, events or description; deactivate or re-activate")
@declares(etag=True, if_match=True)
async def update_subscription(session: Session, principal: Manager, subscription_id: SubscriptionId,
                              body: SubscriptionUpdate, request: Request, response: Response) -> Any:
    sub = await _subscription(session, principal, subscription_id, write=True)
    check_if_match(request, sub.version)
    sub = await service.update(session, principal, sub, body)
    set_etag(response, sub.version)
    return SubscriptionOut.model_validate(sub)


@router.post(PATH + "/{subscription_id}/rotate-secret", response_model=SubscriptionWithSecret,
             operation_id="rotate_webhook_secret", dependencies=[Idempotent],
             summary="A new signing secret (shown only now); the previous one also signs for a day")
@declares(etag=True, if_match=True)
async def rotate_secret(session: Session, principal: Manager, subscription_id: SubscriptionId,
                        request: Request, response: Response) -> Any:
    sub = await _subscription(session, principal, subscription_id, write=True)
    check_if_match(request, sub.version)
    sub = await service.rotate_secret(session, principal, sub)
    set_etag(response, sub.version)
    return SubscriptionWithSecret.model_validate(sub)


@router.get(PATH + "/{subscription_id}/deliveries", response_model=Page[DeliveryOut],
            operation_id="list_webhook_deliveries", summary="The subscription's delivery log, newest first")
async def list_deliveries(session: Session, principal: Manager, subscription_id: SubscriptionId, page: PageQuery,
                          state: Annotated[DeliveryState | None, Query()] = None) -> Any:
    sub = await _subscription(session, principal, subscription_id)
    rows, cursor = await paginate(session, repo.deliveries_of(sub.id, state), page, LATEST_DELIVERIES,
                                  WebhookDelivery.id)
    return Page[DeliveryOut](items=[DeliveryOut.model_validate(r) for r in rows], next_cursor=cursor)


@router.post(PATH + "/{subscription_id}/deliveries/{delivery_id}/redeliver", response_model=DeliveryOut,
             status_code=202, operation_id="redeliver_webhook", dependencies=[Idempotent],
             summary="Send the delivery's event again (a new delivery, after what is pending for its contract)")
async def redeliver(session: Session, principal: Manager, subscription_id: SubscriptionId,
                    delivery_id: DeliveryId) -> Any:
    sub = await _subscription(session, principal, subscription_id, write=True)
    delivery = await repo.delivery_of(session, sub.id, delivery_id)
    if delivery is None:
        raise WebhookDeliveryNotFound(f"No delivery {delivery_id}")
    new_id = await service.redeliver(session, principal, sub, delivery)
    return DeliveryOut.model_validate(await repo.delivery_of(session, sub.id, new_id))
