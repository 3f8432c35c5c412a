import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.types import Money, MultilineText, PositiveMoney, Text

Category = Literal["travel", "entertainment", "office", "repair", "other"]


class ExpenseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: uuid.UUID | None = Field(None, description="Client-chosen id (offline); a repeat returns the existing one")
    title: Text(200, min_length=1)
    category: Category = "other"
    amount: PositiveMoney
    description: MultilineText(4000) | None = None


class ExpenseUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Text(200, min_length=1) | None = None
    category: Category | None = None
    amount: PositiveMoney | None = None
    description: MultilineText(4000) | None = None


class ExpenseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
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
