"""The field surface: the worklist (exactly my open cases, by priority), a case (ETag and 304;
another collector's is 404), logs and requests retried offline, attachments retried, gzip."""

import uuid
from datetime import date

from sqlalchemy import update

from app.attachments.demo import sample_photo
from app.collection.models import CollectionCase
from tests.attachments.helpers import upload
from tests.collection.log_fixtures import at, log_body
from tests.field.conftest import MOBILE


async def _set(db, case_id, **values) -> None:
    await db.execute(update(CollectionCase).where(CollectionCase.id == case_id).values(**values))
    await db.flush()


async def test_the_worklist_holds_exactly_my_open_cases_in_priority_order(client, auth, db, open_case):
    low, high, closed = await open_case(), await open_case(), await open_case()
    theirs = await open_case(collector="collector2")
    logged = await client.post(f"{MOBILE}/cases/{low.id}/logs", headers=auth("collector1"), json=log_body())
    assert logged.status_code == 201, logged.text
    await _set(db, low.id, priority=10)
    await _set(db, high.id, priority=900)
    await _set(db, closed.id, state="closed", outcome="cured", closed_on=date(2026, 2, 10))

    response = await client.get(f"{MOBILE}/worklist", headers=auth("collector1"))
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    ids = [item["id"] for item in items]
    assert str(theirs.id) not in ids and str(closed.id) not in ids
    assert ids.index(str(high.id)) < ids.index(str(low.id))
    priorities = [item["priority"] for item in items]
    assert priorities == sorted(priorities, reverse=True)
    item = items[ids.index(str(low.id))]
    assert item["last_log"]["id"] == logged.json()["id"] and item["dpd"] > 0 and item["bucket"] != "current"
    assert item["contacts"] and all(not c["masked"] for c in item["contacts"])


async def test_a_case_carries_an_etag_answers_304_and_another_collectors_case_is_404(client, auth, open_case):
    mine, theirs = await open_case(), await open_case(collector="collector2")
    first = await client.get(f"{MOBILE}/cases/{mine.id}", headers=auth("collector1"))
    assert first.status_code == 200, first.text
    detail = first.json()
    assert detail["contract"]["id"] == str(mine.contract_id) and detail["schedule"]["overdue"] >= 1
    etag = first.headers["etag"]
    again = await client.get(f"{MOBILE}/cases/{mine.id}", headers=auth("collector1", **{"If-None-Match": etag}))
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    # A log changes what the case shows: the old ETag no longer matches.
    assert (await client.post(f"{MOBILE}/cases/{mine.id}/logs", headers=auth("collector1"),
                              json=log_body())).status_code == 201
    changed = await client.get(f"{MOBILE}/cases/{mine.id}", headers=auth("collector1", **{"If-None-Match": etag}))
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    hidden = await client.get(f"{MOBILE}/cases/{theirs.id}", headers=auth("collector1"))
    assert hidden.status_code == 404 and hidden.json()["code"] == "case.not_found"
    missing = await client.get(f"{MOBILE}/cases/{uuid.uuid4()}", headers=auth("collector1"))
    assert missing.status_code == 404 and missing.json()["code"] == "case.not_found"
    logs = await client.get(f"{MOBILE}/cases/{theirs.id}/logs", headers=auth("collector1"))
    assert logs.status_code == 404


async def test_logs_requests_and_attachments_retried_offline_answer_the_first_record(
        client, auth, open_case, request_flows):
    await request_flows()
    case = await open_case()
    headers = auth("collector1")
    photo = str(uuid.uuid4())
    uploads = [await upload(client, headers, sample_photo(), attachment_id=photo, path=f"{MOBILE}/attachments")
               for _ in range(2)]
    assert [u.status_code for u in uploads] == [201, 200], [u.text for u in uploads]
    assert uploads[0].json()["id"] == uploads[1].json()["id"]

    body = log_body(action="visit", result="promised", occurred_at=at(10, 1), attachment_ids=[photo])
    sent = [await client.post(f"{MOBILE}/cases/{case.id}/logs", headers=headers, json=body) for _ in range(2)]
    assert [s.status_code for s in sent] == [201, 200], [s.text for s in sent]
    assert sent[0].json() == sent[1].json() and sent[0].json()["attachment_ids"] == [photo]
    other = await client.post(f"{MOBILE}/cases/{case.id}/logs", headers=headers, json={**body, "notes": "改了"})
    assert other.status_code == 409 and other.json()["code"] == "log.conflicting_retry"

    waiver = {"client_ref": str(uuid.uuid4()), "contract_id": str(case.contract_id), "amount": "1.00",
              "reason": "客户困难"}
    filed = [await client.post(f"{MOBILE}/requests/interest-waiver", headers=headers, json=waiver) for _ in range(2)]
    assert [f.status_code for f in filed] == [201, 200], [f.text for f in filed]
    assert filed[0].json()["id"] == filed[1].json()["id"]
    assert filed[0].json()["status"] == "pending" and filed[0].json()["kind"] == "interest-waiver"
    assert filed[0].json()["amount"] == "1.00" and filed[0].json()["approval_id"]

    mine = await client.get(f"{MOBILE}/requests", headers=headers)
    assert [r["id"] for r in mine.json()["items"]] == [filed[0].json()["id"]]
    assert (await client.get(f"{MOBILE}/requests", headers=auth("collector2"))).json()["items"] == []


async def test_a_request_on_another_collectors_contract_is_404_and_bad_kinds_are_not_routes(
        client, auth, open_case, request_flows):
    await request_flows()
    theirs = await open_case(collector="collector2")
    body = {"contract_id": str(theirs.contract_id), "amount": "1.00", "reason": "客户困难"}
    refused = await client.post(f"{MOBILE}/requests/interest-waiver", headers=auth("collector1"),
                                json={**body, "client_ref": str(uuid.uuid4())})
    assert refused.status_code == 404, refused.text
    unknown = await client.post(f"{MOBILE}/requests/gps-fee", headers=auth("collector1"), json={})
    assert unknown.status_code in (404, 405)
    without_ref = await client.post(f"{MOBILE}/requests/interest-waiver", headers=auth("collector2"), json=body)
    assert without_ref.status_code == 422


async def test_responses_over_a_kibibyte_are_gzipped_on_the_field_surface(client, auth, open_case):
    for _ in range(3):
        await open_case()
    response = await client.get(f"{MOBILE}/worklist", headers=auth("collector1", **{"Accept-Encoding": "gzip"}))
    assert response.status_code == 200 and len(response.content) > 1024
    assert response.headers["content-encoding"] == "gzip"
    small = await client.get(f"{MOBILE}/requests", headers=auth("collector1", **{"Accept-Encoding": "gzip"}))
    assert "content-encoding" not in small.headers
    platform = await client.get("/api/v1/collection-cases?assigned_to=me",
                                headers=auth("collector1", **{"Accept-Encoding": "gzip"}))
    assert "content-encoding" not in platform.headers
