"""The business date and the close of business's runs, as the API shows them."""

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from app.core.types import BusinessDate


class BusinessDateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    business_date: BusinessDate | None = Field(
        description="The group's business date from now on; null: the real date again (today in each company's "
                    "time zone). Not before a day already closed.")


class BusinessDateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    business_date: date = Field(description="The caller's company's business date")
    set_by_hand: bool = Field(description="The group's date is set by hand (outside production)")


class CobRunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    business_date: date = Field(description="The last day this run closed (the business date when none was)")
    days: int = Field(description="Days closed (a catch-up closes several)")
    contracts: int = Field(description="Contracts closed, once per day")
    entries_posted: int = Field(description="Penalty entries posted")
    started_at: datetime
    finished_at: datetime
    duration_ms: int
    actor_id: uuid.UUID | None = Field(description="Who ran it; null: the periodic job")
