"""What the approval engine hands over when an employee leaves (see app.org.handover): the steps
waiting on them."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.approvals.service import hand_over_waiting
from app.org.handover import HandoverContext, register_handover_hook


async def _move_waiting_steps(session: AsyncSession, ctx: HandoverContext) -> int:
    return await hand_over_waiting(session, ctx.principal, ctx.from_user.id, ctx.to_user.id)


register_handover_hook("approvals", _move_waiting_steps)
