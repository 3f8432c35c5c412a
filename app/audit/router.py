import uuid
from typing import Annotated

from fastapi import Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.schemas import AuditEventOut
from app.core.audit import AuditEvent
from app.core.pagination import Page, PageParams, SortKey, page_params, paginate
from app.core.principal import Requires
from app.core.routers import api_router
from app.core.routing import request_session
from app.core.scoping import readable
from app.core.types import Text, Timestamp
from app.org.permissions import AUDIT_READ

router = api_router(tags=["audit"])


@router.get("/audit-events", response_model=Page[AuditEventOut], operation_id="list_audit_events",
            summary="The audit trail, newest first, within the caller's scope")
async def list_audit_events(
    session: Annotated[AsyncSession, Depends(request_session)],
    principal: Requires(AUDIT_READ),
    page: Annotated[PageParams, Depends(page_params)],
    entity_type: Annotated[Text(60) | None, Query(max_length=60)] = None,
    entity_id: Annotated[Text(100) | None, Query(max_length=100)] = None,
    action: Annotated[Text(100) | None, Query(max_length=100)] = None,
    actor_id: uuid.UUID | None = None,
    company_id: uuid.UUID | None = None,
    since: Timestamp | None = None,
    until: Timestamp | None = None,
) -> Page[AuditEventOut]:
    stmt = readable(principal, AuditEvent)
    for column, value in ((AuditEvent.entity_type, entity_type), (AuditEvent.entity_id, entity_id),
                          (AuditEvent.action, action), (AuditEvent.actor_id, actor_id),
                          (AuditEvent.company_id, company_id)):
        if value is not None:
            stmt = stmt.where(column == value)
    if since is not None:
        stmt = stmt.where(AuditEvent.occurred_at >= since)
    if until is not None:
        stmt = stmt.where(AuditEvent.occurred_at < until)
    rows, cursor = await paginate(session, stmt, page, SortKey("-seq", AuditEvent.seq, descending=True),
                                  AuditEvent.seq)
    return Page(items=[AuditEventOut.model_validate(r) for r in rows], next_cursor=cursor)
