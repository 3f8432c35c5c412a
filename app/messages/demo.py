"""Demo messages: the group's templates (SMS for each kind, an e-mail overdue notice), one customer
who opted out, and the close of business's messages of the seeding day (reminders of instalments due
in three days, notices of today's cases and broken promises), queued: `./scripts/run`'s worker sends
them through the console SMS provider (logged), or holds them until 08:00."""

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.collection.models import CollectionCase
from app.core.db import utcnow
from app.ledger.calendar import business_today
from app.messages import cob, repository
from app.messages.models import MessageTemplate

TEMPLATES = (
    ("payment_reminder", "sms", 3, None,
     "【华东机械】尊敬的{customer_name}, 您的合同{contract_number}本期应还{amount}元将于{due_date}到期, 请按时还款。"),
    ("overdue_notice", "sms", None, None,
     "【华东机械】{customer_name}, 合同{contract_number}已逾期, 逾期金额{amount}元 (自{due_date}起), 请尽快还款。"),
    ("overdue_notice", "email", None, "合同 {contract_number} 逾期通知",
     "{customer_name}:\n\n您的合同 {contract_number} 自 {due_date} 起逾期, 逾期金额 {amount} 元。\n请尽快安排还款。"),
    ("promise_broken", "sms", None, None,
     "【华东机械】{customer_name}, 您承诺于{due_date}还款{amount}元未能兑现, 请尽快联系催收专员。"),
    ("settlement_confirmation", "sms", None, None,
     "【华东机械】{customer_name}, 合同{contract_number}已于{due_date}结清, 感谢您的信任。"),
)


async def seed_messages(session: AsyncSession, org: Any) -> dict[str, int]:
    session.add_all([
        MessageTemplate(id=uuid.uuid4(), group_id=org.group.id, kind=kind, channel=channel, days_before=days,
                        subject=subject, body=body, active=True)
        for kind, channel, days, subject, body in TEMPLATES])
    await session.flush()
    # The customer of one open case asked for no messages (recorded by the clerk).
    opted = await session.scalar(select(CollectionCase.customer_id).order_by(CollectionCase.opened_on.desc(),
                                                                             CollectionCase.id).limit(1))
    if opted is not None:
        await repository.opt_out(session, {"customer_id": opted, "group_id": org.group.id,
                                           "reason": "客户电话要求不再接收短信", "by_id": org.users["clerk1"].id,
                                           "at": utcnow()})
    companies = [c.id for c in org.companies.values()]
    counts = await cob.day_closed(session, await business_today(session, companies[0]), companies)
    return {"templates": len(TEMPLATES), **counts}
