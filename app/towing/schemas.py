"""Tow requests, tasks and registrations as the API states them (schema names prefixed `Tow`)."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.approvals.schemas import CLIENT_REF, RequestOutBase, RequestState
from app.collection.log_schemas import Latitude, Longitude
from app.core.types import Bool, BusinessDate, Float, Money, MultilineText, PositiveMoney, Text, Timestamp
from app.core.updates import documents_not_null
from app.ledger.read_schemas import BucketName
from app.towing.models import TowRequest

ConditionState = Literal["ok", "damaged", "missing"]
TaskState = Literal["open", "assigned", "registered", "cancelled"]
MAX_PHOTOS = 30


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class TowRequestCreate(_In):
    client_ref: uuid.UUID | None = CLIENT_REF
    contract_id: uuid.UUID = Field(description="An active contract whose scope covers the caller, or whose open "
                                               "case the caller holds")
    machine_id: uuid.UUID = Field(description="One of the contract's machines")
    reason: MultilineText(2000, min_length=1)
    location: Text(500, min_length=1) = Field(description="Where the machine is believed to be")
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    override_reason: MultilineText(2000) | None = Field(
        None, description="Required while a promise to pay is pending on the contract (else 409 `promise.hold`), and "
                          "below the company's minimum days past due, where only a filer holding "
                          "`tow.override_min_dpd` may give it (else 409 `tow.below_minimum_dpd`)")
    submit: Bool = Field(False, description="Submit to approval at once (else a draft)")


class TowRequestUpdate(_In):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True,
                              json_schema_extra=documents_not_null(TowRequest))
    reason: MultilineText(2000, min_length=1) | None = None
    location: Text(500, min_length=1) | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    override_reason: MultilineText(2000) | None = None


class TowRequestOut(RequestOutBase):
    contract_id: uuid.UUID
    machine_id: uuid.UUID
    reason: str
    location: str
    latitude: float | None
    longitude: float | None
    override_reason: str | None
    dpd: int = Field(description="The contract's days past due when the request was filed or last submitted")
    bucket: BucketName = Field(description="Its aging bucket then")
    overdue_amount: Money = Field(description="Its overdue amount then")
    min_dpd: int = Field(description="The company's minimum days past due for a tow then (below it: overridden)")


class TowTaskAssign(_In):
    assignee_id: uuid.UUID | None = Field(None, description="A user of the task's company holding tow.register")
    towing_company: Text(200, min_length=1) | None = Field(None, description="Or an outside towing company, by name")


class TowTaskOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    company_id: uuid.UUID
    contract_id: uuid.UUID
    machine_id: uuid.UUID
    request_id: uuid.UUID
    state: TaskState
    assignee_id: uuid.UUID | None
    towing_company: str | None
    assigned_at: datetime | None
    cancel_reason: str | None
    created_at: datetime
    updated_at: datetime


class TowConditionItem(_In):
    state: ConditionState
    note: MultilineText(1000) | None = None


class TowCondition(_In):
    exterior: TowConditionItem
    engine: TowConditionItem
    hydraulics: TowConditionItem
    undercarriage_tyres: TowConditionItem
    cab: TowConditionItem
    attachments: TowConditionItem
    keys: TowConditionItem


class TowRegistrationCreate(_In):
    task_id: uuid.UUID
    towed_at: Timestamp
    place: Text(500, min_length=1) = Field(description="Where the machine was picked up")
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    yard: Text(200, min_length=1) = Field(description="The storage yard")
    yard_latitude: Latitude
    yard_longitude: Longitude
    hour_meter: Float = Field(ge=0, le=1_000_000, description="Hour-meter reading, hours")
    condition: TowCondition
    photo_ids: list[uuid.UUID] = Field(min_length=1, max_length=MAX_PHOTOS,
                                       description="Uploaded attachments (at least one photo)")
    cost: PositiveMoney = Field(description="The tow cost, posted to the contract as a charge")


class TowRegistrationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    company_id: uuid.UUID
    task_id: uuid.UUID
    contract_id: uuid.UUID
    machine_id: uuid.UUID
    registered_by_id: uuid.UUID
    towed_at: datetime
    place: str
    latitude: float | None
    longitude: float | None
    yard: str
    yard_latitude: float
    yard_longitude: float
    hour_meter: float
    condition: TowCondition
    cost: Money
    charge_entry_id: uuid.UUID | None
    created_at: datetime


class TowRequestFilters(BaseModel):
    status: RequestState | None = None
    company_id: uuid.UUID | None = None
    contract_id: uuid.UUID | None = None
    requester_id: uuid.UUID | None = None
    created_from: BusinessDate | None = None
    created_to: BusinessDate | None = None
    mine: bool = False
