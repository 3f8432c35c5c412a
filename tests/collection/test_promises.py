"""Promises to pay: judged by the close of business on their date from the payments that stand
(kept, broken, partially kept = broken with what was paid), exactly once; broken ones notify the
collector and the dispatchers; the hold on repossession while one is pending."""

import uuid
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.collection.errors import PromiseHold
from app.collection.models import CollectionCase, PromiseToPay
from app.collection.promises import judge_promises, pending_promise_hold
from app.ledger import cob as ledger_cob
from app.notifications.models import Notification
from tests.collection.log_fixtures import *  # noqa: F403 - the fixtures
from tests.collection.log_fixtures import at, log_body

PAYMENTS = "/api/v1/contracts/{}/payments"


@pytest.fixture
def promised(client, auth):
    async def make(case, amount: str, due: str, *, occurred_at: str | None = None) -> uuid.UUID:
        body = log_body(result="promised", promise={"amount": amount, "date": due},
                        occurred_at=occurred_at or at(10, 2))
        response = await client.post(case.logs, json=body, headers=auth("collector1"))
        assert response.status_code == 201, response.text
        return uuid.UUID(response.json()["promise"]["id"])

    return make


@pytest.fixture
def pay(client, auth, business_date):
    async def make(case, amount: str, value_date: date) -> str:
        await business_date(value_date)
        response = await client.post(PAYMENTS.format(case.contract_id), headers=auth("clerk1"), json={
            "amount": amount, "value_date": value_date.isoformat(), "method": "bank_transfer"})
        assert response.status_code == 201, response.text
        return response.json()["id"]

    return make


async def _promise(db, promise_id) -> PromiseToPay:
    return await db.get(PromiseToPay, promise_id, populate_existing=True)


async def _notified(db, promise_id) -> set[uuid.UUID]:
    rows = await db.scalars(select(Notification.user_id).where(Notification.dedupe_key.like(f"%{promise_id}%")))
    return set(rows)


async def test_a_promise_paid_in_full_in_its_window_is_kept(db, org, open_case, promised, pay):
    case = await open_case()
    promise_id = await promised(case, "1000", "2026-02-15")
    await pay(case, "600.00", date(2026, 2, 11))
    await pay(case, "400.00", date(2026, 2, 15))
    assert await judge_promises(db, date(2026, 2, 15)) == {"kept": 1, "broken": 0}
    promise = await _promise(db, promise_id)
    assert (promise.state, promise.amount_paid, promise.judged_on) == ("kept", Decimal("1000.00"), date(2026, 2, 15))
    assert await _notified(db, promise_id) == set()


async def test_a_partly_kept_promise_is_broken_with_what_was_paid_and_notifies(db, org, open_case, promised, pay):
    case = await open_case()
    promise_id = await promised(case, "1000", "2026-02-15")
    await pay(case, "400.00", date(2026, 2, 12))
    await pay(case, "5000.00", date(2026, 2, 16))  # after its date: does not count
    assert await judge_promises(db, date(2026, 2, 16)) == {"kept": 0, "broken": 1}
    promise = await _promise(db, promise_id)
    assert (promise.state, promise.amount_paid) == ("broken", Decimal("400.00"))
    assert await _notified(db, promise_id) == {org.users["collector1"].id, org.users["dispatcher"].id}


async def test_a_payment_before_the_promise_or_reversed_does_not_keep_it(client, auth, db, open_case, promised, pay,
                                                                         business_date):
    case = await open_case()
    await pay(case, "1000.00", date(2026, 2, 9))  # before the promise was made (business date 2026-02-10)
    await business_date(date(2026, 2, 10))
    promise_id = await promised(case, "1000", "2026-02-15")
    payment = await pay(case, "1000.00", date(2026, 2, 12))
    reversed_ = await client.post(f"/api/v1/payments/{payment}/reverse", json={"reason": "退票"},
                                  headers=auth("approver2"))
    assert reversed_.status_code == 200, reversed_.text
    assert await judge_promises(db, date(2026, 2, 15)) == {"kept": 0, "broken": 1}
    assert (await _promise(db, promise_id)).amount_paid == Decimal("0.00")


async def test_promises_are_judged_exactly_once_on_their_date(db, org, open_case, promised):
    case = await open_case()
    due = await promised(case, "1000", "2026-02-15")
    assert await judge_promises(db, date(2026, 2, 14)) == {"kept": 0, "broken": 0}  # not yet due
    assert (await _promise(db, due)).state == "pending"
    assert await judge_promises(db, date(2026, 2, 15), [uuid.uuid4()]) == {"kept": 0, "broken": 0}  # another contract
    assert await judge_promises(db, date(2026, 2, 15), [case.contract_id]) == {"kept": 0, "broken": 1}
    assert await judge_promises(db, date(2026, 2, 16)) == {"kept": 0, "broken": 0}
    promise = await _promise(db, due)
    assert (promise.state, promise.judged_on) == ("broken", date(2026, 2, 15))
    count = len(list(await db.scalars(select(Notification.id).where(Notification.dedupe_key.like(f"%{due}%")))))
    assert count == 2


async def test_a_superseded_promise_is_never_judged(db, open_case, promised):
    case = await open_case()
    old = await promised(case, "1000", "2026-02-12", occurred_at=at(10, 2))
    new = await promised(case, "2000", "2026-02-20", occurred_at=at(10, 3))
    assert (await _promise(db, old)).state == "superseded"
    assert await judge_promises(db, date(2026, 2, 15)) == {"kept": 0, "broken": 0}
    assert (await _promise(db, old)).state == "superseded" and (await _promise(db, new)).state == "pending"


async def test_a_pending_promise_holds_tow_and_lock_requests_without_an_override_reason(db, open_case, promised):
    case = await open_case()
    await pending_promise_hold(db, case.contract_id, None)  # nothing pending: no hold
    await promised(case, "1000", "2026-02-15")
    with pytest.raises(PromiseHold) as refused:
        await pending_promise_hold(db, case.contract_id, None)
    assert refused.value.status == 409 and refused.value.code == "promise.hold"
    with pytest.raises(PromiseHold):
        await pending_promise_hold(db, case.contract_id, "  ")
    await pending_promise_hold(db, case.contract_id, "客户失联, 设备有转移风险")
    await judge_promises(db, date(2026, 2, 15))
    await pending_promise_hold(db, case.contract_id, None)  # judged: the hold is gone


async def test_the_promise_list_is_scoped_and_filtered(client, auth, open_case, promised):
    case = await open_case()
    promise_id = await promised(case, "1000", "2026-02-15")
    for user, expected in (("collector1", [str(promise_id)]), ("dispatcher", [str(promise_id)]),
                           ("leader", [str(promise_id)]), ("collector2", []), ("other-admin", [])):
        response = await client.get("/api/v1/promises", headers=auth(user))
        assert [p["id"] for p in response.json()["items"]] == expected, user
    due = await client.get("/api/v1/promises", params={"due_from": "2026-02-16"}, headers=auth("dispatcher"))
    assert due.json()["items"] == []
    response = await client.get("/api/v1/promises", params={"due_to": "2026-02-15", "state": "pending"},
                                headers=auth("dispatcher"))
    assert [p["id"] for p in response.json()["items"]] == [str(promise_id)]


async def test_the_promise_list_costs_the_same_whatever_the_page(client, auth, open_case, promised, count_queries):
    case = await open_case()
    for minute in range(3):
        await promised(case, "100", "2026-02-20", occurred_at=at(10, 3, minute))
    await client.get("/api/v1/promises", headers=auth("dispatcher"))  # the principal, cached
    counts = []
    for limit in (1, 3):
        async with count_queries() as counted:
            response = await client.get("/api/v1/promises", params={"limit": limit}, headers=auth("dispatcher"))
        assert len(response.json()["items"]) == limit
        counts.append(counted.n)
    assert counts[0] == counts[1]


async def test_the_close_of_business_judges_a_broken_promise_and_raises_its_case(db, org, open_case, promised,
                                                                                 business_date):
    case = await open_case()
    promise_id = await promised(case, "1000", "2026-02-15")
    before = (await db.get(CollectionCase, case.id, populate_existing=True)).priority
    await business_date(date(2026, 2, 15))
    await ledger_cob.close_of_business(db, org.group.id)
    assert (await _promise(db, promise_id)).state == "broken"
    after = (await db.get(CollectionCase, case.id, populate_existing=True)).priority
    assert after > before  # a broken promise comes before the case's bucket-mates
