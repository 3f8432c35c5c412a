"""Logins hash outside any transaction and connection, behind a bounded per-core limiter."""

import asyncio
import threading
import time
from contextlib import asynccontextmanager

import httpx
import pytest
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from app.auth.models import LoginThrottle, RefreshToken
from app.core import security
from app.core.db import to_async_url, utcnow
from app.core.security import HashLimiter, HashQueueFull
from app.demo.seed import DEMO_PASSWORD
from app.org.models import User


async def test_password_is_verified_outside_any_transaction(client, db, monkeypatch):
    seen = []
    real = security.password_context().verify

    def spy(password, password_hash):
        seen.append(db.in_transaction())
        return real(password, password_hash)

    monkeypatch.setattr(security.password_context(), "verify", spy)
    response = await client.post("/api/v1/auth/token", data={"username": "sales1", "password": DEMO_PASSWORD})
    assert response.status_code == 200, response.text
    assert seen == [False]


async def test_parallel_logins_do_not_exhaust_a_small_pool(database_url, org, app, monkeypatch):
    # Two connections, one second to get one, 16 logins whose hash takes 0.3 s each: holding a
    # connection while hashing would make the later logins wait past the timeout (500s).
    engine = create_async_engine(to_async_url(database_url), pool_size=2, max_overflow=0, pool_timeout=1)
    sessions = async_sessionmaker(engine, expire_on_commit=False)

    @asynccontextmanager
    async def provider():
        async with sessions() as session:
            yield session

    app.state.session_provider = provider  # real sessions and commits, cleaned up below
    app.state.login_hash_limiter = HashLimiter(slots=4, queue=100)
    real = security.password_context().verify

    def slow(password, password_hash):
        time.sleep(0.3)
        return real(password, password_hash)

    monkeypatch.setattr(security.password_context(), "verify", slow)
    started = utcnow()
    # The demo hash has cheaper parameters than the app's: the first login to finish rehashes it,
    # and the others, finding the hash replaced under them, check again against the new one.
    original_hash = org.users["sales1"].password_hash
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=("203.0.113.70", 40000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            responses = await asyncio.gather(*(
                client.post("/api/v1/auth/token", data={"username": "sales1", "password": DEMO_PASSWORD})
                for _ in range(16)))
        assert [r.status_code for r in responses] == [200] * 16, [r.text for r in responses if r.status_code != 200]
    finally:
        async with sessions() as session:
            await session.execute(delete(RefreshToken).where(RefreshToken.user_id == org.users["sales1"].id,
                                                             RefreshToken.issued_at >= started))
            await session.execute(delete(LoginThrottle).where(LoginThrottle.key.contains("203.0.113.70")))
            await session.execute(update(User).where(User.id == org.users["sales1"].id)
                                  .values(password_hash=original_hash))
            await session.commit()
        await engine.dispose()


async def test_hash_limiter_refuses_beyond_its_queue(monkeypatch):
    gate = threading.Event()

    def blocked(password, password_hash):
        gate.wait(10)
        return False

    monkeypatch.setattr(security.password_context(), "verify", blocked)
    limiter = HashLimiter(slots=1, queue=1)
    running = asyncio.create_task(limiter.verify("a", None))
    await asyncio.sleep(0.2)
    waiting = asyncio.create_task(limiter.verify("b", None))
    await asyncio.sleep(0.2)
    try:
        with pytest.raises(HashQueueFull):
            await limiter.verify("c", None)
    finally:
        gate.set()
    assert await running is False and await waiting is False


async def test_login_answers_429_when_the_hash_queue_is_full(client, app):
    limiter = HashLimiter(slots=1, queue=0)
    app.state.login_hash_limiter = limiter
    holder = object()
    await limiter._limiter.acquire_on_behalf_of(holder)  # the only slot is busy
    try:
        response = await client.post("/api/v1/auth/token", data={"username": "sales1", "password": DEMO_PASSWORD})
    finally:
        limiter._limiter.release_on_behalf_of(holder)
    assert response.status_code == 429
    assert response.json()["code"] == "auth.login_busy"
    assert response.headers["retry-after"] == "1"
