"""GET routes read without a transaction (no BEGIN/COMMIT round trips) and may not write; a GET
marked `@writes_on_read` runs in a transaction like any other route."""

import uuid
from contextlib import asynccontextmanager
from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import WriteInReadOnlyRequest
from app.core.routers import public_router
from app.core.routing import get_session, writes_on_read
from app.core.sql import advisory_xact_lock
from app.notifications.models import Notification

Session = Annotated[AsyncSession, Depends(get_session)]


def _app(org, provider=None) -> FastAPI:  # noqa: ANN001
    router = public_router()

    async def in_transaction(session: AsyncSession) -> bool:
        await session.execute(text("SELECT 1"))  # SQLAlchemy sends BEGIN with the first statement
        raw = await (await session.connection()).get_raw_connection()
        return raw.driver_connection.is_in_transaction()

    @router.get("/in-transaction")
    async def get_in_transaction(session: Session) -> bool:
        return await in_transaction(session)

    @router.post("/in-transaction")
    async def post_in_transaction(session: Session) -> bool:
        return await in_transaction(session)

    def notification() -> Notification:
        user = org.users["admin"]
        return Notification(id=uuid.uuid4(), group_id=user.group_id, user_id=user.id, kind="test", title="t")

    @router.get("/adds")
    async def adds(session: Session) -> None:
        session.add(notification())
        await session.flush()

    @router.get("/locks")
    async def locks(session: Session) -> None:
        await advisory_xact_lock(session, "test:read-only")

    @router.get("/audited-read")
    @writes_on_read
    async def audited_read(session: Session) -> bool:
        session.add(notification())
        await session.flush()
        return session.in_transaction()

    app = FastAPI()
    app.include_router(router)
    if provider is not None:
        app.state.session_provider = provider
    return app


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_a_get_runs_without_a_transaction_and_a_post_in_one(engine, org):
    async with _client(_app(org)) as client:  # the app's own sessions, not the test's transaction
        assert (await client.get("/in-transaction")).json() is False
        assert (await client.post("/in-transaction")).json() is True


@pytest.fixture
def test_provider(db):
    @asynccontextmanager
    async def provider():
        await db.commit()
        yield db

    return provider


@pytest.mark.parametrize("path", ["/adds", "/locks"])
async def test_a_get_that_writes_or_locks_raises(org, test_provider, path):
    async with _client(_app(org, test_provider)) as client:
        with pytest.raises(WriteInReadOnlyRequest):
            await client.get(path)


async def test_a_get_marked_writes_on_read_writes_in_a_transaction(org, db, test_provider):
    async with _client(_app(org, test_provider)) as client:
        response = await client.get("/audited-read")
    assert response.status_code == 200 and response.json() is True
    assert not db.info.get("read_only")  # the mark does not outlive the request on a reused session
