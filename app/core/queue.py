"""The durable job queue: work that must happen after a transaction commits, at least once, even
across restarts (device commands to a GPS gateway, webhook deliveries, messages to customers).

One mechanism, on pgqueuer (PostgreSQL, asyncpg, `FOR UPDATE SKIP LOCKED`, LISTEN/NOTIFY):

- `enqueue(session, name, payload)` inserts the job **in the caller's transaction**: nothing runs
  unless that transaction commits, and nothing committed is lost (the outbox pattern, with the
  queue table as the outbox).
- `@handler(name, ...)` registers what runs it. A handler gets its own session and transaction,
  committed when it returns. Any exception rolls that transaction back and re-queues the job in
  the database with exponential backoff (pgqueuer's `RetryRequested`: the row goes back to
  `queued` with a later `execute_after` and `attempts + 1`), so a retry survives a restart;
  `GiveUp` (or the last attempt) ends it and runs the handler's `on_give_up` in a fresh transaction.
- One worker per server process runs the handlers (`start_worker`, from the app's lifespan when
  `RUN_SCHEDULER` is on; `python -m app.cli run-queue` standalone). A worker that dies mid-job
  leaves its row `picked` with a stale heartbeat; another worker re-picks it after
  `queue_heartbeat_seconds`. Delivery is therefore at least once: handlers make their external
  effect idempotent (the job's own ids as the receiver's idempotency key) and their database
  effect conditional on state.

Why pgqueuer and not procrastinate: pgqueuer speaks asyncpg, our driver, so a job is enqueued on
the very connection of the caller's transaction; procrastinate needs psycopg.
"""

import asyncio
import json
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import asyncpg
from pgqueuer import Job, Queries, QueueManager, RetryRequested
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import db
from app.core.config import get_settings
from app.core.jobs import periodic

log = logging.getLogger("recourse.queue")

HandlerFn = Callable[[AsyncSession, dict[str, Any], int], Awaitable[None]]
GiveUpFn = Callable[[AsyncSession, dict[str, Any], str], Awaitable[None]]

# Tables the library owns (created by migration `job_queue`); autogenerate and the models/migrations
# comparison leave them alone.
LIBRARY_TABLES = frozenset({"pgqueuer", "pgqueuer_log", "pgqueuer_schedules", "pgqueuer_statistics"})


class Retry(Exception):  # noqa: N818 - read as "raise queue.Retry(...)"
    """A transient failure: try again later (any other exception is treated the same way)."""


class GiveUp(Exception):  # noqa: N818 - read as "raise queue.GiveUp(...)"
    """A permanent failure: stop retrying now and run the handler's `on_give_up`."""


@dataclass
class Handler:
    name: str
    run: HandlerFn
    max_attempts: int
    backoff_seconds: float
    max_backoff_seconds: float
    give_up: GiveUpFn | None = field(default=None)

    def on_give_up(self, fn: GiveUpFn) -> GiveUpFn:
        self.give_up = fn
        return fn

    def delay(self, attempt: int) -> timedelta:
        """Exponential backoff with full jitter on the upper half, so retries of many jobs that
        failed together (a gateway outage) do not return together."""
        ceiling = min(self.max_backoff_seconds, self.backoff_seconds * 2 ** (attempt - 1))
        return timedelta(seconds=random.uniform(ceiling / 2, ceiling))  # noqa: S311 - jitter, not security


HANDLERS: dict[str, Handler] = {}
_runs = 0  # jobs run by this process (drain reports its share)


def handler(name: str, *, max_attempts: int = 10, backoff_seconds: float = 5,
            max_backoff_seconds: float = 3600) -> Callable[[HandlerFn], Handler]:
    """Register the function that runs jobs called `name`. Returns the Handler, whose
    `.on_give_up` decorates the function run after the last attempt."""
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")

    def register(fn: HandlerFn) -> Handler:
        if name in HANDLERS:
            raise RuntimeError(f"queue handler {name!r} is registered twice")
        HANDLERS[name] = Handler(name, fn, max_attempts, backoff_seconds, max_backoff_seconds)
        return HANDLERS[name]

    return register


async def enqueue(session: AsyncSession, name: str, payload: dict[str, Any], *,
                  delay: timedelta | None = None, dedupe_key: str | None = None) -> int:
    """Queue a job in the caller's transaction; returns its id. With `dedupe_key`, a second job
    with the same key while the first is queued or running is refused by the database
    (pgqueuer's partial unique index) and this call skips it, returning 0."""
    if name not in HANDLERS:
        raise KeyError(f"no queue handler is registered for {name!r}")
    connection = await _transaction_connection(session)
    ids = await Queries.from_asyncpg_connection(connection).enqueue(
        name, json.dumps(payload, default=str).encode(), execute_after=delay, dedupe_key=dedupe_key,
        on_conflict="skip")
    return ids[0] or 0


async def _transaction_connection(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection of the session's transaction, with the transaction begun (SQLAlchemy
    begins it lazily, at its first statement; a job inserted before that would commit alone)."""
    connection = (await (await session.connection()).get_raw_connection()).driver_connection
    assert isinstance(connection, asyncpg.Connection)
    if not connection.is_in_transaction():
        await session.execute(text("SELECT 1"))
    return connection


Transaction = Callable[[], AbstractAsyncContextManager[AsyncSession]]


@asynccontextmanager
async def _own_transaction() -> AsyncIterator[AsyncSession]:
    async with db.session_factory()() as session:
        yield session
        await db.commit(session)


async def _attempt(name: str, payload: dict[str, Any], attempt: int, job_id: int,
                   transaction: Transaction) -> timedelta | None:
    """Run one attempt of a job in a transaction of its own. Returns the delay before the next
    attempt, or None when the job is finished (done, or given up after its give-up ran)."""
    global _runs
    _runs += 1
    handler = HANDLERS[name]
    try:
        async with transaction() as session:
            await handler.run(session, payload, attempt)
        return None
    except GiveUp as exc:
        reason = str(exc) or "gave up"
    except Exception as exc:  # noqa: BLE001 - every failure of a job is a retry until the last attempt
        reason = f"{type(exc).__name__}: {exc}"
        if attempt < handler.max_attempts:
            log.warning("job failed; retrying", extra={"job": name, "job_id": job_id, "attempt": attempt,
                                                       "reason": reason})
            return handler.delay(attempt)
    log.error("job gave up", extra={"job": name, "job_id": job_id, "attempt": attempt, "reason": reason})
    if handler.give_up is not None:
        async with transaction() as session:
            await handler.give_up(session, payload, reason)
    return None


async def _execute(job: Job) -> None:
    """pgqueuer's entrypoint for every handler: a retry goes back to the queue table through
    RetryRequested (status queued, later execute_after, attempts + 1)."""
    delay = await _attempt(job.entrypoint, json.loads(job.payload or b"{}"), job.attempts + 1, job.id,
                           _own_transaction)
    if delay is not None:
        raise RetryRequested(delay=delay, reason="handler failed")


def _plain_dsn() -> str:
    """The database the app's engine is configured for, as asyncpg's own DSN."""
    url = db.get_engine().url.set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _manager(connection: asyncpg.Connection) -> QueueManager:
    manager = QueueManager(Queries.from_asyncpg_connection(connection))
    for name in HANDLERS:
        manager.entrypoint(name, accepts_context=False)(_execute)
    return manager


def _heartbeat() -> timedelta:
    return timedelta(seconds=get_settings().queue_heartbeat_seconds)


async def work_forever() -> None:
    """The worker: runs jobs as they come (woken by NOTIFY, polling as a fallback), reconnecting
    after a lost connection."""
    while True:
        try:
            connection = await asyncpg.connect(_plain_dsn())
            try:
                await _manager(connection).run(dequeue_timeout=timedelta(seconds=5),
                                               heartbeat_timeout=_heartbeat())
            finally:
                await connection.close()
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a lost database must not end the worker
            log.exception("queue worker stopped; restarting")
            await asyncio.sleep(5)


def start_worker() -> asyncio.Task[None] | None:
    return asyncio.create_task(work_forever(), name="queue-worker") if HANDLERS else None


_DUE = """
SELECT count(*) FROM pgqueuer
 WHERE entrypoint = ANY($1::text[])
   AND (status = 'picked' OR (status = 'queued' AND execute_after <= now()))
"""


async def drain(session: AsyncSession | None = None, *, within_seconds: float = 60.0,
                heartbeat_timeout: timedelta | None = None) -> int:
    """Run every job that is due now (and those it queues that are due at once), then return the
    number of attempts run. Jobs delayed into the future, retries included, wait. For tests and
    scripts; servers run `start_worker`.

    With `session`, the jobs are read and run inside that session's transaction, each attempt in a
    savepoint: how a test whose data is uncommitted (the `db` fixture) runs the jobs it queued.
    Without, pgqueuer's own worker runs them on committed data, as in production."""
    if session is not None:
        return await _drain_in(session)
    before = _runs
    connection = await asyncpg.connect(_plain_dsn())
    watcher = await asyncpg.connect(_plain_dsn())
    try:
        manager = _manager(connection)
        running = asyncio.create_task(manager.run(
            dequeue_timeout=timedelta(seconds=0.05), heartbeat_timeout=heartbeat_timeout or _heartbeat(),
            log_aggregation_interval=timedelta(0)))
        async with asyncio.timeout(within_seconds):
            while not running.done():
                await asyncio.sleep(0.02)
                if not manager.job_context and not await watcher.fetchval(_DUE, list(HANDLERS)):
                    break
        manager.shutdown.set()
        await running
    finally:
        await watcher.close()
        await connection.close()
    return _runs - before



_NEXT_DUE = text("""
SELECT id, entrypoint, payload, attempts FROM pgqueuer
 WHERE status = 'queued' AND execute_after <= clock_timestamp() AND entrypoint = ANY(:names)
 ORDER BY priority DESC, id LIMIT 1 FOR UPDATE SKIP LOCKED
""")
_FINISHED = text("DELETE FROM pgqueuer WHERE id = :id")
_RETRY_LATER = text("UPDATE pgqueuer SET execute_after = clock_timestamp() + :delay, attempts = attempts + 1,"
                    " updated = clock_timestamp() WHERE id = :id")


async def _drain_in(session: AsyncSession) -> int:
    @asynccontextmanager
    async def savepoint() -> AsyncIterator[AsyncSession]:
        async with session.begin_nested():
            yield session

    before = _runs
    while job := (await session.execute(_NEXT_DUE, {"names": list(HANDLERS)})).first():
        delay = await _attempt(job.entrypoint, json.loads(job.payload or b"{}"), job.attempts + 1, job.id,
                               savepoint)
        await session.execute(_FINISHED if delay is None else _RETRY_LATER,
                              {"id": job.id} if delay is None else {"id": job.id, "delay": delay})
    return _runs - before


_PURGE_LOG = text("DELETE FROM pgqueuer_log WHERE created < now() - make_interval(days => :days)")
_PURGE_STATISTICS = text("DELETE FROM pgqueuer_statistics WHERE created < now() - make_interval(days => :days)")


@periodic("queue-log-purge", every_seconds=6 * 3600)
async def purge_log(session: AsyncSession) -> dict[str, int]:
    """pgqueuer keeps a row per job state change (`pgqueuer_log`) and per-second statistics: without
    this they grow with every job ever run. Jobs themselves leave the queue table when done."""
    days = get_settings().queue_log_retention_days
    log_rows = (await session.execute(_PURGE_LOG, {"days": days})).rowcount
    statistics = (await session.execute(_PURGE_STATISTICS, {"days": days})).rowcount
    return {"log": log_rows or 0, "statistics": statistics or 0}
