"""Sending a message: the `message.send` queue job, the SMS provider adapters and SMTP e-mail.

Rules at the moment of sending (a job may run long after it was queued): a message is sent once
(its state is checked under a row lock), never to a customer who has opted out since (suppressed),
never in the quiet hours of its company's zone (the job is queued again for 08:00)."""

import logging
import uuid
from datetime import datetime, time, timedelta
from email.message import EmailMessage
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import aiosmtplib
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import queue
from app.core.config import get_settings
from app.core.db import utcnow
from app.messages import repository as repo
from app.org import repository as org_repo

log = logging.getLogger("recourse.messages")

SEND = "message.send"
QUIET_FROM, QUIET_UNTIL = time(21, 0), time(8, 0)


def quiet_wait(now: datetime, zone: ZoneInfo) -> timedelta | None:
    """How long until 08:00 local when `now` is in the quiet hours (21:00-08:00); None otherwise."""
    local = now.astimezone(zone)
    if QUIET_UNTIL <= local.time() < QUIET_FROM:
        return None
    day = local.date() + timedelta(days=1) if local.time() >= QUIET_FROM else local.date()
    return datetime.combine(day, QUIET_UNTIL, tzinfo=zone) - now


class SmsProvider(Protocol):
    async def send(self, *, to: str, body: str, idempotency_key: str) -> None: ...


class ConsoleSms:
    """Logs the message instead of sending it: the default until a gateway's adapter is set."""

    sent: list[dict[str, str]] = []  # noqa: RUF012 - the last messages, for demos and tests

    async def send(self, *, to: str, body: str, idempotency_key: str) -> None:
        log.info("sms", extra={"to": to, "body": body, "idempotency_key": idempotency_key})
        self.sent.append({"to": to, "body": body, "idempotency_key": idempotency_key})
        del self.sent[:-100]


SMS_PROVIDERS: dict[str, SmsProvider] = {"console": ConsoleSms()}


def sms_provider() -> SmsProvider:
    return SMS_PROVIDERS[get_settings().sms_provider]


async def send_email(*, to: str, subject: str, body: str, message_id: str) -> None:
    settings = get_settings()
    if not settings.smtp_host:
        raise queue.GiveUp("SMTP_HOST is not set: e-mail cannot be sent")
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = settings.smtp_sender, to, subject
    mail["Message-ID"] = f"<{message_id}@recourse>"
    mail.set_content(body)
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    await aiosmtplib.send(mail, hostname=settings.smtp_host, port=settings.smtp_port,
                          username=settings.smtp_username, password=password,
                          start_tls=settings.smtp_starttls, timeout=30)


async def enqueue(session: AsyncSession, messages: list[tuple[uuid.UUID, uuid.UUID]]) -> None:
    """Queue a send job per (message id, company id), delayed to 08:00 for those in the quiet hours
    of their company's zone (the message's `not_before` says so)."""
    if not messages:
        return
    zones = await org_repo.company_zones(session, {company_id for _, company_id in messages})
    now = utcnow()
    waits = {company_id: quiet_wait(now, zone) for company_id, (_, zone) in zones.items()}
    for company_id, wait in waits.items():
        if wait is not None:
            await repo.hold_until(session, [m for m, c in messages if c == company_id], now + wait)
    for message_id, company_id in messages:
        await queue.enqueue(session, SEND, {"message_id": str(message_id)}, delay=waits[company_id])


@queue.handler(SEND, max_attempts=8, backoff_seconds=60, max_backoff_seconds=3600)
async def send(session: AsyncSession, payload: dict[str, Any], attempt: int) -> None:
    message = await repo.lock_message(session, uuid.UUID(payload["message_id"]))
    if message is None or message.state != "queued":
        return
    if await repo.opted_out(session, message.customer_id):
        message.state, message.error = "suppressed", "The customer opted out"
        await session.flush()
        return
    if not message.recipient:
        message.state, message.error = "failed", "No phone number or e-mail address"
        await session.flush()
        return
    now = utcnow()
    zones = await org_repo.company_zones(session, [message.company_id])
    wait = quiet_wait(now, zones[message.company_id][1])
    if wait is not None:
        message.not_before = now + wait
        await queue.enqueue(session, SEND, payload, delay=wait)
        await session.flush()
        return
    if message.channel == "sms":
        await sms_provider().send(to=message.recipient, body=message.body, idempotency_key=str(message.id))
    else:
        await send_email(to=message.recipient, subject=message.subject or "", body=message.body,
                         message_id=str(message.id))
    message.state, message.sent_at, message.error = "sent", now, None
    await session.flush()


@send.on_give_up
async def send_failed(session: AsyncSession, payload: dict[str, Any], reason: str) -> None:
    message = await repo.lock_message(session, uuid.UUID(payload["message_id"]))
    if message is not None and message.state == "queued":
        message.state, message.error = "failed", reason[:500]
        await session.flush()
