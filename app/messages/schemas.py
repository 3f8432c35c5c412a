"""Message templates, messages and opt-outs as the API states them."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.core.types import Bool, Int, MultilineText, Text
from app.core.updates import documents_not_null
from app.messages.models import MessageTemplate

TemplateKind = Literal["payment_reminder", "overdue_notice", "promise_broken", "settlement_confirmation"]
MessageKind = Literal["payment_reminder", "overdue_notice", "promise_broken", "settlement_confirmation", "manual"]
Channel = Literal["sms", "email"]
MessageState = Literal["queued", "sent", "failed", "suppressed"]
PLACEHOLDER_HELP = "Placeholders: {customer_name} {contract_number} {amount} {due_date}"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class TemplateCreate(_In):
    kind: TemplateKind
    channel: Channel
    days_before: Int | None = Field(None, ge=0, le=60, description="payment_reminder: days before the due date")
    subject: Text(200) | None = Field(None, description="E-mail only. " + PLACEHOLDER_HELP)
    body: MultilineText(2000, min_length=1) = Field(description=PLACEHOLDER_HELP)
    active: Bool = True

    @model_validator(mode="after")
    def _reminder_days(self) -> "TemplateCreate":
        if (self.kind == "payment_reminder") != (self.days_before is not None):
            raise ValueError("days_before is required for a payment_reminder, and only for it")
        return self


class TemplateUpdate(_In):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True,
                              json_schema_extra=documents_not_null(MessageTemplate))
    days_before: Int | None = Field(None, ge=0, le=60)
    subject: Text(200) | None = None
    body: MultilineText(2000, min_length=1) | None = None
    active: Bool | None = None


class TemplateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    kind: TemplateKind
    channel: Channel
    days_before: int | None
    subject: str | None
    body: str
    active: bool
    created_at: datetime
    updated_at: datetime


class CaseMessageCreate(_In):
    channel: Channel
    kind: MessageKind = Field("manual", description="A template's kind (its text is used unless `body` is given)")
    subject: Text(200) | None = None
    body: MultilineText(2000, min_length=1) | None = Field(None, description="Free text; else the template's. "
                                                           + PLACEHOLDER_HELP)


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    kind: MessageKind
    channel: Channel
    customer_id: uuid.UUID
    contract_id: uuid.UUID | None
    case_id: uuid.UUID | None
    recipient: str | None = Field(description="Masked")
    subject: str | None
    body: str
    state: MessageState
    error: str | None
    not_before: datetime | None = Field(description="Held until then: queued in the quiet hours (21:00-08:00)")
    sent_at: datetime | None
    created_at: datetime


class OptOutIn(_In):
    reason: Text(500) | None = None
