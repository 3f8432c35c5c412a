import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

Money = Annotated[Decimal, PlainSerializer(lambda v: f"{v:.2f}", return_type=str, when_used="json")]
Category = Literal["travel", "entertainment", "office", "repair", "other"]


class ExpenseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    client_ref: uuid.UUID | None = Field(None, description="The client's own id for a record created offline; "
                                         "uploading it again returns the existing record (200)")
    title: str = Field(min_length=1, max_length=200)
    category: Category = "other"
    amount: Decimal = Field(gt=0, le=Decimal("9999999999999999.99"), max_digits=18, decimal_places=2)
    description: str | None = Field(None, max_length=4000)


class ExpenseUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str | None = Field(None, min_length=1, max_length=200)
    category: Category | None = None
    amount: Decimal | None = Field(None, gt=0, le=Decimal("9999999999999999.99"), max_digits=18, decimal_places=2)
    description: str | None = Field(None, max_length=4000)


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
