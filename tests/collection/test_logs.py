"""Collection logs through the API: who may log (the collector, a dispatcher; a reassigned collector
for what happened before the move), the offline retry (same id and body → the stored log, even
concurrently; another body → 409), the rules on time, contact and promise, voiding, and scope."""

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import httpx
from sqlalchemy import delete, func, select, update

from app.collection.models import CollectionCase, CollectionLog, PromiseToPay
from app.collection.priority import priority
from app.contracts.models import Contract
from app.core import clock
from app.core import db as core_db
from app.core.business_date import business_date as date_in_zone
from app.core.business_date import business_zone
from app.customers.models import Customer
from app.ledger import repository as ledger_repo
from tests.collection.log_fixtures import *  # noqa: F403 - the fixtures
from tests.collection.log_fixtures import TODAY, at, log_body, uploaded
from tests.conftest import token_for


async def _case_row(db, case) -> CollectionCase:
    return await db.get(CollectionCase, case.id, populate_existing=True)


async def test_the_collector_logs_a_contact_and_the_case_follows(client, auth, db, open_case):
    case = await open_case()
    body = log_body(contact_id=str(case.contact_id), person=None, action="visit", result="refused",
                    notes="客户不在\n明天再来",
                    location={"latitude": 31.2304161, "longitude": 121.473701, "accuracy_m": 12},
                    attachment_ids=[await uploaded(client, auth)])
    response = await client.post(case.logs, json=body, headers=auth("collector1"))
    assert response.status_code == 201, response.text
    log = response.json()
    assert response.headers["Location"] == f"/api/v1/collection-logs/{body['id']}"
    assert log["id"] == body["id"] and log["contact_id"] == str(case.contact_id) and log["person"] is None
    assert log["location"] == {"latitude": 31.230416, "longitude": 121.473701, "accuracy_m": 12}
    assert log["attachment_ids"] == body["attachment_ids"] and log["evidence_mismatch"] is False
    assert log["promise"] is None and log["voided_at"] is None
    row = await _case_row(db, case)
    assert row.last_contact_at == datetime(2026, 2, 10, 2, tzinfo=UTC)
    # M1 (10 days past due), the overdue amount, no promise, contacted today (0 days).
    account = await ledger_repo.account(db, case.contract_id)
    assert (account.bucket, account.dpd) == ("M1", 10)
    assert row.priority == priority("M1", account.overdue_amount, 0, 0)
    got = await client.get(f"/api/v1/collection-logs/{log['id']}", headers=auth("collector1"))
    assert got.status_code == 200 and got.json() == log and got.headers["ETag"] == 'W/"1"'
    listed = await client.get(case.logs, headers=auth("dispatcher"))
    assert [x["id"] for x in listed.json()["items"]] == [log["id"]]


async def test_the_same_upload_again_answers_the_stored_log_and_another_body_409(client, auth, db, open_case):
    case = await open_case()
    body = log_body(promise={"amount": "5000", "date": "2026-02-20"}, result="promised", notes="第一行\n第二行",
                    location={"latitude": 31.23041649, "longitude": -0.00001, "accuracy_m": 8},
                    attachment_ids=[await uploaded(client, auth), await uploaded(client, auth)])
    first = await client.post(case.logs, json=body, headers=auth("collector1"))
    assert first.status_code == 201, first.text
    # The same instant in the phone's own zone, the same amount written otherwise: the same body.
    again = {**body, "occurred_at": "2026-02-10T10:00:00+08:00", "promise": {"amount": "5000.00", "date": "2026-02-20"}}
    second = await client.post(case.logs, json=again, headers=auth("collector1"))
    assert second.status_code == 200, second.text
    assert second.json() == first.json()
    other = await client.post(case.logs, json={**body, "notes": "changed"}, headers=auth("collector1"))
    assert other.status_code == 409 and other.json()["code"] == "log.conflicting_retry"
    stranger = await client.post(case.logs, json=body, headers=auth("dispatcher"))
    assert stranger.status_code == 409 and stranger.json()["code"] == "log.conflicting_retry"
    assert await db.scalar(select(func.count()).select_from(PromiseToPay).where(
        PromiseToPay.case_id == case.id)) == 1
    # Whatever happened since (the case moved, then closed), the retry still gets its log.
    await db.execute(update(CollectionCase).where(CollectionCase.id == case.id).values(
        collector_id=None, state="closed", outcome="cured", closed_on=TODAY))
    assert (await client.post(case.logs, json=body, headers=auth("collector1"))).status_code == 200


async def test_logging_by_the_wrong_collector_is_refused(client, auth, open_case):
    case = await open_case()
    # collector2 sees only their own cases: this one is as missing to them.
    response = await client.post(case.logs, json=log_body(), headers=auth("collector2"))
    assert response.status_code == 404 and response.json()["code"] == "case.not_found"
    # The leader reads C01's cases but neither holds nor dispatches this one.
    response = await client.post(case.logs, json=log_body(), headers=auth("leader"))
    assert response.status_code == 409 and response.json()["code"] == "case.not_assigned_to_you"
    response = await client.post(case.logs, json=log_body(), headers=auth("other-admin"))
    assert response.status_code == 404 and response.json()["code"] == "case.not_found"
    response = await client.post(case.logs, json=log_body(), headers=auth("dispatcher"))
    assert response.status_code == 201, response.text


async def test_a_log_that_occurred_before_a_reassignment_is_accepted_one_after_is_not(client, auth, open_case,
                                                                                         reassign):
    case = await open_case()
    await reassign(case, "collector2", datetime(2026, 2, 10, 6, tzinfo=UTC))
    before = await client.post(case.logs, json=log_body(occurred_at=at(10, 5, 59)), headers=auth("collector1"))
    assert before.status_code == 201, before.text
    after = await client.post(case.logs, json=log_body(occurred_at=at(10, 6, 1)), headers=auth("collector1"))
    assert after.status_code == 409 and after.json()["code"] == "case.not_assigned_to_you"
    now = await client.post(case.logs, json=log_body(occurred_at=at(10, 7)), headers=auth("collector2"))
    assert now.status_code == 201, now.text
    # The old collector no longer reads the case, but still their own logs.
    assert (await client.get(case.logs, headers=auth("collector1"))).status_code == 404
    own = await client.get("/api/v1/collection-logs", headers=auth("collector1"))
    assert [x["id"] for x in own.json()["items"]] == [before.json()["id"]]


async def test_bad_logs_are_422_problems_with_their_codes(client, auth, db, open_case):
    case = await open_case()
    future = (clock.now() + timedelta(minutes=10)).isoformat()
    cases = [
        (log_body(occurred_at=future), "log.occurred_in_future"),
        (log_body(occurred_at="2026-01-31T15:59:00Z"), "log.before_case"),  # 23:59 in Shanghai, the day before
        (log_body(contact_id=str(uuid.uuid4())), "log.person_required"),  # both
        (log_body(person=None), "log.person_required"),  # neither
        (log_body(person=None, contact_id=str(uuid.uuid4())), "log.contact_not_of_customer"),
        (log_body(promise={"amount": "0", "date": "2026-02-20"}), "promise.invalid"),
        (log_body(promise={"amount": "100", "date": "2026-02-09"}), "promise.invalid"),
        # More than PROMISE_MAX_DAYS (90) after the business date: a promise that would hold tow and lock for ever.
        (log_body(promise={"amount": "100", "date": "2026-05-12"}), "promise.invalid"),
        (log_body(promise={"amount": "100", "date": "2099-12-31"}), "promise.invalid"),
    ]
    for body, code in cases:
        response = await client.post(case.logs, json=body, headers=auth("collector1"))
        assert (response.status_code, response.json().get("code")) == (422, code), (code, response.text)
    opened = await client.post(case.logs, json=log_body(occurred_at="2026-01-31T16:00:00Z"), headers=auth("collector1"))
    assert opened.status_code == 201, opened.text
    furthest = await client.post(case.logs, json=log_body(promise={"amount": "100", "date": "2026-05-11"}),
                                 headers=auth("collector1"))
    assert furthest.status_code == 201, furthest.text
    malformed = await client.post(case.logs, json=log_body(occurred_at="2026-02-10T10:00:00"),
                                  headers=auth("collector1"))
    assert malformed.status_code == 422
    await db.execute(update(CollectionCase).where(CollectionCase.id == case.id).values(
        state="closed", outcome="cured", closed_on=TODAY))
    closed = await client.post(case.logs, json=log_body(), headers=auth("collector1"))
    assert closed.status_code == 409 and closed.json()["code"] == "case.closed"


async def test_a_newer_promise_supersedes_the_pending_one(client, auth, db, open_case):
    case = await open_case()
    first = (await client.post(case.logs, json=log_body(occurred_at=at(10, 2), promise={
        "amount": "1000", "date": "2026-02-15"}), headers=auth("collector1"))).json()
    second = (await client.post(case.logs, json=log_body(occurred_at=at(10, 4), promise={
        "amount": "2000", "date": "2026-02-16"}), headers=auth("collector1"))).json()
    # Uploaded late, made before the second: history, superseded at once.
    late = (await client.post(case.logs, json=log_body(occurred_at=at(10, 3), promise={
        "amount": "3000", "date": "2026-02-17"}), headers=auth("collector1"))).json()
    states = {p.log_id: p.state for p in (await db.scalars(select(PromiseToPay).where(
        PromiseToPay.case_id == case.id).execution_options(populate_existing=True)))}
    assert states == {uuid.UUID(first["id"]): "superseded", uuid.UUID(second["id"]): "pending",
                      uuid.UUID(late["id"]): "superseded"}
    assert second["promise"]["state"] == "pending" and second["promise"]["created_on"] == "2026-02-10"
    assert (await _case_row(db, case)).active_promise_id == uuid.UUID(second["promise"]["id"])
    listed = await client.get("/api/v1/promises", params={"state": "pending"}, headers=auth("dispatcher"))
    assert [p["id"] for p in listed.json()["items"]] == [second["promise"]["id"]]


async def test_void_rules(client, auth, db, open_case):
    case = await open_case()
    log = (await client.post(case.logs, json=log_body(promise={"amount": "1000", "date": "2026-02-15"}),
                             headers=auth("collector1"))).json()
    url = f"/api/v1/collection-logs/{log['id']}/void"
    assert (await client.post(url, json={"reason": "x"}, headers=auth("collector2"))).status_code == 404
    stale = await client.post(url, json={"reason": "x"}, headers=auth("collector1", **{"If-Match": 'W/"7"'}))
    assert stale.status_code == 412
    voided = await client.post(url, json={"reason": "记错客户"}, headers=auth("collector1"))
    assert voided.status_code == 200, voided.text
    assert voided.json()["void_reason"] == "记错客户" and voided.json()["promise"]["state"] == "superseded"
    assert voided.headers["ETag"] == 'W/"2"'
    row = await _case_row(db, case)
    assert row.active_promise_id is None and row.last_contact_at is None
    twice = await client.post(url, json={"reason": "again"}, headers=auth("dispatcher"))
    assert twice.status_code == 409 and twice.json()["code"] == "log.already_voided"

    old = (await client.post(case.logs, json=log_body(), headers=auth("collector1"))).json()
    await db.execute(update(CollectionLog).where(CollectionLog.id == uuid.UUID(old["id"])).values(
        recorded_at=clock.now() - timedelta(hours=25)))
    url = f"/api/v1/collection-logs/{old['id']}/void"
    late = await client.post(url, json={"reason": "too late"}, headers=auth("collector1"))
    assert late.status_code == 403 and late.json()["code"] == "log.void_not_allowed"
    by_dispatcher = await client.post(url, json={"reason": "派工作废"}, headers=auth("dispatcher"))
    assert by_dispatcher.status_code == 200 and by_dispatcher.json()["voided_by_id"] == str(
        (await client.get("/api/v1/me", headers=auth("dispatcher"))).json()["id"])


async def test_scope_of_the_log_lists(client, auth, open_case):
    case = await open_case()
    mine = (await client.post(case.logs, json=log_body(), headers=auth("collector1"))).json()
    theirs = (await client.post(case.logs, json=log_body(occurred_at=at(10, 3)), headers=auth("dispatcher"))).json()
    own = await client.get("/api/v1/collection-logs", headers=auth("collector1"))
    assert [x["id"] for x in own.json()["items"]] == [mine["id"]]
    company = await client.get("/api/v1/collection-logs", params={"case_id": str(case.id)}, headers=auth("dispatcher"))
    assert [x["id"] for x in company.json()["items"]] == [theirs["id"], mine["id"]]
    filtered = await client.get("/api/v1/collection-logs", params={
        "case_id": str(case.id), "occurred_from": at(10, 2, 30), "action": "call"}, headers=auth("leader"))
    assert [x["id"] for x in filtered.json()["items"]] == [theirs["id"]]
    for url in (f"/api/v1/collection-logs/{mine['id']}", case.logs):
        response = await client.get(url, headers=auth("other-admin"))
        assert response.status_code == 404, url
    assert (await client.get(f"/api/v1/collection-logs/{mine['id']}", headers=auth("other-admin"))).json()[
        "code"] == "log.not_found"
    assert (await client.get("/api/v1/collection-logs", headers=auth("other-admin"))).json()["items"] == []
    assert (await client.get("/api/v1/promises", headers=auth("other-admin"))).json()["items"] == []


async def test_list_pages_are_bounded_in_queries(client, auth, open_case, count_queries):
    case = await open_case()
    for minute in range(3):
        await client.post(case.logs, json=log_body(occurred_at=at(10, 3, minute), promise={
            "amount": "10", "date": "2026-02-20"}), headers=auth("collector1"))
    counts = []
    await client.get("/api/v1/collection-logs", headers=auth("dispatcher"))  # the principal, cached
    for limit in (1, 3):
        async with count_queries() as counted:
            response = await client.get("/api/v1/collection-logs", params={"limit": limit}, headers=auth("dispatcher"))
        assert len(response.json()["items"]) == limit
        counts.append(counted.n)
    assert counts[0] == counts[1]


async def test_concurrent_uploads_of_one_log_store_it_once(org, engine):
    """Real sessions (each request its own connection and commit) on a committed case."""
    from app.main import create_app

    c01, sales1 = org.companies["C01"], org.users["sales1"]
    customer = Customer(id=uuid.uuid4(), group_id=org.group.id, company_id=c01.id, name="并发日志客户",
                        name_norm=f"concurrent-log-{uuid.uuid4()}", owner_id=sales1.id, created_by_id=sales1.id)
    contract = Contract(id=uuid.uuid4(), group_id=org.group.id, company_id=c01.id, requester_id=sales1.id,
                        number=f"HT-RACE-{uuid.uuid4().hex[:8]}", customer_id=customer.id, owner_id=sales1.id,
                        sale_kind="instalment_sale", price=Decimal("1000"), down_payment=Decimal("0"),
                        annual_rate=Decimal("0"), term_months=1, first_due_date=date(2026, 1, 31),
                        schedule_kind="annuity", penalty_daily_rate=Decimal("0.0005"),
                        allocation_order=["penalty", "fee", "interest", "principal"])
    case = CollectionCase(id=uuid.uuid4(), group_id=org.group.id, company_id=c01.id, contract_id=contract.id,
                          customer_id=customer.id, opened_on=date(2026, 2, 1), state="open", priority=0,
                          collector_id=org.users["collector1"].id)
    async with core_db.session_factory()() as session:
        session.add(customer)
        await session.flush()
        session.add(contract)
        await session.flush()
        session.add(case)
        await session.commit()
    in_a_month = date_in_zone(clock.now(), business_zone()) + timedelta(days=30)  # the real business date here
    body = log_body(promise={"amount": "100", "date": in_a_month.isoformat()})
    app = create_app()
    headers = {"Authorization": f"Bearer {token_for(org, 'collector1')}"}
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            responses = await asyncio.gather(*(client.post(f"/api/v1/collection-cases/{case.id}/logs", json=body,
                                                           headers=headers) for _ in range(3)))
        assert sorted(r.status_code for r in responses) == [200, 200, 201], [r.text for r in responses]
        assert len({r.json()["promise"]["id"] for r in responses}) == 1
        async with core_db.session_factory()() as session:
            assert await session.scalar(select(func.count()).select_from(CollectionLog).where(
                CollectionLog.case_id == case.id)) == 1
            assert await session.scalar(select(func.count()).select_from(PromiseToPay).where(
                PromiseToPay.case_id == case.id)) == 1
    finally:
        async with core_db.session_factory()() as session:
            await session.execute(update(CollectionCase).where(CollectionCase.id == case.id)
                                  .values(active_promise_id=None))
            await session.execute(delete(PromiseToPay).where(PromiseToPay.case_id == case.id))
            await session.execute(delete(CollectionLog).where(CollectionLog.case_id == case.id))
            await session.execute(delete(CollectionCase).where(CollectionCase.id == case.id))
            await session.execute(delete(Contract).where(Contract.id == contract.id))
            await session.execute(delete(Customer).where(Customer.id == customer.id))
            await session.commit()
