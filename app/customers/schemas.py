"""Request and response models of customers, contacts, the pool and handovers."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.types import Bool, Int, MultilineText, Text, Timestamp
from app.core.updates import documents_not_null
from app.customers.models import Contact, Customer

Kind = Literal["company", "individual"]
Category = Literal["intended", "signed", "partner", "supplier", "media", "personal_network"]
Grade = Literal["A", "B", "C"]
Status = Literal["private", "pool"]
Relation = Literal["legal_representative", "guarantor", "purchaser", "other", "self"]
# What the duplicate check and the pool say about a customer: somebody is negotiating, it is
# signed, or nobody is following it (in the pool).
FollowStatus = Literal["negotiating", "signed", "unfollowed"]

CreditCode = Text(18, min_length=18, pattern=r"^[0-9A-Z]{18}$")
IdNumber = Text(18, min_length=15, pattern=r"^[0-9]{15}([0-9]{2}[0-9Xx])?$")
Email = Text(254, pattern=r"^[^@\s]+@[^@\s]+$")
Phone = Text(40, min_length=3)
Address = Text(300, min_length=1)
Tag = Text(40, min_length=1)
Notes = MultilineText(4000)
CustomerName = Text(200, min_length=1)
ContactName = Text(100, min_length=1)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- customers -------------------------------------------------------------------------------------

class CustomerCreate(_In):
    kind: Kind = "company"
    name: CustomerName
    credit_code: CreditCode | None = Field(None, description="统一社会信用代码 (companies)")
    id_number: IdNumber | None = Field(None, description="身份证号 (individuals)")
    addresses: list[Address] = Field(default_factory=list, max_length=10)
    phones: list[Phone] = Field(default_factory=list, max_length=10,
                                description="Any common format; stored normalised (E.164, region CN)")
    email: Email | None = None
    industry: Text(100) | None = None
    category: Category = "intended"
    grade: Grade | None = None
    credit_score: Int | None = Field(None, ge=0, le=1000)
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    company_id: uuid.UUID | None = Field(None, description="Our company it belongs to (default: the caller's)")
    owner_id: uuid.UUID | None = Field(None, description="Owner (default: the caller); another user needs "
                                                        "customer.assign and authority over them")
    notes: Notes | None = None
    confirm_duplicate: Bool = Field(False, description="Create although a customer with the same name exists")


class _Record(BaseModel):
    id: uuid.UUID


class CustomerUpdate(_In):
    model_config = ConfigDict(json_schema_extra=documents_not_null(Customer))
    name: CustomerName | None = None
    credit_code: CreditCode | None = None
    id_number: IdNumber | None = None
    addresses: list[Address] | None = Field(None, max_length=10)
    phones: list[Phone] | None = Field(None, max_length=10)
    email: Email | None = None
    industry: Text(100) | None = None
    category: Category | None = None
    grade: Grade | None = None
    credit_score: Int | None = Field(None, ge=0, le=1000)
    tags: list[Tag] | None = Field(None, max_length=20)
    last_follow_up_at: Timestamp | None = None
    notes: Notes | None = None
    confirm_duplicate: Bool = False


class CustomerOut(_Record):
    kind: Kind
    name: str
    credit_code: str | None
    id_number: str | None
    addresses: list[str]
    phones: list[str]
    email: str | None
    industry: str | None
    category: Category
    grade: Grade | None
    credit_score: int | None
    tags: list[str]
    company_id: uuid.UUID
    owner_id: uuid.UUID | None
    status: Status
    protected_until: datetime | None
    secured_at: datetime | None
    last_follow_up_at: datetime | None
    notes: str | None
    created_at: datetime
    updated_at: datetime
    masked: bool = Field(description="True when identity numbers, phones and e-mail are masked for the caller")


class ShareIn(_In):
    user_ids: list[uuid.UUID] = Field(min_length=1, max_length=50)
    can_edit: Bool = False


class ShareOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    user_id: uuid.UUID
    display_name: str
    can_edit: bool
    created_at: datetime


class ActivityOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    kind: str
    user_id: uuid.UUID | None
    actor_id: uuid.UUID | None
    occurred_at: datetime
    detail: str | None


class LinkedContactOut(BaseModel):
    contact_id: uuid.UUID
    relation: Relation
    name: str
    position: str | None
    mobile: str | None
    office_phone: str | None
    email: str | None
    masked: bool


class CustomerDetail(CustomerOut):
    contacts: list[LinkedContactOut]
    shares: list[ShareOut]
    recent_activity: list[ActivityOut]


class CustomerCreated(CustomerOut):
    warnings: list["DuplicateHit"] = Field(default_factory=list,
                                           description="Similar customers found by the duplicate check")


class PoolCustomerOut(BaseModel):
    """All a salesperson sees of a pool customer before claiming it."""

    id: uuid.UUID
    name: str
    company_id: uuid.UUID
    pooled_at: datetime | None
    claimable: bool


class ExtendIn(_In):
    reason: MultilineText(500, min_length=2) = Field(description="Why the protection needs more time (required)")


class AssignIn(_In):
    customer_ids: list[uuid.UUID] = Field(min_length=1, max_length=200)
    to_user_id: uuid.UUID


class AssignOut(BaseModel):
    assigned: list[uuid.UUID]
    to_user_id: uuid.UUID


# --- duplicate check -------------------------------------------------------------------------------

class DuplicateHit(BaseModel):
    """Deliberately narrow: no owner, no phone, nothing else of a record the caller may not see."""

    type: Literal["customer", "contact"]
    id: uuid.UUID
    name: str
    status: FollowStatus
    claimable: bool
    matched_on: Literal["name", "contact_name", "phone", "email", "credit_code", "id_number"]


class DuplicateList(BaseModel):
    """The duplicate check's answer: a bounded list (at most twice `limit` hits, best first), not a
    page; an object so that fields can be added without breaking clients."""

    items: list[DuplicateHit]


CustomerCreated.model_rebuild()


# --- contacts --------------------------------------------------------------------------------------

class _ContactFields(_In):
    # A subclass redefining a field keeps its place here, so both documents list them in this order.
    name: ContactName | None = None
    mobile: Phone | None = None
    office_phone: Phone | None = None
    email: Email | None = None
    position: Text(100) | None = None
    id_number: IdNumber | None = None
    notes: Notes | None = None


class ContactCreate(_ContactFields):
    name: ContactName
    owner_id: uuid.UUID | None = Field(None, description="Default: the caller")
    confirm_duplicate: Bool = Field(False, description="Save although another contact has this mobile number")


class ContactUpdate(_ContactFields):
    model_config = ConfigDict(json_schema_extra=documents_not_null(Contact))
    confirm_duplicate: Bool = False


class ContactOut(_Record):
    name: str
    mobile: str | None
    office_phone: str | None
    email: str | None
    position: str | None
    id_number: str | None
    notes: str | None
    owner_id: uuid.UUID
    created_at: datetime
    updated_at: datetime
    masked: bool = Field(description="True when phones, e-mail and identity number are masked for the caller")


class ContactWarning(BaseModel):
    """Another contact with the same mobile, office phone or e-mail. `contact_id` and `name` are
    given only when the caller may see that contact."""

    field: Literal["mobile", "office_phone", "email"]
    contact_id: uuid.UUID | None
    name: str | None


class ContactSaved(ContactOut):
    warnings: list[ContactWarning] = Field(default_factory=list)


class LinkIn(_In):
    contact_id: uuid.UUID
    relation: Relation = "other"


class LinkOut(BaseModel):
    customer_id: uuid.UUID
    contact_id: uuid.UUID
    relation: Relation


# --- pool rules ------------------------------------------------------------------------------------

class PoolRuleIn(_In):
    protection_days: Int = Field(15, ge=1, le=365)
    reminder_days: Int = Field(5, ge=0, le=60)
    extension_days: Int = Field(1, ge=1, le=30)
    max_extensions_per_month: Int = Field(5, ge=5, le=10)
    daily_claim_cap: Int = Field(20, ge=1, le=1000)
    daily_reminder_floor: Int = Field(12, ge=0, le=1000)
    count_weekends: Bool = True
    reclaim_cooldown_days: Int = Field(7, ge=0, le=365)


class PoolRuleOut(PoolRuleIn):
    company_id: uuid.UUID
    is_default: bool = Field(description="True when the company has no rules of its own")


# --- handover --------------------------------------------------------------------------------------

# --- import ----------------------------------------------------------------------------------------

class ImportWarning(BaseModel):
    row: int = Field(description="The row in the file (1 is the header)")
    column: str | None = Field(description="The column letter, e.g. B; null for the whole row")
    code: str = Field(description="Stable code, e.g. customer.similar_name")
    message: str = Field(description="Human-readable, in the request's language")


class ImportResult(BaseModel):
    imported: int
    customer_ids: list[uuid.UUID]
    warnings: list[ImportWarning] = Field(default_factory=list, description="Similar existing customers, by row")
