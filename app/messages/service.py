"""Messages to customers: templates per group, sending by hand from a case, opt-out.

Rules: one template per group, kind and channel; a customer who opted out gets nothing (refused
by hand with 409 `message.opted_out`, skipped by the close of business, suppressed at sending);
every message goes through the durable queue (`delivery.send`), held until 08:00 in the quiet
hours, and is on its case's timeline."""

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.collection import repository as cases_repo
from app.collection.errors import CaseNotFound
from app.core import audit
from app.core.db import utcnow
from app.core.principal import Principal
from app.core.updates import apply_changes, changes_of
from app.customers import repository as customers_repo
from app.customers.normalize import mask_phone
from app.messages import delivery
from app.messages import repository as repo
from app.messages.errors import MessageNoRecipient, MessageOptedOut, MessageTemplateExists, MessageTemplateMissing
from app.messages.models import Message, MessageTemplate
from app.messages.schemas import CaseMessageCreate, MessageOut, OptOutIn, TemplateCreate, TemplateUpdate

TEMPLATE_FIELDS = ("kind", "channel", "days_before", "subject", "body", "active")


def render(text: str | None, values: dict[str, Any]) -> str | None:
    """Placeholders replaced, as `repository._render` does in SQL."""
    if text is None:
        return None
    for name in repo.PLACEHOLDERS:
        value = values.get(name)
        text = text.replace("{" + name + "}", "" if value is None else str(value))
    return text


def mask_recipient(channel: str, recipient: str | None) -> str | None:
    if recipient is None or channel == "sms":
        return mask_phone(recipient)
    name, _, domain = recipient.partition("@")
    return f"{name[:1]}***@{domain}"


def shaped(message: Message) -> MessageOut:
    out = MessageOut.model_validate(message)
    return out.model_copy(update={"recipient": mask_recipient(message.channel, message.recipient)})


# --- templates ---------------------------------------------------------------------------------

async def create_template(session: AsyncSession, principal: Principal, data: TemplateCreate) -> MessageTemplate:
    if await repo.template_taken(session, principal.group_id, data.kind, data.channel):
        raise MessageTemplateExists(f"A {data.channel} template for {data.kind} exists: change it instead")
    template = await repo.add_template(session, MessageTemplate(id=uuid.uuid4(), group_id=principal.group_id,
                                                                **data.model_dump()))
    audit.record(session, principal, "message_template.created", "message_template", template.id,
                 group_id=template.group_id, after=audit.snapshot(template, *TEMPLATE_FIELDS))
    return template


async def update_template(session: AsyncSession, principal: Principal, template: MessageTemplate,
                          data: TemplateUpdate) -> MessageTemplate:
    before = audit.snapshot(template, *TEMPLATE_FIELDS)
    if apply_changes(template, changes_of(data)):
        await session.flush()
        audit.record(session, principal, "message_template.updated", "message_template", template.id,
                     group_id=template.group_id, before=before, after=audit.snapshot(template, *TEMPLATE_FIELDS))
    return template


# --- by hand, from a case ----------------------------------------------------------------------

async def send_from_case(session: AsyncSession, principal: Principal, case_id: uuid.UUID,
                         data: CaseMessageCreate) -> Message:
    row = await cases_repo.case_row(session, principal, case_id)
    if row is None:
        raise CaseNotFound(f"No case {case_id}")
    case, account = row.CollectionCase, row.LedgerAccount
    if await repo.opted_out(session, case.customer_id):
        raise MessageOptedOut("The customer asked for no messages")
    subject, body = data.subject, data.body
    if body is None:
        template = None if data.kind == "manual" else await repo.template_for(session, case.group_id, data.kind,
                                                                              data.channel)
        if template is None:
            raise MessageTemplateMissing(f"No active {data.channel} template for {data.kind}")
        subject, body = subject or template.subject, template.body
    values = {"customer_name": row.customer_name, "contract_number": row.contract_number,
              "amount": Decimal(account.overdue_amount), "due_date": account.overdue_since}
    phone, email = await repo.recipients_of(session, case.customer_id)
    recipient = phone if data.channel == "sms" else email
    if recipient is None:
        raise MessageNoRecipient(f"The customer has no {'phone number' if data.channel == 'sms' else 'e-mail'}")
    message = await repo.add_message(session, {
        "id": uuid.uuid4(), "group_id": case.group_id, "company_id": case.company_id, "customer_id": case.customer_id,
        "contract_id": case.contract_id, "case_id": case.id, "kind": data.kind, "channel": data.channel,
        "recipient": recipient, "subject": render(subject, values), "body": render(body, values),
        "state": "queued", "created_by_id": principal.user_id, "created_at": utcnow()})
    await delivery.enqueue(session, [(message.id, message.company_id)])
    audit.record(session, principal, "message.queued", "message", message.id, company_id=message.company_id,
                 group_id=message.group_id, after=audit.snapshot(message, "case_id", "kind", "channel", "body"))
    return message


# --- opt-out -----------------------------------------------------------------------------------

async def opt_out(session: AsyncSession, principal: Principal, customer_id: uuid.UUID, data: OptOutIn) -> None:
    customer = await customers_repo.get_customer(session, principal, customer_id, write=True)
    await repo.opt_out(session, {"customer_id": customer.id, "group_id": customer.group_id, "reason": data.reason,
                                 "by_id": principal.user_id, "at": utcnow()})
    audit.record(session, principal, "customer.messages_opted_out", "customer", customer.id,
                 company_id=customer.company_id, group_id=customer.group_id, after={"reason": data.reason})


async def opt_in(session: AsyncSession, principal: Principal, customer_id: uuid.UUID) -> None:
    customer = await customers_repo.get_customer(session, principal, customer_id, write=True)
    if await repo.opt_in(session, customer.id):
        audit.record(session, principal, "customer.messages_opted_in", "customer", customer.id,
                     company_id=customer.company_id, group_id=customer.group_id)
