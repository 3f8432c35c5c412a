import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from app.core.types import Bool, MultilineText, Text

ID_LIST_MAX = 50

CLIENT_REF = Field(None, description="The client's own id for a record created offline; uploading it again "
                   "with the same body returns the existing record (200), with another body 409 "
                   "`request.conflicting_retry`")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RoleInCompanyRule(_In):
    """Holders of the role working in the request's company."""

    kind: Literal["role_in_company"]
    role_id: uuid.UUID


class RoleAnyCompanyRule(_In):
    """Holders of the role in any company of the group (cross-company approval)."""

    kind: Literal["role_any_company"]
    role_id: uuid.UUID


class UsersRule(_In):
    kind: Literal["users"]
    user_ids: list[uuid.UUID] = Field(min_length=1, max_length=ID_LIST_MAX)


class DepartmentHeadRule(_In):
    """The head of the submitter's department."""

    kind: Literal["department_head"]


class ManagerRule(_In):
    """The submitter's manager."""

    kind: Literal["manager"]


class AdministratorsRule(_In):
    """The group's system administrators."""

    kind: Literal["administrators"]


Rule = Annotated[
    RoleInCompanyRule | RoleAnyCompanyRule | UsersRule | DepartmentHeadRule | ManagerRule | AdministratorsRule,
    Field(discriminator="kind"),
]


class StepIn(_In):
    name: Text(100, min_length=1)
    rule: Rule
    mode: Literal["any", "all"] = Field("any", description="any: one approver suffices; all: countersign")
    condition: Text(500) | None = Field(
        None,
        description="Optional condition on the request's fields, e.g. `amount > 1000 and amount <= 5000`, "
                    "`company in [C01, C02]`. The step applies only when it holds.")


class FlowCreate(_In):
    request_type: Text(60, min_length=1, pattern=r"^[a-z][a-z0-9_]*$")
    company_id: uuid.UUID | None = Field(None, description="Omit for the group's flow; a company's flow overrides it")
    name: Text(200, min_length=1)
    steps: list[StepIn] = Field(min_length=1, max_length=20)


class FlowUpdate(_In):
    name: Text(200, min_length=1) | None = None
    steps: list[StepIn] | None = Field(None, min_length=1, max_length=20,
                                       description="New steps: creates a new version; running instances keep theirs")
    is_active: Bool | None = None


class StepDef(BaseModel):
    name: str
    rule: dict[str, Any]
    mode: Literal["any", "all"]
    condition: str | None = None


class FlowOut(BaseModel):
    id: uuid.UUID
    request_type: str
    company_id: uuid.UUID | None
    name: str
    is_active: bool
    current_version: int
    steps: list[StepDef]
    created_at: datetime
    updated_at: datetime


class FlowVersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    number: int
    steps: list[StepDef]
    created_by_id: uuid.UUID | None
    created_at: datetime


class RequestTypeOut(BaseModel):
    name: str
    title: str
    fields: dict[str, Literal["decimal", "string"]]


# --- instances ---------------------------------------------------------------------------------------

class ApprovalStatus(StrEnum):
    """Where an approval (or one round of it) stands; one named type for generated clients."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"




class CurrentStep(BaseModel):
    id: uuid.UUID
    name: str
    position: int
    mode: Literal["any", "all"]


class PersonOut(BaseModel):
    """Someone an approval shows (submitter, approver, actor), named for every reader of the approval:
    a submitter does not hold user.read, so ids alone would tell them nothing."""

    id: uuid.UUID
    display_name: str
    role_titles: list[str] = Field(description="Names of their roles, most senior first")
    department_name: str | None = Field(description="Their department, if they belong to one")
    company_name: str = Field(description="Their company")


class RoundOut(BaseModel):
    """One submission of the request. A resubmission after a rejection or withdrawal adds a round;
    earlier rounds keep what was submitted and how it ended."""

    round: int
    flow_version_id: uuid.UUID | None = Field(description="The flow version the round's steps came from "
                                                          "(null only for a backfilled round whose version is unknown)")
    snapshot: dict[str, Any] = Field(description="The request as submitted in this round")
    submitted_at: datetime
    outcome: ApprovalStatus = Field(description="`pending` while the round runs; otherwise how it ended")
    decided_at: datetime | None


class ApprovalSummary(BaseModel):
    id: uuid.UUID
    request_type: str
    request_id: uuid.UUID
    title: str
    company_id: uuid.UUID
    submitter_id: uuid.UUID
    status: ApprovalStatus
    round: int
    current_step: CurrentStep | None
    waiting_on: list[uuid.UUID] = Field(description="Users the instance waits on now")
    submitted_at: datetime
    waiting_since: datetime | None
    waiting_seconds: int | None = Field(description="How long it has waited on its current step")
    decided_at: datetime | None
    submitter: PersonOut = Field(description="Who submitted the request (`submitter_id`), named")
    waiting_on_users: list[PersonOut] = Field(description="The users of `waiting_on`, named, in the same order")


class AssignmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    user_id: uuid.UUID
    origin: Literal["rule", "manager", "administrators", "transfer"]
    status: Literal["pending", "approved", "rejected", "transferred", "cancelled"]
    comment: str | None
    transferred_from_id: uuid.UUID | None
    assigned_at: datetime
    acted_at: datetime | None
    user: PersonOut = Field(description="The approver (`user_id`), named")
    transferred_from: PersonOut | None = Field(description="Who handed the step over (`transferred_from_id`), named")


class StepOut(BaseModel):
    id: uuid.UUID
    round: int
    position: int
    name: str
    rule: dict[str, Any]
    mode: Literal["any", "all"]
    condition: str | None
    status: Literal["waiting", "active", "approved", "rejected", "skipped", "cancelled"]
    note: str | None
    started_at: datetime | None
    decided_at: datetime | None
    assignments: list[AssignmentOut]


class ActionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    round: int
    step_id: uuid.UUID | None
    actor_id: uuid.UUID
    action: Literal["submit", "approve", "reject", "withdraw", "urge", "transfer"]
    comment: str | None
    target_user_id: uuid.UUID | None
    created_at: datetime
    actor: PersonOut = Field(description="Who acted (`actor_id`), named")
    target_user: PersonOut | None = Field(description="Whom a transfer went to (`target_user_id`), named")


class ApprovalDetail(ApprovalSummary):
    flow_id: uuid.UUID
    flow_version_id: uuid.UUID
    snapshot: dict[str, Any] = Field(description="The request as submitted (what is being approved)")
    steps: list[StepOut]
    actions: list[ActionOut]
    rounds: list[RoundOut] = Field(description="Every submission, oldest first; `snapshot` is the current "
                                               "round's, and steps and actions carry their round")


def _not_blank(value: str | None) -> str | None:
    if value is not None and not value.strip():
        raise ValueError("must not be blank")
    return value.strip() if value is not None else None


StepGuard = Field(None, description="The step the caller is deciding; 409 if the instance has moved on")


Comment = MultilineText(2000)


class ApproveBody(_In):
    comment: Comment | None = None
    step_id: uuid.UUID | None = StepGuard


class RejectBody(_In):
    # `comment`, like approve; `reason` is the name the field surface first shipped, still accepted.
    comment: MultilineText(2000, min_length=1) = Field(
        validation_alias=AliasChoices("comment", "reason"),
        description="Why the request is rejected (required; `reason` is accepted as an older name)")
    step_id: uuid.UUID | None = StepGuard

    _comment = field_validator("comment")(_not_blank)


class WithdrawBody(_In):
    reason: Comment | None = None


class UrgeBody(_In):
    comment: MultilineText(500) | None = None


class TransferBody(_In):
    to_user_id: uuid.UUID
    reason: MultilineText(2000, min_length=1)
    step_id: uuid.UUID | None = StepGuard

    _reason = field_validator("reason")(_not_blank)


# --- what every request type shows (the request kit's columns) ----------------------------------------

RequestState = Literal["draft", "pending", "approved", "rejected", "withdrawn"]


class RequestOutBase(BaseModel):
    """The fields of a request the kit keeps for every type; a type's output adds its own."""

    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    client_ref: uuid.UUID | None = None
    company_id: uuid.UUID
    department_id: uuid.UUID | None
    requester_id: uuid.UUID
    status: RequestState
    approval_id: uuid.UUID | None
    submitted_at: datetime | None
    approved_at: datetime | None
    created_at: datetime
    updated_at: datetime
