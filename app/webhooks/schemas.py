"""Webhook subscriptions and deliveries as the API states them."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.events import EVENT_TYPES
from app.core.types import Bool, Text
from app.core.updates import documents_not_null
from app.webhooks.models import WebhookSubscription

EventType = StrEnum("EventType", {name: name for name in EVENT_TYPES})  # type: ignore[misc]
DeliveryState = Literal["pending", "delivered", "failed"]
Url = Text(2000, min_length=8)
EventTypes = list[EventType]  # type: ignore[valid-type]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SubscriptionCreate(_In):
    url: Url = Field(description="https only; not into loopback, private, link-local or reserved addresses")
    description: Text(200) | None = None
    event_types: EventTypes = Field(min_length=1, max_length=len(EVENT_TYPES))
    active: Bool = True


class SubscriptionUpdate(_In):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True,
                              json_schema_extra=documents_not_null(WebhookSubscription))
    url: Url | None = None
    description: Text(200) | None = None
    event_types: EventTypes | None = Field(None, min_length=1, max_length=len(EVENT_TYPES))
    active: Bool | None = Field(None, description="Re-activating sends what is pending, in order")


class SubscriptionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    url: str
    description: str | None
    event_types: list[str]
    active: bool
    disabled_at: datetime | None = Field(description="When persistent failure disabled it")
    disabled_reason: str | None
    owner_id: uuid.UUID
    created_at: datetime
    updated_at: datetime


class SubscriptionWithSecret(SubscriptionOut):
    secret: str = Field(description="Standard Webhooks signing secret (`whsec_...`), shown only now")


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    event_id: uuid.UUID = Field(description="The `webhook-id` header: the same for every attempt and redelivery")
    event_type: str
    ordering_key: str
    state: DeliveryState
    attempts: int
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    last_status: int | None = Field(description="The receiver's HTTP status at the last attempt")
    last_error: str | None
    delivered_at: datetime | None
    redelivery_of_id: uuid.UUID | None
    created_at: datetime


class EventTypeOut(BaseModel):
    type: str
    description: str
