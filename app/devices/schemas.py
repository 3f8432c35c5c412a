import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.approvals.schemas import CLIENT_REF, RequestOutBase
from app.core.types import Bool, Money, MultilineText
from app.core.updates import documents_not_null
from app.devices.models import LockRequest, UnlockRequest


class CommandState(StrEnum):
    """Where a device command stands; one named type for generated clients."""

    QUEUED = "queued"
    WAITING_SAFE = "waiting_safe"
    SENT = "sent"
    ACKNOWLEDGED = "acknowledged"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    SUPERSEDED = "superseded"


CommandAction = Literal["lock", "unlock"]
LockState = Literal["unlocked", "locked"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _MachineRequestIn(_In):
    client_ref: uuid.UUID | None = CLIENT_REF
    contract_id: uuid.UUID = Field(description="A contract whose scope covers the caller, or whose open case "
                                               "the caller holds")
    machine_id: uuid.UUID = Field(description="One of the contract's machines, with a GPS device")
    reason: MultilineText(2000, min_length=1)
    submit: Bool = Field(False, description="Submit to approval at once (else a draft)")


class LockRequestIn(_MachineRequestIn):
    override_reason: MultilineText(2000) | None = Field(
        None, description="Required while a promise to pay is pending on the contract (else 409 `promise.hold`)")


class UnlockRequestIn(_MachineRequestIn):
    pass


class LockRequestUpdate(_In):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True,
                              json_schema_extra=documents_not_null(LockRequest))
    reason: MultilineText(2000, min_length=1) | None = None
    override_reason: MultilineText(2000) | None = None


class UnlockRequestUpdate(_In):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True,
                              json_schema_extra=documents_not_null(UnlockRequest))
    reason: MultilineText(2000, min_length=1) | None = None


class _MachineRequestOut(RequestOutBase):
    contract_id: uuid.UUID
    machine_id: uuid.UUID
    reason: str


class LockRequestOut(_MachineRequestOut):
    override_reason: str | None


class UnlockRequestOut(_MachineRequestOut):
    payment_entry_id: uuid.UUID | None = Field(description="The latest payment when the request was created")
    payment_amount: Money | None
    payment_date: date | None


class LatestPaymentOut(BaseModel):
    entry_id: uuid.UUID
    amount: Money
    value_date: date
    method: str | None


class FormMachineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    serial_number: str
    model: str
    gps_device_id: str | None
    lock_state: LockState
    lock_state_at: datetime | None
    last_speed_kmh: float | None
    last_position_at: datetime | None


class UnlockFormOut(BaseModel):
    """What the unlock form shows: the latest payment that stands, and each machine's lock state."""

    contract_id: uuid.UUID
    contract_state: str
    latest_payment: LatestPaymentOut | None
    machines: list[FormMachineOut]


class TransitionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    from_state: CommandState | None
    to_state: CommandState
    at: datetime
    answer: dict[str, Any] | None = Field(description="What the provider answered, as it answered")
    note: str | None


class DeviceCommandOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    company_id: uuid.UUID
    contract_id: uuid.UUID
    machine_id: uuid.UUID
    requester_id: uuid.UUID
    request_kind: Literal["lock_request", "unlock_request"]
    request_id: uuid.UUID
    action: CommandAction
    seq: int = Field(description="The machine's command sequence: a newer command supersedes the older ones")
    state: CommandState
    device_id: str
    expires_at: datetime
    sent_at: datetime | None
    finished_at: datetime | None
    created_at: datetime
    updated_at: datetime


class DeviceCommandDetail(DeviceCommandOut):
    transitions: list[TransitionOut]


class CallbackOut(BaseModel):
    event_id: str
    applied: bool = Field(description="False for an event id already applied (a provider's retry)")
    outcome: str
