import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict

from app.approvals.schemas import CLIENT_REF, RequestOutBase
from app.core.types import Money, MultilineText, PositiveMoney, Text
from app.core.updates import documents_not_null
from app.expenses.models import ExpenseRequest

Category = Literal["travel", "entertainment", "office", "repair", "other"]


class ExpenseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    client_ref: uuid.UUID | None = CLIENT_REF
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


class ExpenseOut(RequestOutBase):
    title: str
    category: str
    amount: Money
    description: str | None