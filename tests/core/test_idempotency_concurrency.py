"""Two identical requests racing with one Idempotency-Key: one change, the other replays it."""

import asyncio

import httpx
from sqlalchemy import delete, func, select

from app.core import db as core_db
from app.org.models import Company
from tests.conftest import token_for


async def test_concurrent_duplicates_create_once_and_replay(org, engine):
    from app.main import create_app

    app = create_app()  # real sessions: each request its own connection and commit
    headers = {"Authorization": f"Bearer {token_for(org, 'admin')}", "Idempotency-Key": "race-1"}
    body = {"code": "RACE1", "name": "并发测试公司"}
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            responses = await asyncio.gather(
                *(client.post("/api/v1/companies", json=body, headers=headers) for _ in range(5)))
        assert [r.status_code for r in responses] == [201] * 5
        assert len({r.json()["id"] for r in responses}) == 1
        assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 4
        async with core_db.session_factory()() as session:
            count = await session.scalar(select(func.count()).select_from(Company).where(Company.code == "RACE1"))
        assert count == 1
    finally:
        async with core_db.session_factory()() as session:
            await session.execute(delete(Company).where(Company.code == "RACE1"))
            await session.commit()
