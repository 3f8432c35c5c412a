"""The money requests' queries: every one starts from the caller's scope."""

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Select

from app.core.principal import Principal
from app.core.scoping import readable
from app.core.types import BusinessDate


@dataclass(frozen=True)
class RequestFilters:
    status: str | None = None
    company_id: uuid.UUID | None = None
    contract_id: uuid.UUID | None = None
    requester_id: uuid.UUID | None = None
    created_from: BusinessDate | None = None
    created_to: BusinessDate | None = None


def filtered(principal: Principal, model: Any, filters: RequestFilters) -> Select[Any]:
    stmt = readable(principal, model)
    for column, value in ((model.status, filters.status), (model.company_id, filters.company_id),
                          (model.contract_id, filters.contract_id), (model.requester_id, filters.requester_id)):
        if value is not None:
            stmt = stmt.where(column == value)
    if filters.created_from is not None:
        stmt = stmt.where(model.created_at >= filters.created_from)
    if filters.created_to is not None:
        stmt = stmt.where(model.created_at < filters.created_to + timedelta(days=1))
    return stmt
