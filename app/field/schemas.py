"""The field contract's shapes: only what the phone shows. Once released (openapi/
mobile-v1.released.json) they only grow: new optional fields, never a removed or retyped one."""

import uuid
from datetime import date, datetime
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from app.approvals.schemas import RequestState
from app.collection.schemas import ContactCard, PromiseState, ReleasedTimelineEvent, TimelineEvent
from app.core.types import Money
from app.ledger.rules import Bucket
from app.notifications.router import NotificationOut
from app.towing.schemas import TowTaskOut

T = TypeVar("T")


class FieldPromise(BaseModel):
    amount: Money
    promised_date: date
    state: PromiseState


class FieldLastLog(BaseModel):
    id: uuid.UUID
    action: str
    result: str
    occurred_at: datetime


class FieldCase(BaseModel):
    """A case of my worklist: the customer, the money overdue, the active promise and the last log."""

    id: uuid.UUID
    contract_id: uuid.UUID
    contract_number: str
    customer_id: uuid.UUID
    customer_name: str
    dpd: int
    bucket: Bucket
    overdue_amount: Money
    priority: int
    next_action_date: date | None
    last_contact_at: datetime | None
    active_promise: FieldPromise | None
    last_log: FieldLastLog | None
    contacts: list[ContactCard] | None = Field(
        None, description="The customer's contacts to call, full numbers on my open cases (the worklist and the "
                          "case; the sync carries them with the customer)")


class FieldContract(BaseModel):
    id: uuid.UUID
    number: str
    price: Money
    down_payment: Money
    term_months: int
    first_due_date: date


class FieldSchedule(BaseModel):
    """Where the contract's schedule stands on `as_of` (null before the machine shipped)."""

    as_of: date
    instalments: int
    paid: int
    overdue: int = Field(description="Overdue or partially paid after their due date")
    next_due_date: date | None = Field(description="The earliest instalment not yet paid")


class FieldCaseDetail(FieldCase):
    contract: FieldContract
    schedule: FieldSchedule | None
    recent: list[ReleasedTimelineEvent] = Field(
        description="The case's latest assignments, logs, promises, payments and messages, newest first (at most "
                    "10): the kinds the released contract knows")
    activity: list[TimelineEvent] = Field(
        description="The case's latest events of every kind, newest first (at most 10): `recent`'s and the "
                    "requests and device commands on its contract")


class FieldCustomer(BaseModel):
    """A customer of one of my open cases, with the contacts I may call."""

    id: uuid.UUID
    name: str
    kind: str
    addresses: list[str]
    contacts: list[ContactCard]


class FieldLog(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    action: str
    result: str
    notes: str | None
    contact_id: uuid.UUID | None
    occurred_at: datetime
    recorded_at: datetime
    attachment_ids: list[uuid.UUID]
    evidence_mismatch: bool
    voided_at: datetime | None
    promise: FieldPromise | None


class FieldRequest(BaseModel):
    """One of my requests, whatever its kind, with where its approval stands."""

    id: uuid.UUID
    client_ref: uuid.UUID | None
    kind: str = Field(description="interest-waiver, tow, settlement (lock, unlock)")
    contract_id: uuid.UUID
    status: RequestState
    amount: Money | None = Field(description="The amount asked, for kinds that have one")
    approval_id: uuid.UUID | None
    created_at: datetime
    submitted_at: datetime | None
    approved_at: datetime | None


class FieldApproval(BaseModel):
    """An approval waiting on me."""

    id: uuid.UUID
    request_type: str
    request_id: uuid.UUID
    title: str
    submitter_id: uuid.UUID
    submitted_at: datetime
    waiting_since: datetime | None


class Changes(BaseModel, Generic[T]):
    upserted: list[T] = Field(default_factory=list)
    deleted: list[uuid.UUID] = Field(default_factory=list, description="Ids the phone must drop")


class SyncChanges(BaseModel):
    cases: Changes[FieldCase] = Field(default_factory=Changes[FieldCase])
    customers: Changes[FieldCustomer] = Field(default_factory=Changes[FieldCustomer])
    logs: Changes[FieldLog] = Field(default_factory=Changes[FieldLog])
    requests: Changes[FieldRequest] = Field(default_factory=Changes[FieldRequest])
    tow_tasks: Changes[TowTaskOut] = Field(default_factory=Changes[TowTaskOut])
    approvals: Changes[FieldApproval] = Field(default_factory=Changes[FieldApproval])
    notifications: Changes[NotificationOut] = Field(default_factory=Changes[NotificationOut])


class SyncOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"description": "What changed for me since the cursor"})

    changes: SyncChanges
    cursor: str = Field(description="Pass it to the next sync (opaque, signed)")
    has_more: bool = Field(description="More changes wait: sync again at once with `cursor`")
    mode: Literal["snapshot", "changes"] = Field(
        description="`snapshot`: a full snapshot (no cursor, or a continuation of one): replace what the phone "
                    "holds once the last page (has_more false) arrived; `changes`: apply on top")
