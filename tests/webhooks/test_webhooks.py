"""Webhooks: Standard Webhooks signatures, at least once with retries, in order per contract,
durable across a restart, SSRF refused, redelivery, disabled after persistent failure."""

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text, update
from standardwebhooks import Webhook

from app.core import events, queue
from app.core.config import get_settings
from app.core.events import IntegrationEvent
from app.notifications.models import Notification
from app.webhooks.endpoint import check_url
from app.webhooks.errors import WebhookUrlRefused
from app.webhooks.models import WebhookDelivery, WebhookSubscription
from app.webhooks.service import purge_job

SUBS = "/api/v1/webhook-subscriptions"


async def _subscribe(client, auth, url: str, types=("payment.recorded",)) -> dict:
    response = await client.post(SUBS, json={"url": url, "event_types": list(types)}, headers=auth("admin"))
    assert response.status_code == 201, response.text
    return response.json()


async def _publish(db, org, key: str, n: int = 1, event_type: str = "payment.recorded") -> list[str]:
    return [str(await events.publish(db, event_type, {"contract_id": key, "n": i}, group_id=org.group.id,
                                     ordering_key=key)) for i in range(n)]


async def _make_retries_due(db) -> None:
    await db.execute(text("UPDATE pgqueuer SET execute_after = clock_timestamp() - interval '1 second' "
                          "WHERE entrypoint = 'webhook.deliver' AND status = 'queued'"))


async def _deliveries(client, auth, sub_id: str) -> list[dict]:
    response = await client.get(f"{SUBS}/{sub_id}/deliveries", headers=auth("admin"))
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_a_delivery_is_signed_as_standard_webhooks_and_verifies(client, auth, db, org, receiver):
    sub = await _subscribe(client, auth, receiver.url)
    assert sub["secret"].startswith("whsec_")
    assert "secret" not in (await client.get(f"{SUBS}/{sub['id']}", headers=auth("admin"))).json()
    [event_id] = await _publish(db, org, "contract-a")
    await queue.drain(db)
    [request] = receiver.requests
    payload = Webhook(sub["secret"]).verify(request["body"], request["headers"])
    assert request["headers"]["webhook-id"] == event_id
    assert payload["type"] == "payment.recorded" and payload["data"] == {"contract_id": "contract-a", "n": 0}
    with pytest.raises(Exception):  # noqa: B017 - any verification error
        Webhook("whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB").verify(request["body"], request["headers"])


async def test_a_receiver_failing_twice_gets_the_events_once_acknowledged_in_order_after_retries(
        client, auth, db, org, receiver):
    sub = await _subscribe(client, auth, receiver.url)
    first, second = await _publish(db, org, "contract-a", 2)
    receiver.failures[first] = 2
    [other] = await _publish(db, org, "contract-b")
    await queue.drain(db)
    # The first failed; the second waits behind it (same contract); another contract is not held up.
    assert [r["headers"]["webhook-id"] for r in receiver.requests] == [first, other]
    assert receiver.acknowledged() == [other]
    await queue.drain(db)
    assert len(receiver.requests) == 2  # the retry waits for its backoff: nothing due now
    await _make_retries_due(db)
    await queue.drain(db)
    await _make_retries_due(db)
    await queue.drain(db)
    assert receiver.acknowledged() == [other, first, second]
    log = {d["event_id"]: d for d in await _deliveries(client, auth, sub["id"])}
    assert (log[first]["state"], log[first]["attempts"], log[first]["last_status"]) == ("delivered", 3, 200)
    assert (log[second]["state"], log[second]["attempts"]) == ("delivered", 1)


async def test_a_retry_is_a_queued_job_in_the_database_and_a_new_worker_delivers_it(client, auth, db, org, receiver):
    sub = await _subscribe(client, auth, receiver.url)
    receiver.statuses = [502]
    [event_id] = await _publish(db, org, "contract-a")
    await queue.drain(db)
    [delivery] = await _deliveries(client, auth, sub["id"])
    assert (delivery["state"], delivery["last_error"], delivery["next_attempt_at"] is not None) == (
        "pending", "HTTP 502", True)
    # What survives a restart is what is in the table: the retry, queued for later.
    queued = (await db.execute(text(
        "SELECT count(*) FROM pgqueuer WHERE entrypoint = 'webhook.deliver' AND status = 'queued' "
        "AND execute_after > clock_timestamp() AND convert_from(payload, 'UTF8')::jsonb ->> 'delivery_id' = :id"),
        {"id": delivery["id"]})).scalar_one()
    assert queued == 1
    await _make_retries_due(db)
    await queue.drain(db)  # a fresh drain: no state carried over but the table's
    assert receiver.acknowledged() == [event_id]


async def test_urls_into_private_loopback_link_local_or_plain_http_are_refused(client, auth):
    for url in ("https://10.1.2.3/hook", "https://192.168.0.10/hook", "https://169.254.169.254/latest",
                "https://127.0.0.1/hook", "https://[::1]/hook", "https://100.64.0.1/x", "http://93.184.215.14/x",
                "ftp://example.com/x", "https://user:pw@93.184.215.14/x", "https://0.0.0.0/x"):
        response = await client.post(SUBS, json={"url": url, "event_types": ["payment.recorded"]},
                                     headers=auth("admin"))
        assert response.status_code == 422, (url, response.text)
        assert response.json()["code"] == "webhook.url_refused"
    assert (await client.post(SUBS, json={"url": "https://93.184.215.14/x", "event_types": ["payment.recorded"]},
                              headers=auth("admin"))).status_code == 201


async def test_loopback_http_only_with_the_setting(receiver, monkeypatch):
    await check_url(receiver.url)
    monkeypatch.setattr(get_settings(), "webhooks_allow_loopback", False)
    with pytest.raises(WebhookUrlRefused):
        await check_url(receiver.url)


async def test_redelivery_sends_the_same_event_again(client, auth, db, org, receiver):
    sub = await _subscribe(client, auth, receiver.url)
    [event_id] = await _publish(db, org, "contract-a")
    await queue.drain(db)
    [delivery] = await _deliveries(client, auth, sub["id"])
    response = await client.post(f"{SUBS}/{sub['id']}/deliveries/{delivery['id']}/redeliver", headers=auth("admin"))
    assert response.status_code == 202, response.text
    assert response.json()["redelivery_of_id"] == delivery["id"]
    await queue.drain(db)
    assert receiver.acknowledged() == [event_id, event_id]
    missing = await client.post(f"{SUBS}/{sub['id']}/deliveries/{uuid.uuid4()}/redeliver", headers=auth("admin"))
    assert missing.status_code == 404


async def test_persistent_failure_for_three_days_disables_the_subscription_and_tells_its_owner(
        client, auth, db, org, receiver):
    sub = await _subscribe(client, auth, receiver.url)
    receiver.statuses = [500]
    first, second = await _publish(db, org, "contract-a", 2)
    await db.execute(update(WebhookDelivery).where(WebhookDelivery.subscription_id == uuid.UUID(sub["id"]))
                     .values(created_at=func.now() - timedelta(days=3)))
    await queue.drain(db)
    stored = await db.get(WebhookSubscription, uuid.UUID(sub["id"]), populate_existing=True)
    assert not stored.active and "failed for 3 days" in stored.disabled_reason
    assert await db.scalar(select(func.count()).where(
        Notification.user_id == org.users["admin"].id, Notification.kind == "webhook.disabled")) == 1
    log = {d["event_id"]: d["state"] for d in await _deliveries(client, auth, sub["id"])}
    assert log == {first: "failed", second: "pending"}
    # Re-activated: what was pending goes out.
    etag = (await client.get(f"{SUBS}/{sub['id']}", headers=auth("admin"))).headers["etag"]
    response = await client.patch(f"{SUBS}/{sub['id']}", json={"active": True},
                                  headers=auth("admin", **{"If-Match": etag}))
    assert response.status_code == 200 and response.json()["disabled_at"] is None
    await queue.drain(db)
    assert receiver.acknowledged() == [second]


async def test_rotation_signs_with_both_secrets_for_a_day(client, auth, db, org, receiver):
    sub = await _subscribe(client, auth, receiver.url)
    etag = (await client.get(f"{SUBS}/{sub['id']}", headers=auth("admin"))).headers["etag"]
    rotated = await client.post(f"{SUBS}/{sub['id']}/rotate-secret", headers=auth("admin", **{"If-Match": etag}))
    assert rotated.status_code == 200 and rotated.json()["secret"] != sub["secret"]
    await _publish(db, org, "contract-a")
    await queue.drain(db)
    [request] = receiver.requests
    for secret in (sub["secret"], rotated.json()["secret"]):
        Webhook(secret).verify(request["body"], request["headers"])


async def test_subscriptions_are_the_groups_and_need_the_permission(client, auth, org, receiver):
    sub = await _subscribe(client, auth, receiver.url)
    assert (await client.get(SUBS, headers=auth("leader"))).status_code == 403
    assert (await client.get(f"{SUBS}/{uuid.uuid4()}", headers=auth("admin"))).status_code == 404
    for path in (f"{SUBS}/{sub['id']}", f"{SUBS}/{sub['id']}/deliveries"):
        assert (await client.get(path, headers=auth("other-admin"))).status_code == 404
    assert sub["id"] not in {s["id"] for s in (await client.get(SUBS, headers=auth("other-admin"))).json()["items"]}
    listed = (await client.get(SUBS, headers=auth("admin"))).json()["items"]
    assert sub["id"] in {s["id"] for s in listed}
    bad = await client.post(SUBS, json={"url": receiver.url, "event_types": ["no.such"]}, headers=auth("admin"))
    assert bad.status_code == 422


async def test_an_event_of_a_type_not_subscribed_is_not_delivered(client, auth, db, org, receiver):
    await _subscribe(client, auth, receiver.url, types=("contract.shipped",))
    await _publish(db, org, "contract-a")
    await queue.drain(db)
    assert receiver.requests == []


async def test_the_purge_keeps_thirty_days_and_what_is_pending(client, auth, db, org, receiver):
    sub = await _subscribe(client, auth, receiver.url)
    [delivered] = await _publish(db, org, "contract-a")
    await queue.drain(db)
    receiver.failures[(pending := (await _publish(db, org, "contract-b"))[0])] = 1
    await queue.drain(db)
    old = func.now() - timedelta(days=31)
    await db.execute(update(WebhookDelivery).where(WebhookDelivery.subscription_id == uuid.UUID(sub["id"]))
                     .values(created_at=old))
    await db.execute(update(IntegrationEvent).where(IntegrationEvent.id.in_([uuid.UUID(delivered),
                                                                              uuid.UUID(pending)]))
                     .values(occurred_at=old))
    counts = await purge_job(db)
    assert counts["deliveries"] >= 1 and counts["events"] >= 1
    assert [d["event_id"] for d in await _deliveries(client, auth, sub["id"])] == [pending]
