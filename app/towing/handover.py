"""What towing hands over when an employee leaves (see app.org.handover): the tow tasks assigned to
them and not yet registered or cancelled go to the receiver (a task given to an outside towing
company names no user and stays as it is)."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import utcnow
from app.org.handover import HandoverContext, register_handover_hook
from app.towing import repository as repo
from app.towing.models import TowTask


async def _move_tow_tasks(session: AsyncSession, ctx: HandoverContext) -> int:
    return await repo.reassign_open_tasks(session, ctx.principal.group_id, ctx.from_user.id, ctx.to_user.id,
                                          utcnow())


register_handover_hook("tow_tasks", _move_tow_tasks,
                       covers=[(TowTask.assignee_id, TowTask.state.in_(("open", "assigned")))])
