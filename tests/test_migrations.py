"""Migrations: upgrade head → downgrade base → upgrade head on a fresh database, and the models
agree with what the migrations build."""

import asyncio
import uuid

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

import app.domains  # noqa: F401
from app.core.db import Base, to_async_url
from tests.contract.conftest import _create_database, _with_database


def _alembic(url: str, *steps: tuple[str, str]) -> None:
    from alembic import command
    from alembic.config import Config

    from app.core.config import PROJECT_ROOT

    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.attributes["database_url"] = url
    for action, target in steps:
        getattr(command, action)(cfg, target)


async def _diff(url: str):
    engine = create_async_engine(to_async_url(url))
    async with engine.connect() as conn:
        diff = await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata))
        tables = set((await conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))).scalars())
    await engine.dispose()
    return diff, tables


def test_upgrade_downgrade_upgrade_and_models_match(database_url):
    name = f"recourse_migrations_{uuid.uuid4().hex[:8]}"
    asyncio.run(_create_database(database_url, name))
    url = _with_database(database_url, name)
    _alembic(url, ("upgrade", "head"), ("downgrade", "base"))
    _, tables = asyncio.run(_diff(url))
    assert tables == {"alembic_version"}, f"downgrade left tables behind: {tables}"
    _alembic(url, ("upgrade", "head"))
    diff, _ = asyncio.run(_diff(url))
    assert diff == [], f"models and migrations differ: {diff}"
