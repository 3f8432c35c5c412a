"""Periodic jobs run once at a time across runners, and the idempotency purge drops expired keys."""

import asyncio
from datetime import timedelta

from sqlalchemy import delete, select

from app.core import db as core_db
from app.core import jobs
from app.core.db import utcnow
from app.core.idempotency import IdempotencyRecord


async def test_a_job_already_running_elsewhere_is_skipped(engine):
    started, release = asyncio.Event(), asyncio.Event()

    async def slow(session):
        started.set()
        await release.wait()
        return {"ran": 1}

    jobs.JOBS["test-slow"] = jobs.Job("test-slow", 60, slow)
    try:
        first = asyncio.create_task(jobs.run_job("test-slow"))
        await started.wait()
        assert await jobs.run_job("test-slow") is None  # the second runner skips this round
        release.set()
        assert await first == {"ran": 1}
    finally:
        del jobs.JOBS["test-slow"]


async def test_idempotency_purge_removes_only_expired_records(org, engine):
    user_id = org.users["admin"].id
    async with core_db.session_factory()() as session:
        for key, age in (("old-key", -1), ("fresh-key", 5)):
            session.add(IdempotencyRecord(user_id=user_id, key=key, method="POST", path="/x", request_hash="h",
                                          status_code=201, response_headers={}, response_body=b"{}",
                                          expires_at=utcnow() + timedelta(hours=age)))
        await session.commit()
    try:
        summary = await jobs.run_job("idempotency-purge")
        assert summary["purged"] >= 1
        async with core_db.session_factory()() as session:
            keys = set((await session.scalars(select(IdempotencyRecord.key).where(
                IdempotencyRecord.user_id == user_id))).all())
        assert "old-key" not in keys and "fresh-key" in keys
    finally:
        async with core_db.session_factory()() as session:
            await session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.key.in_(["old-key", "fresh-key"])))
            await session.commit()
