"""Periodic jobs, one mechanism for all: in-app on a schedule, or once from cron via
`python -m app.cli run-job NAME` (scripts/run-job).

Each run is one transaction that first takes a transaction-level advisory lock named after the
job; a second server (or a cron run) that finds the lock taken skips that round, so a job never
runs twice at once. Jobs must still be idempotent: a skipped or repeated round is normal.
"""

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import db
from app.core.sql import try_advisory_xact_lock

log = logging.getLogger("recourse.jobs")

JobFn = Callable[[AsyncSession], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Job:
    name: str
    every_seconds: int
    run: JobFn


JOBS: dict[str, Job] = {}


def periodic(name: str, every_seconds: int) -> Callable[[JobFn], JobFn]:
    def register(fn: JobFn) -> JobFn:
        JOBS[name] = Job(name, every_seconds, fn)
        return fn

    return register


async def run_job(name: str) -> dict[str, Any] | None:
    """Run one round now. Returns the job's summary, or None when another runner holds the lock."""
    job = JOBS[name]
    async with db.session_factory()() as session:
        if not await try_advisory_xact_lock(session, f"job:{name}"):
            await session.rollback()
            return None
        summary = await job.run(session)
        await db.commit(session)
    log.info("job finished", extra={"job": name, "summary": summary})
    return summary


async def _loop(job: Job) -> None:
    # Spread servers out so they do not all wake at once.
    await asyncio.sleep(random.uniform(0, min(job.every_seconds, 30)))  # noqa: S311 - jitter, not security
    while True:
        try:
            await run_job(job.name)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a failing round must not stop the schedule
            log.exception("job failed", extra={"job": job.name})
        await asyncio.sleep(job.every_seconds)


def start_scheduler() -> list[asyncio.Task[None]]:
    return [asyncio.create_task(_loop(job), name=f"job:{job.name}") for job in JOBS.values()]
