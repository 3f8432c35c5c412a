"""Request and response models of machines, contracts, their schedules, investigations and shipments."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from app.approvals.schemas import CLIENT_REF
from app.contracts import scoring
from app.contracts.models import Contract, Machine
from app.core.types import Bool, BusinessDate, Int, Money, MultilineText, Rate, StoredRate, Text
from app.core.updates import documents_not_null
from app.ledger.read_schemas import InstalmentComponents, InstalmentStatus
from app.ledger.schedule import DEFAULT_PENALTY_DAILY_RATE, MAX_TERM_MONTHS

MachineCategory = Literal["excavator", "loader", "crane", "other"]
SaleKind = Literal["instalment_sale", "lease", "full_payment"]
ScheduleKindName = Literal["annuity", "equal_principal", "interest_only", "lease", "custom"]
Relation = Literal["legal_representative", "guarantor", "purchaser", "other"]
AllocationItem = Literal["penalty", "fee", "interest", "principal"]
State = Literal["draft", "submitted", "approved", "investigating", "shipping", "active", "settled", "repossessed",
                "cancelled"]


class RequestApprovalStatus(StrEnum):
    """Where a request (a contract, a shipment) stands in its approval (the request kit's status)."""

    DRAFT = "draft"
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


ApprovalStatus = RequestApprovalStatus
Serial = Text(60, min_length=1, pattern=r"^[A-Za-z0-9._/-]+$")
Notes = MultilineText(4000)


class _In(BaseModel):
    # Terms rows, questionnaires and scoring factors are shown back as they were given: one schema
    # for both directions (validation's), so generated clients get one type, not `X-Input`/`X-Output`.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_mode_override="validation")


# --- machines --------------------------------------------------------------------------------------

class MachineCreate(_In):
    company_id: uuid.UUID | None = Field(None, description="The company holding it (default: the caller's)")
    model: Text(100, min_length=1)
    category: MachineCategory = "excavator"
    serial_number: Serial = Field(description="机号, unique in the group")
    engine_number: Serial | None = None
    certificate_number: Serial | None = Field(None, description="合格证 number")
    gps_device_id: Serial | None = Field(None, description="GPS device id, unique in the group")


class MachineUpdate(_In):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True,
                              json_schema_extra=documents_not_null(Machine))
    model: Text(100, min_length=1) | None = None
    category: MachineCategory | None = None
    serial_number: Serial | None = None
    engine_number: Serial | None = None
    certificate_number: Serial | None = None
    gps_device_id: Serial | None = None


class MachineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    company_id: uuid.UUID
    model: str
    category: MachineCategory
    serial_number: str
    engine_number: str | None
    certificate_number: str | None
    gps_device_id: str | None
    contract_id: uuid.UUID | None
    lock_state: Literal["unlocked", "locked"] = Field(description="Changed only when the device acknowledges a "
                                                                  "lock or unlock command")
    lock_state_at: datetime | None
    last_latitude: Decimal | None = Field(description="Filled by the device gateway")
    last_longitude: Decimal | None
    last_speed_kmh: Decimal | None
    last_position_at: datetime | None
    delivered_date: date | None
    created_at: datetime
    updated_at: datetime
    version: int


# --- terms and schedules ---------------------------------------------------------------------------

class CustomRowIn(_In):
    principal: Money
    interest: Money


class TermsIn(_In):
    """The terms of ledger.md. Amounts are decimal strings; rates too (`"0.06"` is 6 % a year)."""

    price: Money
    down_payment: Money = Decimal("0")
    annual_rate: StoredRate = Field(description="Annual rate, e.g. \"0.06\"; at most the configured maximum and "
                                                "6 decimals (as stored: a finer rate is refused, never rounded)")
    term_months: Int = Field(ge=1, le=MAX_TERM_MONTHS)
    first_due_date: BusinessDate
    schedule_kind: ScheduleKindName = "annuity"
    monthly_rent: Money | None = Field(None, description="The fixed rent of a lease (lease only)")
    custom_rows: list[CustomRowIn] | None = Field(None, max_length=MAX_TERM_MONTHS,
                                                  description="A custom schedule's rows (custom only)")
    penalty_daily_rate: StoredRate = DEFAULT_PENALTY_DAILY_RATE
    grace_days: Int = Field(0, ge=0, le=365)
    allocation_order: list[AllocationItem] = Field(default_factory=lambda: ["penalty", "fee", "interest", "principal"],
                                                   min_length=4, max_length=4,
                                                   description="Each of penalty, fee, interest, principal once")


class TermsOut(BaseModel):
    price: Money
    down_payment: Money
    financed: Money
    annual_rate: Rate
    term_months: int
    first_due_date: date
    schedule_kind: ScheduleKindName
    monthly_rent: Money | None
    custom_rows: list[CustomRowIn] | None
    penalty_daily_rate: Rate
    grace_days: int
    allocation_order: list[AllocationItem]


class InstalmentOut(BaseModel):
    number: int
    due_date: date
    principal: Money
    interest: Money
    total: Money
    # Once the contract is shipped, and only for a caller with ledger.read: the ledger's progress.
    paid: InstalmentComponents | None = Field(None, description="Paid so far per component (shipped contracts, "
                                              "callers with `ledger.read`; else null)")
    unpaid: InstalmentComponents | None = Field(None, description="Still unpaid per component: principal, interest "
                                                "(less a settlement's write-off), penalty accrued so far")
    status: InstalmentStatus = Field("scheduled", description="paid: nothing unpaid; scheduled: not yet due; once "
                                     "due: partially_paid when something is paid, else due (on its due date) or "
                                     "overdue; judged on `as_of`. Always scheduled before the shipment")


class ScheduleOut(BaseModel):
    frozen: bool = Field(description="True once the contract is approved: the schedule the ledger uses")
    financed: Money
    total_principal: Money
    total_interest: Money
    instalments: list[InstalmentOut]
    as_of: date | None = Field(None, description="The day the instalments' progress is computed through "
                               "(shipped contracts, callers with `ledger.read`)")


# --- contracts -------------------------------------------------------------------------------------

class ContractContactIn(_In):
    contact_id: uuid.UUID
    relation: Relation


class ContractCreate(_In):
    client_ref: uuid.UUID | None = CLIENT_REF
    customer_id: uuid.UUID = Field(description="A customer the caller may see; the contract is in its company")
    sale_kind: SaleKind = "instalment_sale"
    terms: TermsIn
    contacts: list[ContractContactIn] = Field(default_factory=list, max_length=20)
    machine_ids: list[uuid.UUID] = Field(default_factory=list, max_length=20)
    needs_investigation: Bool = False
    signed_date: BusinessDate | None = None
    notes: Notes | None = None


class ContractUpdate(_In):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True,
                              json_schema_extra=documents_not_null(Contract))
    sale_kind: SaleKind | None = None
    terms: TermsIn | None = Field(None, description="Replaces all terms")
    contacts: list[ContractContactIn] | None = Field(None, max_length=20, description="Replaces the contacts")
    machine_ids: list[uuid.UUID] | None = Field(None, max_length=20, description="Replaces the machines")
    needs_investigation: Bool | None = None
    signed_date: BusinessDate | None = None
    notes: Notes | None = None


class ContractContactOut(BaseModel):
    contact_id: uuid.UUID
    relation: Relation


class ContractOut(BaseModel):
    """A contract as lists show it; the detail adds contacts and machines."""

    id: uuid.UUID
    client_ref: uuid.UUID | None
    number: str
    company_id: uuid.UUID
    customer_id: uuid.UUID
    owner_id: uuid.UUID = Field(description="The salesperson")
    clerk_id: uuid.UUID | None
    state: State
    approval_status: ApprovalStatus
    approval_id: uuid.UUID | None
    sale_kind: SaleKind
    signed_date: date | None
    terms: TermsOut
    needs_investigation: bool
    rejection_reason: str | None = Field(description="The last rejection's reason, for the clerk to revise")
    shipment_date: date | None
    terms_frozen_at: datetime | None
    submitted_at: datetime | None
    approved_at: datetime | None
    notes: str | None
    created_at: datetime
    updated_at: datetime
    version: int


class ContractDetail(ContractOut):
    contacts: list[ContractContactOut]
    machines: list[MachineOut]


class CloseIn(_In):
    reason: MultilineText(1000, min_length=1)


# --- investigations --------------------------------------------------------------------------------

class Recommendation(StrEnum):
    """A shipment recommendation: the investigator's own, or the scoring model's."""

    SHIP = "ship"
    SHIP_WITH_CONDITIONS = "ship_with_conditions"
    DO_NOT_SHIP = "do_not_ship"


class CustomerBasics(_In):
    registered_capital: Money | None = None
    employees: Int | None = Field(None, ge=0, le=1_000_000)
    address: Text(300) | None = None
    main_business: Text(200) | None = None


class BusinessSituation(_In):
    years_in_business: Int = Field(ge=0, le=200)
    fleet_size: Int = Field(0, ge=0, le=100_000, description="Machines the customer operates")
    projects: list[Text(200, min_length=1)] = Field(default_factory=list, max_length=20)


class AssetsLiabilities(_In):
    total_assets: Money
    total_liabilities: Money


class FinancialDealings(_In):
    existing_loans: Money = Decimal("0")
    overdue_count_24m: Int = Field(0, ge=0, le=1000, description="Overdue repayments in the last 24 months")
    notes: MultilineText(2000) | None = None


class Guarantor(_In):
    name: Text(100, min_length=1)
    relation: Text(60) | None = None
    net_assets: Money


class Questionnaire(_In):
    customer_basics: CustomerBasics = Field(default_factory=CustomerBasics)
    business: BusinessSituation
    assets_liabilities: AssetsLiabilities
    financial: FinancialDealings = Field(default_factory=FinancialDealings)
    guarantors: list[Guarantor] = Field(default_factory=list, max_length=10)
    documents: list[Text(200, min_length=1)] = Field(
        default_factory=list, max_length=50, description="References of the uploaded documents (attachment ids later)")


class InvestigationSubmit(_In):
    answers: Questionnaire
    recommendation: Recommendation | None = Field(None, description="The investigator's own recommendation")
    comment: MultilineText(4000) | None = None


class DispatchIn(_In):
    investigator_id: uuid.UUID


class FactorOut(BaseModel):
    name: str
    value: Decimal | None = Field(description="The factor's value (a ratio, a count, years)")
    share: Decimal = Field(description="The share of the weight it earned (0–1)")
    weight: Decimal
    contribution: Decimal


class InvestigationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    company_id: uuid.UUID
    contract_id: uuid.UUID
    state: Literal["pending_dispatch", "dispatched", "submitted"]
    investigator_id: uuid.UUID | None
    dispatched_by_id: uuid.UUID | None
    dispatched_at: datetime | None
    answers: Questionnaire | None
    investigator_recommendation: Recommendation | None
    investigator_comment: str | None
    submitted_at: datetime | None
    score: Decimal | None
    recommendation: Recommendation | None = Field(description="The scoring model's recommendation")
    factors: list[FactorOut] | None
    created_at: datetime
    updated_at: datetime
    version: int


# --- shipments -------------------------------------------------------------------------------------

class ShipmentRequestIn(_In):
    planned_date: BusinessDate | None = Field(None, description="Default: today (the company's business date); "
                                              "never after the first due date")
    notes: Notes | None = None


class ShipmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    company_id: uuid.UUID
    contract_id: uuid.UUID
    contract_number: str
    financed: Money
    planned_date: date
    notes: str | None
    requester_id: uuid.UUID
    status: ApprovalStatus
    approval_id: uuid.UUID | None
    investigation: dict[str, object] | None = Field(description="The investigation's score, recommendation and "
                                                    "factors when the shipment was requested")
    submitted_at: datetime | None
    approved_at: datetime | None
    created_at: datetime
    version: int


# --- the scoring model -----------------------------------------------------------------------------

Share = Annotated[Rate, Field(le=1)]
Points = Rate


class BandIn(_In):
    op: Literal["<=", ">=", ">"]
    bound: Rate
    share: Share


class FactorRuleIn(_In):
    weight: Points
    bands: list[BandIn] = Field(max_length=10, description="The first band the value meets gives the share")
    otherwise: Share = Decimal("0")


# One optional field per factor the scoring model reads (scoring.FACTORS), so a new factor is
# configurable the moment the score reads it.
ScoringFactors = create_model(
    "ScoringFactors", __base__=_In, __module__=__name__,
    __doc__="The factors the scoring model reads; a factor left out does not count.",
    **{name: (FactorRuleIn | None, None) for name in scoring.FACTORS},
)


class ScoringModelIn(_In):
    """Weights, bands and thresholds (app/contracts/scoring.py explains the model)."""

    factors: ScoringFactors
    ship_at: Points
    conditions_at: Points


class ScoringModelOut(ScoringModelIn):
    model_config = ConfigDict(extra="forbid")
    is_default: bool = Field(description="True while the group uses the built-in model")
