"""What the sales area hands over when a salesperson leaves: their draft contracts move with their
customers (submitted and later contracts keep their salesperson of record)."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.contracts import repository as repo
from app.org.handover import HandoverContext, register_handover_hook


async def _move_drafts(session: AsyncSession, ctx: HandoverContext) -> int:
    drafts = await repo.draft_ids_owned_by(session, ctx.principal.group_id, ctx.from_user.id)
    if drafts:
        await repo.reassign_drafts(session, [d.id for d in drafts], ctx.to_user.id)
    return len(drafts)


register_handover_hook("draft_contracts", _move_drafts)
