import asyncio
import os

from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine

import app.domains  # noqa: F401 - registers every table
from app.core.db import Base, to_async_url
from app.core.queue import LIBRARY_TABLES

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.attributes.get("database_url") or os.environ.get("DATABASE_URL")
    if not url:
        raise RuntimeError("DATABASE_URL is not set")
    return to_async_url(url)


def include_name(name, type_, parent_names) -> bool:  # noqa: ANN001
    """Autogenerate leaves alone the tables a library owns (the job queue's)."""
    return not (type_ == "table" and name in LIBRARY_TABLES)


def _run(connection) -> None:  # noqa: ANN001
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True,
                      transaction_per_migration=True, include_name=include_name)
    with context.begin_transaction():
        context.run_migrations()


async def _online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:  # tests hand in a sync connection bridged from async
        _run(connection)
        return
    engine = create_async_engine(_url())
    async with engine.connect() as conn:
        await conn.run_sync(_run)
        await conn.commit()
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_online())
