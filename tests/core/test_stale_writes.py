"""Two writers from the same version: the mapper's version check makes the second one a 409."""

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from app.core.errors import install_error_handlers
from app.org.models import Company


async def test_the_second_of_two_sessions_updating_one_row_from_the_same_version_gets_409(db, org):
    company_id = next(iter(org.companies.values())).id
    connection = await db.connection()
    second = AsyncSession(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    first_copy = await db.get(Company, company_id, populate_existing=True)
    second_copy = await second.get(Company, company_id)
    assert first_copy is not None and second_copy is not None
    assert first_copy.version == second_copy.version
    first_copy.name = "first writer"
    await db.flush()  # the row moves to version + 1

    app = FastAPI()
    install_error_handlers(app)

    @app.post("/stale")
    async def stale() -> None:
        second_copy.name = "second writer"
        await second.flush()  # WHERE version = <the version both loaded>: no row

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.post("/stale")
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "resource.conflict"
    await second.close()


async def test_a_stale_flush_raises_stale_data_error(db, org):
    company_id = next(iter(org.companies.values())).id
    connection = await db.connection()
    second = AsyncSession(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    mine, theirs = await db.get(Company, company_id, populate_existing=True), await second.get(Company, company_id)
    mine.name, theirs.name = "mine", "theirs"
    await db.flush()
    with pytest.raises(StaleDataError):
        await second.flush()
    await second.close()
