"""The field surface's reads and writes, each the platform's own rule in the phone's shape: the
worklist is collections' (my open cases by priority), a log is collections' offline-safe log, a
request is its area's create-and-submit."""

import uuid
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from app.collection import cases as collection_cases
from app.collection import logs as collection_logs
from app.collection import repository as collection_repo
from app.collection.errors import CaseNotFound
from app.collection.log_schemas import LogCreate
from app.collection.schemas import RELEASED_TIMELINE_KINDS
from app.contracts import repository as contracts_repo
from app.core.principal import Principal
from app.field import repository as repo
from app.field import views
from app.field.requests import create_and_submit
from app.field.schemas import FieldCaseDetail, FieldLog, FieldRequest
from app.ledger import reads as ledger_reads

RECENT_EVENTS = 10


async def case_detail(session: AsyncSession, principal: Principal, case_id: uuid.UUID) -> FieldCaseDetail:
    """A case the caller may read (404 otherwise, another collector's included), with its contract,
    where its schedule stands and its latest events."""
    row = await collection_repo.case_row(session, principal, case_id)
    if row is None:
        raise CaseNotFound(f"No case {case_id}")
    case = row.CollectionCase
    contacts = await collection_cases.contact_cards(session, principal, [row])
    contract = await collection_repo.contract_in_reach(session, principal, case.contract_id)
    if contract is None:  # pragma: no cover - a readable case's contract is in reach
        raise CaseNotFound(f"No case {case_id}")
    progress = await ledger_reads.instalment_progress(session, contract)
    due_dates = {i.number: i.due_date for i in await contracts_repo.frozen_schedule(session, contract.id)}
    recent, activity = [await _latest(session, collection_repo.timeline(case, kinds))
                        for kinds in (RELEASED_TIMELINE_KINDS, None)]
    last = (await repo.last_logs(session, [case.id])).get(case.id)
    return views.case_detail(row, last, contacts[case.id], contract, progress, due_dates, recent, activity)


async def _latest(session: AsyncSession, timeline: Select[Any]) -> Sequence[Any]:
    events = timeline.selected_columns
    return (await session.execute(timeline.order_by(events.at.desc(), events.id.desc()).limit(RECENT_EVENTS))).all()


async def create_log(session: AsyncSession, principal: Principal, case_id: uuid.UUID,
                     body: LogCreate) -> tuple[FieldLog, bool]:
    logged = await collection_logs.create_log(session, principal, case_id, body)
    return (await views.logs_out(session, [logged.log]))[0], logged.created


async def create_request(session: AsyncSession, principal: Principal, path: str,
                         body: BaseModel) -> tuple[FieldRequest, bool]:
    request, created = await create_and_submit(session, principal, path, body)
    return views.request_out(await repo.my_request(session, principal, request.id)), created
