import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.types import Money, MultilineText, PositiveMoney, Text
from app.core.updates import documents_not_null
from app.expenses.models import ExpenseRequest

Category = Literal["travel", "entertainment", "office", "repair", "other"]


class ExpenseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    client_ref: uuid.UUID | None = Field(None, description="The client's own id for a record created offline; "
                                         "uploading it again returns the existing record (200)")
    title: Text(200, min_length=1)
    category: Category = "other"
    amount: PositiveMoney
    description: MultilineText(4000) | None = None


class ExpenseUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=documents_not_null(ExpenseRequest))
    title: Text(200, min_length=1) | None = None
    category: Category | None = None
    amount: PositiveMoney | None = None
    description: MultilineText(4000) | None = None


class ExpenseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    client_ref: uuid.UUID | None = None
    company_id: uuid.UUID
    department_id: uuid.UUID | None
    requester_id: uuid.UUID
    title: str
    category: str
    amount: Money
    description: str | None
    status: Literal["draft", "pending", "approved", "rejected", "withdrawn"]
    approval_id: uuid.UUID | None
    submitted_at: datetime | None
    approved_at: datetime | None
    created_at: datetime
    updated_at: datetime
