"""Who receives a change is decided when the sync reads it (issue 26): a payment racing a reassignment
reaches the collector who holds the case at the end, whichever commits first, and never the one who
lost it; derived fields (a log's promise state, a case's last log) are changes of the record showing
them. The races are forced with two connections and an explicit order of commits."""

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import text, update

from app.collection.models import CollectionCase
from app.core import db as core_db
from app.ledger.models import LedgerAccount
from tests.collection.log_fixtures import at, log_body
from tests.field.committed import fresh_snapshot, make_cases, principal_of, remove, sync_once
from tests.field.conftest import MOBILE


@pytest.fixture
async def committed(org):
    made = []

    async def make(holders):
        made.append(await make_cases(org, holders))
        return made[-1]

    yield make
    for m in made:
        await remove(m)


def _case(out, case_id):
    return next((c for c in out.changes.cases.upserted if c.id == case_id), None)


def _pay(contract_id, amount: str):
    return (update(LedgerAccount).where(LedgerAccount.contract_id == contract_id)
            .values(overdue_amount=LedgerAccount.overdue_amount - Decimal(amount)))


def _move(case_id, collector_id):
    return (update(CollectionCase).where(CollectionCase.id == case_id)
            .values(collector_id=collector_id, version=CollectionCase.version + 1))


async def test_a_payment_committed_after_the_case_came_back_reaches_the_collector(engine, org, committed):
    """Issue 26, 1: the payment began while collector2 held the case; the dispatcher moves it back
    to collector1 and commits; collector1 syncs (the case, the old figure); the payment commits."""
    made = await committed(["collector2"])
    case_id, contract_id = made.cases[0], made.contracts[0]
    collector1 = await principal_of(org.users["collector1"].id)
    cursor = (await sync_once(collector1, None)).cursor
    async with engine.connect() as payment, engine.connect() as dispatcher:
        await payment.begin()
        await payment.execute(_pay(contract_id, "0.01"))  # its trigger runs while collector2 holds the case
        async with dispatcher.begin():
            await dispatcher.execute(_move(case_id, org.users["collector1"].id))
        back = await sync_once(collector1, cursor)
        assert _case(back, case_id).overdue_amount == Decimal("100.00")
        await payment.commit()
    after = await sync_once(collector1, back.cursor)
    assert _case(after, case_id).overdue_amount == Decimal("99.99")
    assert (await fresh_snapshot(collector1))["cases"][str(case_id)]["overdue_amount"] == "99.99"
    quiet = await sync_once(collector1, after.cursor)
    assert _case(quiet, case_id) is None


async def test_a_payment_committed_before_the_move_commits_arrives_with_the_case(engine, org, committed):
    """The other order: the payment commits between the move's write and its commit."""
    made = await committed(["collector2"])
    case_id, contract_id = made.cases[0], made.contracts[0]
    collector1 = await principal_of(org.users["collector1"].id)
    cursor = (await sync_once(collector1, None)).cursor
    async with engine.connect() as payment, engine.connect() as dispatcher:
        await dispatcher.begin()
        await dispatcher.execute(_move(case_id, org.users["collector1"].id))
        async with payment.begin():
            await payment.execute(_pay(contract_id, "0.01"))  # sees collector2: the move is not committed
        await dispatcher.commit()
    step = await sync_once(collector1, cursor)
    assert _case(step, case_id).overdue_amount == Decimal("99.99")


async def test_a_payment_racing_a_move_away_reaches_the_new_holder_and_not_the_old(engine, org, committed):
    made = await committed(["collector1"])
    case_id, contract_id = made.cases[0], made.contracts[0]
    collector1, collector2 = [await principal_of(org.users[u].id) for u in ("collector1", "collector2")]
    mine, theirs = (await sync_once(collector1, None)).cursor, (await sync_once(collector2, None)).cursor
    async with engine.connect() as payment, engine.connect() as dispatcher:
        await payment.begin()
        await payment.execute(_pay(contract_id, "0.02"))  # recorded for collector1, the holder then
        async with dispatcher.begin():
            await dispatcher.execute(_move(case_id, org.users["collector2"].id))
        gone, came = await sync_once(collector1, mine), await sync_once(collector2, theirs)
        assert case_id in gone.changes.cases.deleted and _case(came, case_id).overdue_amount == Decimal("100.00")
        await payment.commit()
    old, new = await sync_once(collector1, gone.cursor), await sync_once(collector2, came.cursor)
    assert _case(old, case_id) is None  # not theirs any more: nothing of it (a second tombstone would do no harm)
    assert _case(new, case_id).overdue_amount == Decimal("99.98")


async def test_a_running_transaction_s_changes_are_sent_whole_and_only_once(engine, org, committed):
    """The records of transactions a cursor saw running come with the next sync, whatever the page
    size, and not again after it."""
    made = await committed(["collector2", "collector2"])
    collector1 = await principal_of(org.users["collector1"].id)
    cursor = (await sync_once(collector1, None)).cursor
    async with engine.connect() as payment, engine.connect() as dispatcher:
        await payment.begin()
        for contract_id in made.contracts:
            await payment.execute(_pay(contract_id, "1.00"))
        async with dispatcher.begin():
            for case_id in made.cases:
                await dispatcher.execute(_move(case_id, org.users["collector1"].id))
        back = await sync_once(collector1, cursor)
        assert {c.id for c in back.changes.cases.upserted} == set(made.cases)
        await payment.commit()
    after = await sync_once(collector1, back.cursor)
    assert {c.id: c.overdue_amount for c in after.changes.cases.upserted} == dict.fromkeys(made.cases,
                                                                                          Decimal("99.00"))
    quiet = await sync_once(collector1, after.cursor)
    assert not quiet.changes.cases.upserted


async def test_a_superseded_promise_reaches_the_earlier_log(client, auth, open_case, sync):
    """Issue 26, 2: the log of the promise a later one supersedes is a changed record."""
    case = await open_case()
    first = await client.post(f"{MOBILE}/cases/{case.id}/logs", headers=auth("collector1"), json=log_body(
        occurred_at=at(10, 2), promise={"amount": "1000", "date": "2026-02-15"}))
    assert first.status_code == 201, first.text
    cursor = (await sync())["cursor"]
    second = await client.post(f"{MOBILE}/cases/{case.id}/logs", headers=auth("collector1"), json=log_body(
        occurred_at=at(10, 4), promise={"amount": "2000", "date": "2026-02-16"}))
    assert second.status_code == 201, second.text
    step = await sync(cursor=cursor)
    logs = {log["id"]: log["promise"]["state"] for log in step["changes"]["logs"]["upserted"]}
    assert logs == {first.json()["id"]: "superseded", second.json()["id"]: "pending"}


async def test_a_later_log_in_the_same_second_reaches_the_case_as_its_last_log(client, auth, open_case, sync):
    """Issue 26, 3: phones send whole seconds; the second log of a second with the higher id becomes
    the case's last log though the case's row has nothing to change."""
    case = await open_case()
    low, high = uuid.UUID(int=1 << 64), uuid.UUID(int=(1 << 128) - 1)
    first = await client.post(f"{MOBILE}/cases/{case.id}/logs", headers=auth("collector1"),
                              json=log_body(id=str(low), occurred_at=at(10, 2)))
    assert first.status_code == 201, first.text
    step = await sync()
    cursor = step["cursor"]
    second = await client.post(f"{MOBILE}/cases/{case.id}/logs", headers=auth("collector1"),
                               json=log_body(id=str(high), occurred_at=at(10, 2)))
    assert second.status_code == 201, second.text
    step = await sync(cursor=cursor)
    cases = {c["id"]: c for c in step["changes"]["cases"]["upserted"]}
    assert cases[str(case.id)]["last_log"]["id"] == str(high)


async def test_the_one_audience_agrees_with_what_each_phone_reads(db, org, open_case):
    """`sync_audience` (the triggers' and the pending query's) names the collector the sync's own
    reads (app/field/repository.py) give the case, its customer and a log to."""
    case = await open_case()
    holder = org.users["collector1"].id
    rows = (await db.execute(text("SELECT kind, user_id, entity_id FROM (VALUES ('case', CAST(:c AS uuid)), "
                                  "('customer', CAST(:u AS uuid))) v(kind, id), "
                                  "LATERAL sync_audience(v.kind, ARRAY[v.id])"),
                             {"c": case.id, "u": case.customer_id})).all()
    assert {(r.kind, r.user_id, r.entity_id) for r in rows} == {("case", holder, case.id),
                                                                ("customer", holder, case.customer_id)}
    await db.execute(_move(case.id, None))
    gone = await db.scalar(text("SELECT count(*) FROM sync_audience('case', ARRAY[CAST(:c AS uuid)])"),
                           {"c": case.id})
    assert gone == 0



async def test_a_sync_in_a_read_only_request_reads_at_one_snapshot(org):
    """The route's session reads in autocommit (a snapshot per statement); the sync's statements
    share one, so the cursor it hands out describes exactly what it sent."""
    async with core_db.read_session_factory()() as session:
        async with core_db.one_snapshot(session):
            level = await session.scalar(text("SELECT current_setting('transaction_isolation')"))
            first = await session.scalar(text("SELECT pg_current_snapshot()::text"))
            second = await session.scalar(text("SELECT pg_current_snapshot()::text"))
        after = await session.scalar(text("SELECT current_setting('transaction_isolation')"))
    assert level == "repeatable read" and first == second and after == "read committed"
