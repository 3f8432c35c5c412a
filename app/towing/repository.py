"""Towing's queries: every one starts from readable()/writable()."""

import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.principal import Principal
from app.core.scoping import readable
from app.towing.models import TowRegistration, TowRequest, TowTask
from app.towing.schemas import TowRequestFilters

OPEN_TASK_STATES = ("open", "assigned")


def _midnight(day: Any) -> datetime:
    return datetime.combine(day, time.min, UTC)


def filtered_requests(principal: Principal, f: TowRequestFilters) -> Select[Any]:
    conditions = [
        f.status is None or TowRequest.status == f.status,
        f.company_id is None or TowRequest.company_id == f.company_id,
        f.contract_id is None or TowRequest.contract_id == f.contract_id,
        f.requester_id is None or TowRequest.requester_id == f.requester_id,
        not f.mine or TowRequest.requester_id == principal.user_id,
        f.created_from is None or TowRequest.created_at >= _midnight(f.created_from),
        f.created_to is None or TowRequest.created_at < _midnight(f.created_to) + timedelta(days=1),
    ]
    return readable(principal, TowRequest).where(*(c for c in conditions if c is not True))


def filtered_tasks(principal: Principal, *, state: str | None, company_id: uuid.UUID | None,
                   contract_id: uuid.UUID | None, mine: bool) -> Select[Any]:
    conditions = [
        state is None or TowTask.state == state,
        company_id is None or TowTask.company_id == company_id,
        contract_id is None or TowTask.contract_id == contract_id,
        not mine or TowTask.assignee_id == principal.user_id,
    ]
    return readable(principal, TowTask).where(*(c for c in conditions if c is not True))


async def open_tasks_of_contract(session: AsyncSession, contract_id: uuid.UUID) -> list[TowTask]:
    """Unscoped (the settlement's approving transaction was scoped), locked in id order."""
    stmt = (select(TowTask).where(TowTask.contract_id == contract_id, TowTask.state.in_(OPEN_TASK_STATES))
            .order_by(TowTask.id).with_for_update().execution_options(populate_existing=True))
    return list((await session.execute(stmt)).scalars())


async def registration_of_task(session: AsyncSession, task_id: uuid.UUID) -> TowRegistration | None:
    return await session.scalar(select(TowRegistration).where(TowRegistration.task_id == task_id))


async def registration_readable(session: AsyncSession, principal: Principal, registration_id: uuid.UUID) -> bool:
    stmt = readable(principal, TowRegistration).where(TowRegistration.id == registration_id)
    return await session.scalar(stmt.with_only_columns(TowRegistration.id)) is not None


# --- handover ------------------------------------------------------------------------------------

async def reassign_open_tasks(session: AsyncSession, group_id: uuid.UUID, from_user_id: uuid.UUID,
                              to_user_id: uuid.UUID, at: datetime) -> int:
    """The user's tow tasks not yet registered or cancelled go to another, in one statement."""
    result = await session.execute(
        update(TowTask).where(TowTask.group_id == group_id, TowTask.assignee_id == from_user_id,
                              TowTask.state.in_(("open", "assigned")))
        .values(assignee_id=to_user_id, assigned_at=at, version=TowTask.version + 1, updated_at=at)
        .execution_options(synchronize_session="fetch"))
    return result.rowcount or 0  # type: ignore[attr-defined]
