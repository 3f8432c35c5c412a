"""What the integrations area hands over when an employee leaves (see app.org.handover): the
webhook subscriptions they own, so that a disabled endpoint's notice reaches somebody who works."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.org.handover import HandoverContext, register_handover_hook
from app.webhooks import repository as repo
from app.webhooks.models import WebhookSubscription


async def _move_subscriptions(session: AsyncSession, ctx: HandoverContext) -> int:
    return await repo.reassign_subscriptions(session, ctx.principal.group_id, ctx.from_user.id, ctx.to_user.id)


register_handover_hook("webhook_subscriptions", _move_subscriptions, covers=(WebhookSubscription.owner_id,))
