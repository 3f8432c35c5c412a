"""What the CRM area hands over when an employee leaves (see app.org.handover): their customers,
with protection and "owner's for good" carried over, and their contacts."""

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.business_date import business_date
from app.core.db import utcnow
from app.customers.models import Contact, Customer, CustomerActivity
from app.customers.pool import rules_for
from app.org.handover import HandoverContext, register_handover_hook


async def _move_customers(session: AsyncSession, ctx: HandoverContext) -> int:
    # Protection and "owner's for good" carry over: the customer stays with the business.
    ids = (await session.execute(
        update(Customer).where(Customer.owner_id == ctx.from_user.id, Customer.group_id == ctx.principal.group_id,
                               Customer.deleted_at.is_(None))
        .values(owner_id=ctx.to_user.id, version=Customer.version + 1, updated_at=utcnow())
        .returning(Customer.id, Customer.company_id).execution_options(synchronize_session="fetch")
    )).all()
    if ids:
        now = utcnow()
        zones = {cid: (await rules_for(session, cid)).tz for cid in {c for _, c in ids}}
        session.add_all(CustomerActivity(group_id=ctx.principal.group_id, company_id=company_id, customer_id=cid,
                                         user_id=ctx.to_user.id, actor_id=ctx.principal.user_id, kind="handed_over",
                                         business_date=business_date(now, zones[company_id]), occurred_at=now,
                                         detail=f"from {ctx.from_user.username}") for cid, company_id in ids)
    return len(ids)


async def _move_contacts(session: AsyncSession, ctx: HandoverContext) -> int:
    result = await session.execute(
        update(Contact).where(Contact.owner_id == ctx.from_user.id, Contact.group_id == ctx.principal.group_id,
                              Contact.deleted_at.is_(None))
        .values(owner_id=ctx.to_user.id, company_id=ctx.to_user.company_id, version=Contact.version + 1,
                updated_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount or 0


register_handover_hook("customers", _move_customers)
register_handover_hook("contacts", _move_contacts)
