"""Collection cases, dispatch and the timeline as the platform API states them."""

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.types import Bool, Int, Money, MultilineText
from app.ledger.rules import Bucket


class CaseState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class PromiseState(StrEnum):
    """pending until its date; then kept (payments reached its amount) or broken; superseded by a newer one."""

    PENDING = "pending"
    KEPT = "kept"
    BROKEN = "broken"
    SUPERSEDED = "superseded"

MAX_BATCH = 500


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OverdueOut(BaseModel):
    principal: Money
    interest: Money
    fee: Money
    penalty: Money


class PromiseSummary(BaseModel):
    id: uuid.UUID
    amount: Money
    promised_date: date
    state: PromiseState
    amount_paid: Money | None


class ContactCard(BaseModel):
    """A contact the case's collector may call: full numbers for the case's own collector, masked
    for everybody else."""

    id: uuid.UUID
    name: str
    relation: str
    mobile: str | None
    office_phone: str | None
    masked: bool


class CaseOut(BaseModel):
    id: uuid.UUID
    state: CaseState
    outcome: Literal["cured", "settled", "written_off", "repossessed"] | None
    company_id: uuid.UUID
    contract_id: uuid.UUID
    contract_number: str
    customer_id: uuid.UUID
    customer_name: str
    collector_id: uuid.UUID | None
    assigned_at: datetime | None
    dpd: int
    bucket: Bucket
    overdue_amount: Money
    overdue: OverdueOut
    outstanding_principal: Money
    as_of: date = Field(description="The business date the money figures are computed through")
    active_promise: PromiseSummary | None
    last_contact_at: datetime | None
    next_action_date: date | None
    priority: int = Field(description="Worklist order, higher first: bucket, then a promise due today or broken, "
                                      "then overdue amount in thousands, then days since the last contact")
    opened_on: date
    closed_on: date | None
    previous_case_id: uuid.UUID | None
    contacts: list[ContactCard] | None = Field(
        default=None, description="The customer's contacts (the worklist and the case's detail)")


class CaseAssignIn(_In):
    case_ids: list[uuid.UUID] = Field(min_length=1, max_length=MAX_BATCH)
    collector_id: uuid.UUID
    reason: MultilineText(500) | None = None


class CaseUnassignIn(_In):
    case_ids: list[uuid.UUID] = Field(min_length=1, max_length=MAX_BATCH)
    reason: MultilineText(500) | None = None


class CaseAutoAssignIn(_In):
    company_id: uuid.UUID
    dry_run: Bool = Field(default=True, description="Preview the plan without changing anything")
    limit: Int = Field(default=MAX_BATCH, ge=1, le=MAX_BATCH)


class CaseAssignmentChange(BaseModel):
    case_id: uuid.UUID
    from_collector_id: uuid.UUID | None
    to_collector_id: uuid.UUID | None


class CaseAssignResult(BaseModel):
    changed: list[CaseAssignmentChange]
    unchanged: list[uuid.UUID] = Field(description="Cases already in the asked state")


class CaseAutoAssignResult(BaseModel):
    dry_run: bool
    rule: str
    plan: list[CaseAssignmentChange]


class AssignmentHistoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    from_collector_id: uuid.UUID | None
    to_collector_id: uuid.UUID | None
    by_id: uuid.UUID | None
    at: datetime
    reason: str | None


# The kinds the released phone contract knows (openapi/mobile-v1.released.json): the phone's `recent`
# keeps to them, so a phone built against it never meets a kind it cannot decode.
RELEASED_TIMELINE_KINDS = ("assignment", "log", "promise", "payment", "message")
TIMELINE_DOC = (
    "`message`: an SMS or e-mail to the customer (messages area); `waiver`, `tow`, `settlement`, `lock`, "
    "`unlock`: a request on the case's contract once submitted, at its submission, `detail.status` where it "
    "stands; `device_command`: a lock or unlock command toward the machine, `detail.state` where its life "
    "stands. Money in `detail` is a decimal string")


class TimelineEvent(BaseModel):
    at: datetime
    kind: Literal["assignment", "log", "promise", "payment", "message", "waiver", "tow", "settlement", "lock",
                  "unlock", "device_command"] = Field(description=TIMELINE_DOC)
    id: uuid.UUID
    detail: dict[str, Any]


class ReleasedTimelineEvent(TimelineEvent):
    """A timeline event of the kinds the released phone contract knows."""

    kind: Literal["assignment", "log", "promise", "payment", "message"] = Field(
        description="`message`: an SMS or e-mail to the customer (messages area)")
