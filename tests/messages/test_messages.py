"""Messages to customers: a reminder once per instalment, held in the quiet hours, never to a
customer who opted out; e-mail through SMTP (an aiosmtpd server); by hand from a case; on the
case's timeline."""

import asyncio
import socket
import uuid
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, text, update

from app.contracts.models import Contract
from app.core import queue
from app.core.config import get_settings
from app.customers.models import Customer
from app.messages import cob as messages_cob
from app.messages import delivery
from app.messages.models import Message

DAY = datetime(2026, 1, 28, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
NIGHT = datetime(2026, 1, 28, 14, 0, tzinfo=UTC)  # 22:00 in Shanghai


@pytest.fixture
def clock(monkeypatch):
    """clock(at): what the message sender takes for now."""

    def set_(at: datetime) -> None:
        monkeypatch.setattr(delivery, "utcnow", lambda: at)

    set_(DAY)
    return set_


async def _template(client, auth, **body) -> dict:
    response = await client.post("/api/v1/message-templates", json=body, headers=auth("admin"))
    assert response.status_code == 201, response.text
    return response.json()


async def _reachable(db, contract_id: str, *, phone: str | None = "+8613800138000", email: str | None = None):
    contract = await db.get(Contract, uuid.UUID(contract_id))
    await db.execute(update(Customer).where(Customer.id == contract.customer_id).values(
        phones=[phone] if phone else [], email=email))
    return contract


async def _messages(db, contract_id) -> list[Message]:
    return list((await db.execute(select(Message).where(Message.contract_id == contract_id)
                                  .order_by(Message.created_at).execution_options(populate_existing=True))).scalars())


async def _make_due(db) -> None:
    await db.execute(text("UPDATE pgqueuer SET execute_after = clock_timestamp() - interval '1 second' "
                          "WHERE entrypoint = 'message.send' AND status = 'queued'"))


async def test_a_reminder_is_sent_once_per_instalment_and_not_at_night(client, auth, db, shipped, clock):
    await _template(client, auth, kind="payment_reminder", channel="sms", days_before=3,
                    body="{customer_name}: {amount} due {due_date} on {contract_number}")
    contract = await _reachable(db, (await shipped())["id"])
    clock(NIGHT)
    for _ in range(2):  # the close of business runs twice for the day: still one reminder
        await messages_cob.day_closed(db, date(2026, 1, 28), [contract.company_id])
    [message] = await _messages(db, contract.id)
    assert (message.kind, message.channel, message.state) == ("payment_reminder", "sms", "queued")
    assert message.body.endswith(f"due 2026-01-31 on {contract.number}") and "{" not in message.body
    assert message.not_before == datetime(2026, 1, 29, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
    sent_before = len(delivery.ConsoleSms.sent)
    await queue.drain(db)
    assert len(delivery.ConsoleSms.sent) == sent_before  # held: the job waits for 08:00
    await _make_due(db)
    await queue.drain(db)  # due, but still night by the clock: held again
    assert (await _messages(db, contract.id))[0].state == "queued"
    clock(DAY)
    await _make_due(db)
    await queue.drain(db)
    [message] = await _messages(db, contract.id)
    assert message.state == "sent" and delivery.ConsoleSms.sent[-1]["idempotency_key"] == str(message.id)
    await messages_cob.day_closed(db, date(2026, 1, 28), [contract.company_id])
    assert len(await _messages(db, contract.id)) == 1


async def test_no_message_to_a_customer_who_opted_out(client, auth, db, shipped, clock):
    await _template(client, auth, kind="payment_reminder", channel="sms", days_before=3, body="Pay {amount}")
    contract = await _reachable(db, (await shipped())["id"])
    url = f"/api/v1/customers/{contract.customer_id}/message-opt-out"
    assert (await client.put(url, json={"reason": "asked by phone"}, headers=auth("clerk1"))).status_code == 204
    await messages_cob.day_closed(db, date(2026, 1, 28), [contract.company_id])
    assert await _messages(db, contract.id) == []
    # Opted out after a message was queued: suppressed when its time comes.
    assert (await client.delete(url, headers=auth("clerk1"))).status_code == 204
    await messages_cob.day_closed(db, date(2026, 1, 28), [contract.company_id])
    assert (await client.put(url, json={}, headers=auth("clerk1"))).status_code == 204
    await queue.drain(db)
    [message] = await _messages(db, contract.id)
    assert message.state == "suppressed"
    assert (await client.put(url, json={}, headers=auth("other-admin"))).status_code == 404


@pytest.fixture
def smtp_server(monkeypatch):
    received: list = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
            received.append(envelope)
            return "250 OK"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    settings = get_settings()
    for name, value in (("smtp_host", "127.0.0.1"), ("smtp_port", port), ("smtp_starttls", False)):
        monkeypatch.setattr(settings, name, value)
    yield received
    controller.stop()


async def test_an_overdue_notice_by_email_reaches_the_smtp_server_and_the_case_timeline(
        client, auth, db, overdue_case, clock, smtp_server):
    await _template(client, auth, kind="overdue_notice", channel="email", subject="逾期通知 {contract_number}",
                    body="{customer_name}, {amount} is overdue since {due_date}.")
    case = await overdue_case()
    await _reachable(db, str(case.contract_id), phone=None, email="finance@customer.example")
    await messages_cob.day_closed(db, case.opened_on, [case.company_id])
    await queue.drain(db)
    for _ in range(50):
        if smtp_server:
            break
        await asyncio.sleep(0.02)
    [envelope] = smtp_server
    assert envelope.rcpt_tos == ["finance@customer.example"]
    assert "is overdue since 2026-01-31" in envelope.content.decode()
    [message] = await _messages(db, case.contract_id)
    assert (message.state, message.case_id) == ("sent", case.id)
    timeline = await client.get(f"/api/v1/collection-cases/{case.id}/timeline", headers=auth("admin"))
    assert any(e["kind"] == "message" and e["id"] == str(message.id) for e in timeline.json()["items"])


async def test_a_collector_sends_a_message_by_hand_from_a_case(client, auth, db, org, overdue_case, clock):
    case = await overdue_case()
    await _reachable(db, str(case.contract_id))
    url = f"/api/v1/collection-cases/{case.id}/messages"
    outsider = await client.post(url, json={"channel": "sms", "body": "x"}, headers=auth("other-admin"))
    assert outsider.status_code == 404
    response = await client.post(url, json={"channel": "sms", "body": "Please call us about {contract_number}"},
                                 headers=auth("dispatcher"))
    assert response.status_code == 202, response.text
    sent = response.json()
    assert sent["state"] == "queued" and sent["recipient"] == "138****8000" and "{" not in sent["body"]
    no_template = await client.post(url, json={"channel": "email", "kind": "overdue_notice"},
                                    headers=auth("dispatcher"))
    assert no_template.status_code == 422 and no_template.json()["code"] == "message.no_template"
    await queue.drain(db)
    listed = await client.get("/api/v1/messages", params={"case_id": str(case.id)}, headers=auth("dispatcher"))
    assert [m["state"] for m in listed.json()["items"]] == ["sent"]


async def test_quiet_hours_are_21_to_8_in_the_companys_zone():
    shanghai = ZoneInfo("Asia/Shanghai")
    assert delivery.quiet_wait(datetime(2026, 1, 28, 2, 0, tzinfo=UTC), shanghai) is None  # 10:00
    assert delivery.quiet_wait(datetime(2026, 1, 28, 12, 59, tzinfo=UTC), shanghai) is None  # 20:59
    assert delivery.quiet_wait(datetime(2026, 1, 28, 13, 0, tzinfo=UTC), shanghai).total_seconds() == 11 * 3600
    assert delivery.quiet_wait(datetime(2026, 1, 27, 23, 30, tzinfo=UTC), shanghai).total_seconds() == 30 * 60


async def test_a_message_held_for_the_quiet_hours_answers_when_it_will_go(client, auth, db, overdue_case, clock):
    # Sent at 22:00 in Shanghai: the 202 says it goes at 08:00 there (00:00 UTC the next day), the
    # time the queue will send it, as the stored message does.
    case = await overdue_case()
    await _reachable(db, str(case.contract_id))
    clock(NIGHT)
    response = await client.post(f"/api/v1/collection-cases/{case.id}/messages",
                                 json={"channel": "sms", "body": "Please call us"}, headers=auth("dispatcher"))
    assert response.status_code == 202, response.text
    held = response.json()
    assert held["state"] == "queued" and held["not_before"] == "2026-01-29T00:00:00Z"
    listed = await client.get("/api/v1/messages", params={"case_id": str(case.id)}, headers=auth("dispatcher"))
    assert [m["not_before"] for m in listed.json()["items"]] == ["2026-01-29T00:00:00Z"]
    clock(DAY)
    by_day = await client.post(f"/api/v1/collection-cases/{case.id}/messages",
                               json={"channel": "sms", "body": "Please call us today"}, headers=auth("dispatcher"))
    assert by_day.status_code == 202 and by_day.json()["not_before"] is None
