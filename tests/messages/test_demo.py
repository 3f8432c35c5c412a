"""The demo's messages and webhooks: templates, an opted-out customer who gets nothing, the close of
business's messages of the seeding day queued, and two subscriptions (one off)."""

from sqlalchemy import func, select

from app.collection.demo import seed_collections
from app.contracts.demo import seed_contracts
from app.customers.demo import seed_customers
from app.ledger.demo import seed_ledger
from app.messages.demo import seed_messages
from app.messages.models import Message, MessageOptOut, MessageTemplate
from app.webhooks.demo import seed_webhooks
from app.webhooks.models import WebhookSubscription


async def test_the_demo_has_templates_an_opt_out_queued_messages_and_subscriptions(db, org):
    await seed_customers(db, org)
    await seed_contracts(db, org)
    await seed_ledger(db, org)
    await seed_collections(db, org)
    seeded = await seed_messages(db, org)
    assert await seed_webhooks(db, org) == 2
    assert seeded["templates"] == await db.scalar(select(func.count()).select_from(MessageTemplate)) == 5
    opted = await db.scalar(select(MessageOptOut.customer_id))
    assert opted is not None
    assert await db.scalar(select(func.count()).where(Message.customer_id == opted)) == 0
    queued = await db.scalar(select(func.count()).where(Message.state == "queued"))
    assert queued == seeded["reminders"] + seeded["overdue_notices"] + seeded["broken_promise_notices"] + seeded[
        "settlement_confirmations"]
    active = (await db.execute(select(WebhookSubscription.active).order_by(WebhookSubscription.url))).scalars().all()
    assert sorted(active) == [False, True]
