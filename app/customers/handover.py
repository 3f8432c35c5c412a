"""What the CRM area hands over when an employee leaves (see app.org.handover): their customers,
with protection and "owner's for good" carried over, their contacts, and the customers shared
with them (the receiver carries on their work with the same colleagues' customers)."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.business_date import business_date
from app.core.db import utcnow
from app.customers import repository as repo
from app.customers.models import Contact, Customer, CustomerActivity, CustomerShare
from app.org import repository as org_repo
from app.org.handover import HandoverContext, register_handover_hook


async def _move_customers(session: AsyncSession, ctx: HandoverContext) -> int:
    # Protection and "owner's for good" carry over: the customer stays with the business.
    ids = await repo.reassign_customers(session, ctx.principal.group_id, ctx.from_user.id, ctx.to_user.id)
    if ids:
        now = utcnow()
        zones = await org_repo.company_zones(session, {c for _, c in ids})  # one query for all companies
        session.add_all(CustomerActivity(group_id=ctx.principal.group_id, company_id=company_id, customer_id=cid,
                                         user_id=ctx.to_user.id, actor_id=ctx.principal.user_id, kind="handed_over",
                                         business_date=business_date(now, zones[company_id][1]), occurred_at=now,
                                         detail=f"from {ctx.from_user.username}") for cid, company_id in ids)
    return len(ids)


async def _move_contacts(session: AsyncSession, ctx: HandoverContext) -> int:
    return await repo.reassign_contacts(session, ctx.principal.group_id, ctx.from_user.id, ctx.to_user.id,
                                        ctx.to_user.company_id)


async def _move_shares(session: AsyncSession, ctx: HandoverContext) -> int:
    return await repo.move_shares(session, ctx.principal.group_id, ctx.from_user.id, ctx.to_user.id)


register_handover_hook("customers", _move_customers, covers=[(Customer.owner_id, Customer.deleted_at.is_(None))])
register_handover_hook("contacts", _move_contacts, covers=[(Contact.owner_id, Contact.deleted_at.is_(None))])
register_handover_hook("customer_shares", _move_shares, covers=(CustomerShare.user_id,))
