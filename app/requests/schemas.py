import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.approvals.schemas import CLIENT_REF, RequestOutBase
from app.core.types import Bool, BusinessDate, Money, MultilineText, PositiveMoney, Text
from app.core.updates import documents_not_null
from app.requests.models import GpsFeeRequest, InterestWaiver, SettlementRequest

SubmitNow = Field(False, description="Create and submit in one call")


class _RequestOut(RequestOutBase):
    contract_id: uuid.UUID


# --- interest waivers ---------------------------------------------------------------------------

class WaiverIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    client_ref: uuid.UUID | None = CLIENT_REF
    contract_id: uuid.UUID
    amount: PositiveMoney
    reason: MultilineText(2000, min_length=1)
    attachment_ids: list[uuid.UUID] = Field(default_factory=list, max_length=20)
    submit: Bool = SubmitNow


class WaiverUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=documents_not_null(InterestWaiver))
    amount: PositiveMoney | None = None
    reason: MultilineText(2000, min_length=1) | None = None
    attachment_ids: list[uuid.UUID] | None = Field(None, max_length=20)


class WaiverOut(_RequestOut):
    amount: Money
    reason: str
    attachment_ids: list[uuid.UUID]
    unpaid_penalty: Money
    dpd: int
    bucket: str


class WaiverFormOut(BaseModel):
    """What the waiver form shows: the contract's unpaid penalty now."""

    contract_id: uuid.UUID
    unpaid_penalty: Money
    dpd: int
    bucket: str
    payoff: Money


# --- settlement requests ------------------------------------------------------------------------

class SettlementRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    client_ref: uuid.UUID | None = CLIENT_REF
    contract_id: uuid.UUID
    notes: MultilineText(2000) | None = None
    submit: Bool = SubmitNow


class SettlementRequestUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=documents_not_null(SettlementRequest))
    notes: MultilineText(2000) | None = None


class SettlementRequestOut(_RequestOut):
    notes: str | None
    payoff_at_submission: Money | None
    released_documents: list[str] | None
    released_to: str | None
    released_on: date | None
    released_by_id: uuid.UUID | None
    released_at: datetime | None


class SettlementReleaseIn(BaseModel):
    """The release of the invoice and the certificate of conformity (合格证) to the customer."""

    model_config = ConfigDict(extra="forbid")
    documents: list[Text(100, min_length=1)] = Field(min_length=1, max_length=20,
                                                     examples=[["invoice", "certificate_of_conformity"]])
    recipient: Text(200, min_length=1)
    released_on: BusinessDate


# --- GPS service fees ---------------------------------------------------------------------------

GpsFeeKind = Literal["purchase", "renewal"]


class GpsFeeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    client_ref: uuid.UUID | None = CLIENT_REF
    contract_id: uuid.UUID
    machine_id: uuid.UUID
    kind: GpsFeeKind
    period_from: BusinessDate
    period_to: BusinessDate
    amount: PositiveMoney
    notes: MultilineText(2000) | None = None
    submit: Bool = SubmitNow


class GpsFeeUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=documents_not_null(GpsFeeRequest))
    kind: GpsFeeKind | None = None
    period_from: BusinessDate | None = None
    period_to: BusinessDate | None = None
    amount: PositiveMoney | None = None
    notes: MultilineText(2000) | None = None


class GpsFeeOut(_RequestOut):
    machine_id: uuid.UUID
    kind: GpsFeeKind
    period_from: date
    period_to: date
    amount: Money
    notes: str | None
    charge_entry_id: uuid.UUID | None
