"""Collection logs and promises to pay as the platform API states them.

A log arrives from a phone that may have been offline: its `id` is the phone's own UUID and the
canonical form of the body (`canonical_body`) is what a retry is compared with."""

import uuid
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.collection.models import ACTIONS, RESULTS
from app.collection.schemas import PromiseState
from app.core.types import BusinessDate, Float, Int, Money, MultilineText, Text, Timestamp

LogAction = StrEnum("LogAction", {a: a for a in ACTIONS})
LogResult = StrEnum("LogResult", {r: r for r in RESULTS})

MAX_ATTACHMENTS = 20
COORDINATE_DECIMALS = 6  # the column's scale (about 0.1 m): a retry rounds to the same value


def _coordinate(value: float) -> float:
    return round(value, COORDINATE_DECIMALS)


Latitude = Annotated[Float, Field(ge=-90, le=90), AfterValidator(_coordinate)]
Longitude = Annotated[Float, Field(ge=-180, le=180), AfterValidator(_coordinate)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class LogPersonIn(_In):
    """Somebody who is not one of the customer's contacts (a neighbour, the site foreman...)."""

    name: Text(100, min_length=1)
    relation: Text(50, min_length=1) = Field(description="Who they are to the customer, e.g. 工地负责人")


class LogLocationIn(_In):
    latitude: Latitude
    longitude: Longitude
    accuracy_m: Int | None = Field(None, ge=0, le=100_000, description="The phone's accuracy estimate, metres")


class LogPromiseIn(_In):
    amount: Money = Field(description="More than 0 (else 422 `promise.invalid`)")
    date: BusinessDate = Field(description="The promised day: from the company's business date to "
                                           "`PROMISE_MAX_DAYS` (90) days after it (else 422 `promise.invalid`)")


class LogCreate(_In):
    id: uuid.UUID = Field(description="The phone's own UUID for the log: uploading it again with the same body "
                                      "answers 200 with the stored log, with another body 409 `log.conflicting_retry`")
    contact_id: uuid.UUID | None = Field(None, description="One of the case customer's contacts; or give `person`")
    person: LogPersonIn | None = Field(None, description="The person contacted when not a contact; or give "
                                                         "`contact_id`")
    action: LogAction
    result: LogResult
    notes: MultilineText(2000) | None = None
    location: LogLocationIn | None = None
    occurred_at: Timestamp = Field(description="When it happened, by the phone's clock (RFC 3339 with a zone): not "
                                               "more than 5 minutes ahead, not before the case was opened")
    attachment_ids: list[uuid.UUID] = Field(default_factory=list, max_length=MAX_ATTACHMENTS,
                                            description="Attachments uploaded for this log (photos, documents)")
    promise: LogPromiseIn | None = Field(None, description="A promise to pay made in this contact")


def canonical_body(case_id: uuid.UUID, body: LogCreate) -> dict[str, Any]:
    """What a retry must repeat: the body as JSON, the time in UTC, and the case it was sent to."""
    data = body.model_dump(mode="json", exclude={"id", "occurred_at"})
    data["occurred_at"] = body.occurred_at.astimezone(UTC).isoformat()
    data["case_id"] = str(case_id)
    return data


class LogVoidIn(_In):
    reason: MultilineText(1000, min_length=1)


class LogPersonOut(BaseModel):
    name: str
    relation: str | None


class LogLocationOut(BaseModel):
    latitude: float
    longitude: float
    accuracy_m: int | None


class PromiseToPayOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    case_id: uuid.UUID
    contract_id: uuid.UUID
    company_id: uuid.UUID
    log_id: uuid.UUID
    collector_id: uuid.UUID
    amount: Money
    created_on: date = Field(description="The business date the promise was logged on")
    promised_date: date
    state: PromiseState = Field(description="pending until judged on its date by the close of business: kept, "
                                            "broken; superseded by a newer promise on the case or a voided log")
    judged_on: date | None
    amount_paid: Money | None = Field(description="Payments from created_on through promised_date, once judged")


class LogOut(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    contract_id: uuid.UUID
    company_id: uuid.UUID
    author_id: uuid.UUID
    contact_id: uuid.UUID | None
    person: LogPersonOut | None
    action: LogAction
    result: LogResult
    notes: str | None
    location: LogLocationOut | None
    occurred_at: datetime
    recorded_at: datetime
    attachment_ids: list[uuid.UUID]
    evidence_mismatch: bool = Field(description="A photo taken too far in time or place from the log (for the "
                                                "dispatcher)")
    voided_at: datetime | None
    voided_by_id: uuid.UUID | None
    void_reason: str | None
    promise: PromiseToPayOut | None = Field(description="The promise made in this contact, if any")
