"""Every query of messages. The close of business's messages are set-based INSERT ... SELECT over
the ledger's instalments, collections' cases and promises (read like collections reads the
ledger's accounts), at most once each by `dedupe_key`."""

import uuid
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    String,
    Uuid,
    case,
    cast,
    delete,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from app.collection.models import CollectionCase, PromiseToPay
from app.contracts.models import Contract
from app.core.principal import Principal
from app.core.scoping import readable
from app.customers.models import Customer
from app.ledger.models import EntryKind, LedgerAccount, LedgerEntry, LedgerItem
from app.messages.models import Message, MessageOptOut, MessageTemplate

PLACEHOLDERS = ("customer_name", "contract_number", "amount", "due_date")
REMINDER_HORIZON_DAYS = 60  # the most days_before a reminder template may say


# --- templates and lists ------------------------------------------------------------------------

def templates(principal: Principal) -> Select[Any]:
    return readable(principal, MessageTemplate)


async def template_for(session: AsyncSession, group_id: uuid.UUID, kind: str, channel: str) -> MessageTemplate | None:
    return await session.scalar(select(MessageTemplate).where(
        MessageTemplate.group_id == group_id, MessageTemplate.kind == kind, MessageTemplate.channel == channel,
        MessageTemplate.active.is_(True)))


async def template_taken(session: AsyncSession, group_id: uuid.UUID, kind: str, channel: str) -> bool:
    return bool(await session.scalar(select(exists().where(
        MessageTemplate.group_id == group_id, MessageTemplate.kind == kind, MessageTemplate.channel == channel))))


def messages(principal: Principal, *, case_id: uuid.UUID | None, customer_id: uuid.UUID | None,
             state: str | None) -> Select[Any]:
    stmt = readable(principal, Message)
    for column, value in ((Message.case_id, case_id), (Message.customer_id, customer_id), (Message.state, state)):
        if value is not None:
            stmt = stmt.where(column == value)
    return stmt


async def lock_message(session: AsyncSession, message_id: uuid.UUID) -> Message | None:
    return await session.scalar(select(Message).where(Message.id == message_id).with_for_update())


async def add_template(session: AsyncSession, template: MessageTemplate) -> MessageTemplate:
    session.add(template)
    await session.flush()  # the unique (group, kind, channel) is checked before: a race answers 409
    return template


async def add_message(session: AsyncSession, values: dict[str, Any]) -> Message:
    message = Message(**values)
    session.add(message)
    await session.flush()
    return message


async def hold_until(session: AsyncSession, message_ids: list[uuid.UUID], at: Any) -> None:
    """Hold the messages until `at`. Those the session holds as objects (one sent by hand, about to
    be answered) read it too: the bulk UPDATE's own synchronisation left them at None, so the 202
    said `not_before: null` for a message held till 08:00."""
    await session.execute(update(Message).where(Message.id.in_(message_ids)).values(not_before=at)
                          .execution_options(synchronize_session=False))
    for message_id in message_ids:
        held = session.identity_map.get(identity_key(Message, message_id))
        if held is not None:
            set_committed_value(held, "not_before", at)


async def recipients_of(session: AsyncSession, customer_id: uuid.UUID) -> tuple[str | None, str | None]:
    """(first phone, e-mail) of a customer (the case gave the caller the right to write to them)."""
    row = (await session.execute(select(Customer.phones[1], Customer.email).where(Customer.id == customer_id))).first()
    return (row[0], row[1]) if row else (None, None)


# --- opt-out ------------------------------------------------------------------------------------

async def opted_out(session: AsyncSession, customer_id: uuid.UUID) -> bool:
    return bool(await session.scalar(select(exists().where(MessageOptOut.customer_id == customer_id))))


async def opt_out(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(insert(MessageOptOut).values(**values).on_conflict_do_update(
        index_elements=["customer_id"], set_={"reason": values["reason"], "by_id": values["by_id"],
                                              "at": values["at"]}))


async def opt_in(session: AsyncSession, customer_id: uuid.UUID) -> bool:
    result = await session.execute(delete(MessageOptOut).where(MessageOptOut.customer_id == customer_id))
    return bool(result.rowcount)


# --- the close of business ----------------------------------------------------------------------

def _render(text: Any, src: Any) -> Any:
    """Placeholders replaced in SQL, as `service.render` does in Python."""
    values = {"customer_name": Customer.name, "contract_number": Contract.number, "amount": src.c.amount,
              "due_date": src.c.due_date}
    for name in PLACEHOLDERS:
        text = func.replace(text, "{" + name + "}", func.coalesce(values[name], ""))
    return text


def _open_case(contract_id: Any) -> Any:
    return (select(CollectionCase.id).where(CollectionCase.contract_id == contract_id, CollectionCase.state == "open")
            .limit(1).scalar_subquery())


def _source(kind: str, contract_id: Any, case_id: Any, amount: Any, due_date: Any, key: Any,
            lead_days: Any = None) -> Any:
    """A row of what the close of business may send: `lead_days`, for reminders, is how many days
    ahead the due date is (matched with the template's `days_before`)."""
    return (literal(kind, String(30)).label("kind"), contract_id.label("contract_id"), case_id.label("case_id"),
            cast(amount, String).label("amount"), cast(due_date, String).label("due_date"), key.label("key"),
            (cast(null(), Integer) if lead_days is None else lead_days).label("lead_days"))


def _key(prefix: str, *parts: Any) -> Any:
    out: Any = literal(prefix)
    for part in parts:
        out = out + ":" + cast(part, String)
    return out


def _reminders(day: date, company_ids: list[uuid.UUID]) -> Select[Any]:
    """Unpaid instalments falling due within the horizon (the template says how many days ahead)."""
    i = LedgerItem
    unpaid = (i.principal_due - i.principal_paid + i.interest_due - i.interest_paid - i.interest_waived
              + i.fee_due - i.fee_paid)
    return (select(*_source("payment_reminder", i.contract_id, _open_case(i.contract_id), unpaid, i.due_date,
                            _key("reminder", i.contract_id, i.instalment_number), i.due_date - day))
            .join(LedgerAccount, LedgerAccount.contract_id == i.contract_id)
            .where(i.kind == "instalment", i.due_date > day, i.due_date <= day + timedelta(days=REMINDER_HORIZON_DAYS),
                   unpaid > 0, LedgerAccount.settled.is_(False), LedgerAccount.company_id.in_(company_ids)))


def _overdue_notices(day: date, company_ids: list[uuid.UUID]) -> Select[Any]:
    """Cases opened on `day`."""
    c, a = CollectionCase, LedgerAccount
    return (select(*_source("overdue_notice", c.contract_id, c.id, a.overdue_amount, a.overdue_since,
                            _key("overdue", c.id)))
            .join(a, a.contract_id == c.contract_id).where(c.opened_on == day, c.company_id.in_(company_ids)))


def _broken_promises(day: date, company_ids: list[uuid.UUID]) -> Select[Any]:
    p = PromiseToPay
    return (select(*_source("promise_broken", p.contract_id, p.case_id, p.amount, p.promised_date,
                            _key("promise-broken", p.id)))
            .where(p.state == "broken", p.judged_on == day, p.company_id.in_(company_ids)))


def _settlements(day: date, company_ids: list[uuid.UUID]) -> Select[Any]:
    """Contracts settled (and not reversed: the account says settled) with a value date in the last week."""
    e, a = LedgerEntry, LedgerAccount
    return (select(*_source("settlement_confirmation", e.contract_id, cast(null(), Uuid), a.payoff, e.value_date,
                            _key("settled", e.contract_id)))
            .join(a, a.contract_id == e.contract_id)
            .where(e.kind == EntryKind.SETTLEMENT, a.settled.is_(True), e.value_date <= day,
                   e.value_date > day - timedelta(days=7), a.company_id.in_(company_ids)))


async def queue_day(session: AsyncSession, day: date, company_ids: Sequence[uuid.UUID]
                    ) -> list[tuple[uuid.UUID, uuid.UUID, str]]:
    """One statement: a message per row of the day's sources and active template of its kind of its
    group, to customers who did not opt out and have a number or an address for the channel; once
    each (`dedupe_key`). Returns (message id, company id, kind) of those new."""
    companies = list(company_ids)
    src = union_all(*(part(day, companies) for part in (_reminders, _overdue_notices, _broken_promises,
                                                           _settlements))).subquery("src")
    t = MessageTemplate
    recipient = case((t.channel == "sms", Customer.phones[1]), else_=Customer.email)
    rows = (select(func.gen_random_uuid(), Contract.group_id, Contract.company_id, Contract.customer_id,
                   src.c.contract_id, src.c.case_id, src.c.kind, t.channel, recipient, _render(t.subject, src),
                   _render(t.body, src), literal("queued"), src.c.key + ":" + t.channel)
            .select_from(src)
            .join(Contract, Contract.id == src.c.contract_id)
            .join(Customer, Customer.id == Contract.customer_id)
            .join(t, (t.group_id == Contract.group_id) & (t.kind == src.c.kind) & t.active.is_(True))
            .where(~exists().where(MessageOptOut.customer_id == Contract.customer_id), recipient.is_not(None),
                   or_(src.c.lead_days.is_(None), src.c.lead_days == t.days_before)))
    stmt = (insert(Message).from_select(
        ["id", "group_id", "company_id", "customer_id", "contract_id", "case_id", "kind", "channel", "recipient",
         "subject", "body", "state", "dedupe_key"], rows)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(Message.id, Message.company_id, Message.kind))
    return [(r[0], r[1], r[2]) for r in (await session.execute(stmt)).all()]


# --- the case timeline --------------------------------------------------------------------------

def timeline_part(case: CollectionCase) -> Select[Any]:
    return select(Message.created_at.label("at"), literal("message").label("kind"), Message.id.label("id"),
                  func.jsonb_build_object("channel", Message.channel, "message_kind", Message.kind,
                                          "state", Message.state, "body", Message.body,
                                          "sent_at", Message.sent_at).label("detail")
                  ).where(Message.case_id == case.id)
