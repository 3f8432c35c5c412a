"""Engine, declarative base and the unit of work.

One transaction per request: `TransactionalRoute` (app/core/routing.py) opens a session, the
handler and its services only `flush()`, and `commit()` below finalises what must commit with the
change (audit events, idempotency records) before the single COMMIT.
"""

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, event, func
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, ORMExecuteState, Session, declared_attr, mapped_column

from app.core import clock
from app.core.config import get_settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    """The application's clock (app/core/clock.py), for column defaults and services alike."""
    return clock.now()


class UUIDPk:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow, server_default=func.now()
    )


class Versioned:
    """Optimistic concurrency: `version` backs the ETag and SQLAlchemy's stale-row check.

    The mapper's `version_id_col`: every ORM UPDATE bumps it and carries `WHERE version = <loaded>`,
    so a write over a row changed since it was loaded raises `StaleDataError` (answered 409) instead
    of silently overwriting. Set-based UPDATE statements must bump it themselves (`version + 1`).
    """

    version: Mapped[int] = mapped_column(default=1, server_default="1")

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805 - a declared_attr takes the class
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]


def to_async_url(url: str) -> str:
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix):]
    return url


_engine: AsyncEngine | None = None
_sessionmaker: async_sessionmaker[AsyncSession] | None = None
_read_sessionmaker: async_sessionmaker[AsyncSession] | None = None


def configure_engine(url: str) -> AsyncEngine:
    global _engine, _sessionmaker, _read_sessionmaker
    settings = get_settings()
    _engine = create_async_engine(
        to_async_url(url),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        # No pre-ping: it costs every request three round trips (BEGIN, ";", ROLLBACK) to guard
        # against a rare event. A connection that died while pooled fails its first statement
        # instead; SQLAlchemy then invalidates it and every connection older than the failure (the
        # pool's invalidation time), and the middleware answers that one request 503 + Retry-After
        # (tests/core/test_db_outage.py).
        pool_pre_ping=False,
        connect_args={"server_settings": {"plan_cache_mode": settings.db_plan_cache_mode}}
        if settings.db_plan_cache_mode else {},
    )
    _sessionmaker = async_sessionmaker(_engine, expire_on_commit=False)
    _read_sessionmaker = async_sessionmaker(_engine.execution_options(isolation_level="AUTOCOMMIT"),
                                            expire_on_commit=False, info={READ_ONLY: True})
    return _engine


def get_engine() -> AsyncEngine:
    if _engine is None:
        settings = get_settings()
        if not settings.database_url:
            raise RuntimeError("DATABASE_URL is not set (scripts/run starts an embedded PostgreSQL)")
        configure_engine(settings.database_url)
    assert _engine is not None
    return _engine


def session_factory() -> async_sessionmaker[AsyncSession]:
    get_engine()
    assert _sessionmaker is not None
    return _sessionmaker


def read_session_factory() -> async_sessionmaker[AsyncSession]:
    """Sessions for read-only requests: autocommit, so no BEGIN and COMMIT round trips; each
    statement sees its own snapshot. Marked read-only: a write through one raises (see below)."""
    get_engine()
    assert _read_sessionmaker is not None
    return _read_sessionmaker


@asynccontextmanager
async def one_snapshot(session: AsyncSession) -> AsyncIterator[None]:
    """A read-only request's statements at one snapshot (REPEATABLE READ, READ ONLY) instead of one
    each: for a read whose parts must agree with each other (the field sync's cursor and what it
    sends). Two round trips (BEGIN, COMMIT). Inside a transaction already (a test's, a writing
    route's) the statements run in it as they are."""
    conn = await session.connection()
    raw = (await conn.get_raw_connection()).driver_connection
    autocommit = conn.sync_connection is not None and \
        conn.sync_connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT"
    if not autocommit or raw.is_in_transaction():
        yield
        return
    await conn.exec_driver_sql("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    try:
        yield
    finally:
        await conn.exec_driver_sql("COMMIT")


# `session.info[READ_ONLY]`: the session serves a read-only request (TransactionalRoute sets it for
# GET routes; read sessions carry it from their factory). Without a transaction, a write would
# commit statement by statement and an advisory lock would end at once, so writing raises instead.
READ_ONLY = "read_only"


class WriteInReadOnlyRequest(RuntimeError):
    """A GET route wrote. Mark its handler `@writes_on_read` (app.core.routing) if it must."""


def check_writable(session: Session | AsyncSession) -> None:
    if session.info.get(READ_ONLY):
        raise WriteInReadOnlyRequest("a write in a read-only (GET) request; mark the route @writes_on_read")


@event.listens_for(Session, "before_flush")
def _no_flush_when_read_only(session: Session, _context: object, _instances: object) -> None:
    if session.info.get(READ_ONLY) and (session.new or session.dirty or session.deleted):
        check_writable(session)


@event.listens_for(Session, "do_orm_execute")
def _no_writes_when_read_only(state: ORMExecuteState) -> None:
    if state.session.info.get(READ_ONLY) and (
            state.is_insert or state.is_update or state.is_delete
            or getattr(state.statement, "_for_update_arg", None) is not None):
        check_writable(state.session)


# Work that must commit together with the business change; run in order just before COMMIT.
BeforeCommit = Callable[[AsyncSession], Awaitable[None]]
_before_commit_hooks: list[BeforeCommit] = []


def on_before_commit(hook: BeforeCommit) -> BeforeCommit:
    _before_commit_hooks.append(hook)
    return hook


# PostgreSQL's SQLSTATEs for "you lost a race, run again": deadlock_detected, serialization_failure.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})


def lost_a_race(error: Exception) -> bool:
    """Whether a database error is a deadlock or serialization failure, which a rerun can win."""
    return getattr(getattr(error, "orig", None), "sqlstate", None) in RETRYABLE_SQLSTATES


# What a transaction queued in `session.info` for its commit (audit events): forgotten when the
# transaction is rolled back to run the request again.
_PENDING_KEYS: set[str] = set()


def pending_key(key: str) -> str:
    _PENDING_KEYS.add(key)
    return key


def forget_pending(session: AsyncSession) -> None:
    for key in _PENDING_KEYS:
        session.info.pop(key, None)


async def commit(session: AsyncSession) -> None:
    """The only way application code commits: flush, run the before-commit hooks, COMMIT."""
    await session.flush()
    for hook in _before_commit_hooks:
        await hook(session)
    await session.commit()


async def open_session() -> AsyncIterator[AsyncSession]:
    async with session_factory()() as session:
        yield session
