import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Path, Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import utcnow
from app.core.errors import NotFound
from app.core.hotsql import json_response, records
from app.core.pagination import Page, PageParams, SortKey, page_params, paginate_hot
from app.core.principal import Principal, require
from app.core.routers import api_router
from app.core.routing import request_session
from app.core.scoping import readable
from app.notifications.models import Notification

router = api_router(tags=["notifications"])
Me = Annotated[Principal, Depends(require())]
NEWEST_FIRST = SortKey("-created_at", Notification.created_at, True)


class NotificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    kind: str
    title: str
    body: str | None
    entity_type: str | None
    entity_id: str | None
    created_at: datetime
    read_at: datetime | None


_COLUMNS = tuple(getattr(Notification, name) for name in NotificationOut.model_fields)


def _mine(principal: Principal):  # noqa: ANN202
    # Notifications are personal: even a group-wide scope sees only its own.
    return readable(principal, Notification).where(Notification.user_id == principal.user_id)


@router.get("/notifications", response_model=Page[NotificationOut], operation_id="list_notifications")
async def list_notifications(session: Annotated[AsyncSession, Depends(request_session)], principal: Me,
                             page: Annotated[PageParams, Depends(page_params)],
                             unread: bool | None = None) -> Response:
    # Every screen of both clients polls this: the hot path (compiled once per caller and filter,
    # rows serialised as they come; tests/field/test_hot_worklist.py checks them against NotificationOut).
    def build() -> Select[Any]:
        stmt = _mine(principal).with_only_columns(*_COLUMNS)
        if unread is not None:
            stmt = stmt.where(Notification.read_at.is_(None) if unread else Notification.read_at.is_not(None))
        return stmt

    rows, cursor = await paginate_hot(session, ("notifications", principal, unread), build, page, NEWEST_FIRST,
                                      Notification.id)
    return json_response({"items": records(rows), "next_cursor": cursor})


@router.post("/notifications/{notification_id}/read", response_model=NotificationOut,
             operation_id="mark_notification_read")
async def mark_read(session: Annotated[AsyncSession, Depends(request_session)], principal: Me,
                    notification_id: Annotated[uuid.UUID, Path()]) -> NotificationOut:
    item = await session.scalar(_mine(principal).where(Notification.id == notification_id).with_for_update())
    if item is None:
        raise NotFound("Notification not found.")
    if item.read_at is None:
        item.read_at = utcnow()
        await session.flush()
    return NotificationOut.model_validate(item)
