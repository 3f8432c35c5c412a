"""The durable queue (app.core.queue): enqueued in the caller's transaction, run at least once,
retried durably with backoff, given up after the last attempt."""

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import db as core_db
from app.core import queue

RUNS: list[tuple[str, str, int]] = []
GAVE_UP: list[tuple[str, str]] = []
FAILURES_LEFT: dict[str, int] = {}


# Retries wait an hour: a test makes them due by hand, so "retried later" is observable.
@queue.handler("test.record", max_attempts=3, backoff_seconds=3600, max_backoff_seconds=3600)
async def record(session: AsyncSession, payload: dict[str, Any], attempt: int) -> None:
    RUNS.append(("record", payload["key"], attempt))
    # Proves the handler's transaction is real: it can read.
    await session.execute(text("SELECT 1"))
    if FAILURES_LEFT.get(payload["key"], 0) > 0:
        FAILURES_LEFT[payload["key"]] -= 1
        raise queue.Retry("the receiver is down")


@record.on_give_up
async def record_gave_up(session: AsyncSession, payload: dict[str, Any], reason: str) -> None:
    GAVE_UP.append((payload["key"], reason))


@queue.handler("test.permanent", max_attempts=5, backoff_seconds=0.01)
async def permanent(session: AsyncSession, payload: dict[str, Any], attempt: int) -> None:
    RUNS.append(("permanent", payload["key"], attempt))
    raise queue.GiveUp("the receiver said no")


@permanent.on_give_up
async def permanent_gave_up(session: AsyncSession, payload: dict[str, Any], reason: str) -> None:
    GAVE_UP.append((payload["key"], reason))


def _key() -> str:
    return uuid.uuid4().hex


def _runs_of(key: str) -> list[int]:
    return [attempt for _, k, attempt in RUNS if k == key]


async def _make_due(session: AsyncSession, key: str) -> None:
    await session.execute(text("UPDATE pgqueuer SET execute_after = now() - interval '1 second' "
                               "WHERE convert_from(payload, 'UTF8')::jsonb ->> 'key' = :key"), {"key": key})


async def _queued(session: AsyncSession, key: str) -> int:
    return (await session.execute(text(
        "SELECT count(*) FROM pgqueuer WHERE convert_from(payload, 'UTF8')::jsonb ->> 'key' = :key"),
        {"key": key})).scalar_one()


# --- In the test's transaction (drain(session=...)) ---------------------------------------------

async def test_a_job_runs_once_after_the_transaction_that_queued_it(db):
    key = _key()
    await queue.enqueue(db, "test.record", {"key": key})
    assert _runs_of(key) == []
    assert await queue.drain(db) >= 1
    assert _runs_of(key) == [1]
    assert await _queued(db, key) == 0
    await queue.drain(db)
    assert _runs_of(key) == [1]


async def test_a_failed_attempt_is_retried_later_not_at_once(db):
    key = _key()
    FAILURES_LEFT[key] = 1
    await queue.enqueue(db, "test.record", {"key": key})
    await queue.drain(db)
    assert _runs_of(key) == [1]
    assert await _queued(db, key) == 1, "the retry waits in the table for its backoff"
    await _make_due(db, key)
    await queue.drain(db)
    assert _runs_of(key) == [1, 2]
    assert await _queued(db, key) == 0


async def test_after_the_last_attempt_the_handler_gives_up_once(db):
    key = _key()
    FAILURES_LEFT[key] = 10
    await queue.enqueue(db, "test.record", {"key": key})
    for _ in range(3):
        await _make_due(db, key)
        await queue.drain(db)
    assert _runs_of(key) == [1, 2, 3]
    assert [k for k, _ in GAVE_UP].count(key) == 1
    assert await _queued(db, key) == 0


async def test_give_up_stops_without_retrying(db):
    key = _key()
    await queue.enqueue(db, "test.permanent", {"key": key})
    await queue.drain(db)
    assert _runs_of(key) == [1]
    assert (key, "the receiver said no") in GAVE_UP


async def test_a_dedupe_key_queues_one_job_while_the_first_waits(db):
    key = _key()
    first = await queue.enqueue(db, "test.record", {"key": key}, dedupe_key=f"dedupe:{key}")
    second = await queue.enqueue(db, "test.record", {"key": key}, dedupe_key=f"dedupe:{key}")
    assert first and second == 0
    await queue.drain(db)
    assert _runs_of(key) == [1]


async def test_a_delayed_job_waits_for_its_time(db):
    key = _key()
    await queue.enqueue(db, "test.record", {"key": key}, delay=timedelta(hours=1))
    await queue.drain(db)
    assert _runs_of(key) == []
    await _make_due(db, key)
    await queue.drain(db)
    assert _runs_of(key) == [1]


async def test_an_unknown_job_name_is_refused_at_enqueue(db):
    with pytest.raises(KeyError):
        await queue.enqueue(db, "test.nobody-handles-this", {})


# --- Committed, through pgqueuer's own worker (as in production) -------------------------------

async def _committed(fn) -> Any:  # noqa: ANN001
    async with core_db.session_factory()() as session:
        result = await fn(session)
        await core_db.commit(session)
    return result


async def test_the_worker_runs_committed_jobs_and_never_a_rolled_back_one(engine):
    kept, dropped = _key(), _key()
    await _committed(lambda s: queue.enqueue(s, "test.record", {"key": kept}))
    async with core_db.session_factory()() as session:
        await queue.enqueue(session, "test.record", {"key": dropped})
        await session.rollback()
    await queue.drain()
    assert _runs_of(kept) == [1]
    assert _runs_of(dropped) == []


async def test_a_retry_survives_a_restart_of_the_worker(engine):
    key = _key()
    FAILURES_LEFT[key] = 1
    await _committed(lambda s: queue.enqueue(s, "test.record", {"key": key}))
    await queue.drain()  # the first worker: one failed attempt, then it stops
    assert _runs_of(key) == [1]
    assert await _committed(lambda s: _queued(s, key)) == 1
    await _committed(lambda s: _make_due(s, key))
    await queue.drain()  # a new worker picks the retry up from the table
    assert _runs_of(key) == [1, 2]
    assert await _committed(lambda s: _queued(s, key)) == 0


async def test_a_job_left_picked_by_a_dead_worker_is_run_by_the_next(engine):
    key = _key()
    await _committed(lambda s: queue.enqueue(s, "test.record", {"key": key}))
    # A worker took the job and died without finishing: its row is picked, its heartbeat stale.
    await _committed(lambda s: s.execute(text(
        "UPDATE pgqueuer SET status = 'picked', heartbeat = now() - interval '1 hour', "
        "queue_manager_id = gen_random_uuid() "
        "WHERE convert_from(payload, 'UTF8')::jsonb ->> 'key' = :key"), {"key": key}))
    await queue.drain(heartbeat_timeout=timedelta(seconds=1))
    assert _runs_of(key) == [1]
    assert await _committed(lambda s: _queued(s, key)) == 0


async def test_the_queue_log_keeps_only_its_retention(db):
    await db.execute(text(
        "INSERT INTO pgqueuer_log (job_id, status, priority, entrypoint, created) VALUES "
        "(-1, 'successful', 0, 'test.record', now() - interval '30 days'), "
        "(-2, 'successful', 0, 'test.record', now())"))
    purged = await queue.purge_log(db)
    assert purged["log"] >= 1
    left = (await db.execute(text("SELECT job_id FROM pgqueuer_log WHERE job_id IN (-1, -2)"))).scalars().all()
    assert left == [-2]
