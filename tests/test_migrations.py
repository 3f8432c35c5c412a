"""Migrations: upgrade head → downgrade base → upgrade head on a fresh database, and the models
agree with what the migrations build; existing audit events are re-chained under the key."""

import asyncio
import importlib.util
import json
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

import app.domains  # noqa: F401
from app.core import clock
from app.core.audit import verify_chain
from app.core.config import PROJECT_ROOT
from app.core.db import Base, to_async_url
from app.core.queue import LIBRARY_TABLES
from tests.contract.conftest import _create_database, _with_database


def _alembic(url: str, *steps: tuple[str, str]) -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.attributes["database_url"] = url
    for action, target in steps:
        getattr(command, action)(cfg, target)


def _not_library_owned(name, type_, parent_names) -> bool:  # noqa: ANN001
    return not (type_ == "table" and name in LIBRARY_TABLES)


async def _diff(url: str):
    engine = create_async_engine(to_async_url(url))
    async with engine.connect() as conn:
        diff = await conn.run_sync(lambda c: compare_metadata(
            MigrationContext.configure(c, opts={"include_name": _not_library_owned}), Base.metadata))
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


def _chain_migration():
    path = next((PROJECT_ROOT / "migrations" / "versions").glob("*_audit_keyed_chain.py"))
    spec = importlib.util.spec_from_file_location("audit_keyed_chain", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def _insert_plain_chain(url: str, group_id: uuid.UUID, n: int, hash_rule) -> None:
    engine = create_async_engine(to_async_url(url))
    prev = "0" * 64
    async with engine.begin() as conn:
        for i in range(n):
            event = {"id": uuid.uuid4(), "group_id": group_id, "company_id": None, "actor_id": None,
                     "action": "legacy.event", "entity_type": "thing", "entity_id": str(i), "before": None,
                     "after": {"n": i, "名": "旧"}, "request_id": None, "occurred_at": clock.now()}
            digest = hash_rule(prev, event)
            await conn.execute(text(
                "INSERT INTO audit_event (id, group_id, action, entity_type, entity_id, after, occurred_at, "
                "prev_hash, hash) VALUES (:id, :group_id, :action, :entity_type, :entity_id, CAST(:after AS jsonb), "
                ":occurred_at, :prev, :hash)"),
                {**event, "after": json.dumps(event["after"]), "prev": prev, "hash": digest})
            prev = digest
    await engine.dispose()


async def _verify(url: str, group_id: uuid.UUID, hash_rule=None):
    """(chain report under the app's keyed rule, or whether every row matches `hash_rule`), checkpoints."""
    engine = create_async_engine(to_async_url(url))
    async with AsyncSession(engine) as session:
        if hash_rule is None:
            result = (await verify_chain(session, group_id)).ok
        else:
            rows = (await session.execute(text(
                "SELECT * FROM audit_event WHERE group_id = :g ORDER BY seq"), {"g": group_id})).mappings().all()
            prev, result = "0" * 64, True
            for row in rows:
                result = result and row["prev_hash"] == prev and hash_rule(prev, row) == row["hash"]
                prev = row["hash"]
        checkpoints = (await session.execute(text(
            "SELECT seq, hash FROM audit_checkpoint WHERE group_id = :g"), {"g": group_id})).all() \
            if hash_rule is None else None
    await engine.dispose()
    return result, checkpoints


def test_existing_events_are_rechained_under_the_key_and_back(database_url):
    migration = _chain_migration()
    name = f"recourse_rechain_{uuid.uuid4().hex[:8]}"
    asyncio.run(_create_database(database_url, name))
    url = _with_database(database_url, name)
    _alembic(url, ("upgrade", f"{migration.revision}-1"))
    groups = [uuid.uuid4(), uuid.uuid4()]
    for gid in groups:
        asyncio.run(_insert_plain_chain(url, gid, 3, migration.plain_hash))
    _alembic(url, ("upgrade", migration.revision))
    for gid in groups:
        ok, checkpoints = asyncio.run(_verify(url, gid))
        assert ok and len(checkpoints) == 1  # keyed now, and the migrated head is anchored
    _alembic(url, ("downgrade", f"{migration.revision}-1"))
    for gid in groups:
        assert asyncio.run(_verify(url, gid, migration.plain_hash))[0]


def test_the_upgrade_refuses_to_launder_a_broken_legacy_chain(database_url):
    migration = _chain_migration()
    name = f"recourse_rechain_{uuid.uuid4().hex[:8]}"
    asyncio.run(_create_database(database_url, name))
    url = _with_database(database_url, name)
    _alembic(url, ("upgrade", f"{migration.revision}-1"))
    asyncio.run(_insert_plain_chain(url, uuid.uuid4(), 2, lambda prev, event: "f" * 64))
    with pytest.raises(RuntimeError, match="broken at seq"):
        _alembic(url, ("upgrade", migration.revision))


async def _bind_one_device_twice(url: str, device_id: str) -> None:
    """Two machines of two groups carrying one GPS device, as the old per-group rule allowed."""
    engine = create_async_engine(to_async_url(url))
    async with engine.begin() as conn:
        await conn.execute(text("SET LOCAL session_replication_role = replica"))  # no org rows needed
        for code in ("g-one", "g-two"):
            group_id = uuid.uuid4()
            await conn.execute(text("INSERT INTO org_group (id, code, name, timezone) VALUES (:g, :c, :c, 'UTC')"),
                               {"g": group_id, "c": code})
            await conn.execute(text(
                "INSERT INTO machine (id, group_id, company_id, created_by_id, model, category, serial_number,"
                " gps_device_id, lock_state, version) VALUES (:id, :g, :g, :g, 'SY215C', 'excavator', :s, :d,"
                " 'unlocked', 1)"), {"id": uuid.uuid4(), "g": group_id, "s": f"{code}-1", "d": device_id})
    await engine.dispose()


def test_the_device_upgrade_lists_a_device_bound_in_two_groups_and_refuses_to_run(database_url):
    name = f"recourse_devices_{uuid.uuid4().hex[:8]}"
    asyncio.run(_create_database(database_url, name))
    url = _with_database(database_url, name)
    _alembic(url, ("upgrade", "field_sync"))
    asyncio.run(_bind_one_device_twice(url, "GPS-SHARED-0001"))
    with pytest.raises(RuntimeError, match=r"GPS-SHARED-0001: g-one/g-one-1 \(.*\), g-two/g-two-1"):
        _alembic(url, ("upgrade", "device_safety"))
