"""What the sales area hands over when an employee leaves (see app.org.handover): their draft
contracts; their place as salesperson and as clerk on every contract still running (submitted to
active, repossessed included: its account is still collected); and the investigations dispatched
to them and not yet submitted. Settled and cancelled contracts keep their people of record."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.contracts import repository as repo
from app.contracts.models import Contract, ContractState, Investigation
from app.org.handover import HandoverContext, register_handover_hook

CLOSED = (ContractState.SETTLED, ContractState.CANCELLED)


async def _move_drafts(session: AsyncSession, ctx: HandoverContext) -> int:
    drafts = await repo.draft_ids_owned_by(session, ctx.principal.group_id, ctx.from_user.id)
    if drafts:
        await repo.reassign_drafts(session, [d.id for d in drafts], ctx.to_user.id)
    return len(drafts)


async def _move_live_contracts(session: AsyncSession, ctx: HandoverContext) -> int:
    return await repo.reassign_live_contracts(session, ctx.principal.group_id, ctx.from_user.id, ctx.to_user.id,
                                              CLOSED)


async def _move_investigations(session: AsyncSession, ctx: HandoverContext) -> int:
    return await repo.reassign_open_investigations(session, ctx.principal.group_id, ctx.from_user.id,
                                                   ctx.to_user.id)


_LIVE = Contract.state.not_in((ContractState.DRAFT, *CLOSED))
register_handover_hook("draft_contracts", _move_drafts,
                       covers=[(Contract.owner_id, Contract.state == ContractState.DRAFT)])
register_handover_hook("contracts", _move_live_contracts,
                       covers=[(Contract.owner_id, _LIVE), (Contract.clerk_id, _LIVE)])
register_handover_hook("investigations", _move_investigations,
                       covers=[(Investigation.investigator_id, Investigation.state != "submitted")])
