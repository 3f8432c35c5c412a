"""Reports as the API states them: flat rows a chart library groups as it likes, amounts as `Money`
(two-decimal strings), rates as numbers between 0 and 1 (null when there is nothing to divide by)."""

import uuid
from datetime import date
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from app.core.types import Money
from app.ledger.read_schemas import BucketName

AgingBy = Literal["company", "collector", "salesperson"]
ToBucket = Literal["current", "M1", "M2", "M3", "M4+", "closed"]
PromiseKind = Literal["due_today", "broken_yesterday"]


class ReportFormat(StrEnum):
    """A report as JSON, or as an .xlsx workbook with a chart."""

    JSON = "json"
    XLSX = "xlsx"


CREDIT = ("Unapplied credit the accounts hold for their customers (ledger.md \"Unapplied credit\"): a credit, "
          "apart from what they owe")


class AgingRow(BaseModel):
    company_id: uuid.UUID
    company_code: str
    key_id: uuid.UUID | None = Field(description="The collector or salesperson (by=collector|salesperson); null "
                                     "for by=company, and for accounts no collector holds")
    key_name: str | None
    bucket: BucketName
    contracts: int
    outstanding_principal: Money
    overdue_amount: Money
    unapplied_credit: Money = Field(description=CREDIT)


class BucketTotal(BaseModel):
    bucket: BucketName
    contracts: int
    outstanding_principal: Money
    overdue_amount: Money
    unapplied_credit: Money = Field(description=CREDIT)


class AgingOut(BaseModel):
    """账龄分析: the open receivables by company × bucket (current, M1 1–30, M2 31–60, M3 61–90, M4+
    over 90 days past due), with a drill-down by collector or salesperson."""

    as_of: date
    source: Literal["accounts", "snapshot"] = Field(
        description="`accounts`: the ledger's accounts on the business date; `snapshot`: a month end's snapshot")
    by: AgingBy
    rows: list[AgingRow]
    totals: list[BucketTotal] = Field(description="Per bucket over every row, in bucket order")


class RollCell(BaseModel):
    from_bucket: BucketName
    to_bucket: ToBucket = Field(description="`closed`: no longer open at the later month end (settled, closed)")
    contracts: int
    outstanding_principal: Money = Field(description="At the earlier month end")
    share: float = Field(description="contracts ÷ the contracts of `from_bucket` at the earlier month end")


class SeriesPoint(BaseModel):
    month_end: date
    bucket: BucketName
    contracts: int
    outstanding_principal: Money
    overdue_amount: Money


class RollRatesOut(BaseModel):
    """迁徙率: where the contracts of each bucket at one month end were at the next one (cured to
    current, stayed, rolled forward, closed), and the buckets at each recent month end."""

    from_: date = Field(alias="from", serialization_alias="from")
    to: date
    matrix: list[RollCell]
    series: list[SeriesPoint]

    model_config = {"populate_by_name": True}


class CollectorRow(BaseModel):
    collector_id: uuid.UUID
    collector_name: str
    cases_held: int = Field(description="Cases they hold that were open at some time in the period")
    cases_contacted: int = Field(description="Held cases they logged a contact on in the period")
    calls: int
    visits: int
    promises_made: int = Field(description="Promises to pay taken in the period")
    promises_kept: int = Field(description="Judged kept in the period")
    promises_broken: int = Field(description="Judged broken in the period")
    kept_rate: float | None = Field(description="kept ÷ (kept + broken)")
    collected: Money = Field(description="Payments (not reversed) on held cases after their assignment, value dates in "
                             "the period while the case was open")
    overdue_at_assignment: Money = Field(description="The base, per case: what was overdue at the moment it was "
                                         "assigned (amounts due before that day and penalty through it, less credits "
                                         "value-dated before that day or recorded that day before the assignment)")
    recovered: Money = Field(description="Per case, the payments after its assignment while held, capped by its base: "
                             "what they had recovered by the period's end less what they had by its start")
    recovery_rate: float | None = Field(description="recovered ÷ overdue at assignment, within 0–1")
    days_to_first_contact: float | None = Field(description="Over the held cases assigned in the period: average "
                                                "days from the assignment to their first log on the case")


class CollectorPerformanceOut(BaseModel):
    from_: date = Field(alias="from", serialization_alias="from")
    to: date
    rows: list[CollectorRow]

    model_config = {"populate_by_name": True}


class PromiseCount(BaseModel):
    collector_id: uuid.UUID
    collector_name: str
    due_today: int
    due_today_amount: Money
    broken_yesterday: int
    broken_yesterday_amount: Money


class PromiseItem(BaseModel):
    kind: PromiseKind
    promise_id: uuid.UUID
    case_id: uuid.UUID
    contract_id: uuid.UUID
    contract_number: str
    customer_name: str
    collector_id: uuid.UUID
    amount: Money
    promised_date: date
    state: Literal["pending", "kept", "broken"]
    amount_paid: Money | None


class PromisesOut(BaseModel):
    """The dispatcher's morning list: promises due today (judged or not) and broken yesterday."""

    date: date
    by_collector: list[PromiseCount]
    items: list[PromiseItem] = Field(description="By collector, largest first; at most `limit`")
    truncated: bool = Field(description="More promises than `limit`: the counts above still hold them all")


class SalesRow(BaseModel):
    month: date = Field(description="The month's first day")
    company_id: uuid.UUID
    company_code: str
    salesperson_id: uuid.UUID
    salesperson_name: str
    contracts_signed: int
    financed: Money = Field(description="Price less down payment of the contracts signed")
    customers_claimed: int
    customers_secured: int


class SalesOut(BaseModel):
    """业务员评定: contracts signed and financed amount, customers claimed and secured, by month,
    company and salesperson."""

    from_: date = Field(alias="from", serialization_alias="from")
    to: date
    rows: list[SalesRow]

    model_config = {"populate_by_name": True}
