"""Every change records an audit event in its transaction; the keyed chain and its checkpoints
expose tampering; the app's database role cannot rewrite the trail at all."""

import hashlib
import json
import secrets
import uuid

import pytest
from pydantic import ValidationError
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.cli import _app_role_problem, _verify_audit
from app.core import db as core_db
from app.core import jobs
from app.core.audit import (
    GENESIS,
    AuditCheckpoint,
    AuditEvent,
    canonical,
    compute_hash,
    record,
    verify_all,
    verify_chain,
    write_checkpoints,
    write_pending_events,
)
from app.core.config import Settings, get_settings


async def test_a_change_records_who_what_before_after_and_request_id(client, auth, org):
    url = f"/api/v1/companies/{org.companies['C03'].id}"
    response = await client.patch(url, json={"name": "南京新公司"}, headers=auth("admin"))
    assert response.status_code == 200
    events = (await client.get("/api/v1/audit-events", params={"entity_id": str(org.companies["C03"].id)},
                               headers=auth("admin"))).json()["items"]
    assert len(events) == 1
    event = events[0]
    assert event["action"] == "company.updated"
    assert event["actor_id"] == str(org.users["admin"].id)
    assert event["before"]["name"] == "华东机械南京公司" and event["after"]["name"] == "南京新公司"
    assert event["request_id"] == response.headers["x-request-id"]


async def test_a_failed_change_leaves_no_audit_event(client, auth):
    response = await client.post("/api/v1/companies", json={"code": "C01", "name": "dup"}, headers=auth("admin"))
    assert response.status_code == 409
    events = (await client.get("/api/v1/audit-events", params={"limit": 200},
                               headers=auth("admin"))).json()["items"]
    assert all(e["request_id"] != response.headers["x-request-id"] for e in events)


async def test_audit_events_are_scoped(client, auth, org):
    await client.patch(f"/api/v1/companies/{org.companies['C09'].id}", json={"name": "x"}, headers=auth("admin"))
    seen_by_leader = (await client.get("/api/v1/audit-events", headers=auth("leader"))).json()["items"]
    assert all(e["company_id"] != str(org.companies["C09"].id) for e in seen_by_leader)
    seen_by_other = (await client.get("/api/v1/audit-events", headers=auth("other-admin"))).json()["items"]
    assert seen_by_other == []


async def _make_events(client, auth, org, n=3):
    for i in range(n):
        await client.patch(f"/api/v1/companies/{org.companies['C04'].id}", json={"name": f"苏州{i}"},
                           headers=auth("admin"))


async def test_the_chain_verifies_when_untouched(client, auth, org, db):
    await _make_events(client, auth, org)
    report = await verify_chain(db, org.group.id)
    assert report.ok and report.checked >= 3



@pytest.fixture
async def owner_db(owner_engine):
    """A session as the tables' owner (superuser here), rolled back at the end: an attacker with
    the database's keys, but not the app's HMAC key."""
    async with owner_engine.connect() as conn:
        outer = await conn.begin()
        session = AsyncSession(bind=conn, expire_on_commit=False)
        try:
            yield session
        finally:
            await session.close()
            await outer.rollback()


async def _chain(session, n: int = 4, group_id: uuid.UUID | None = None) -> uuid.UUID:
    """n events in a group of their own, written and chained (flushed, not committed)."""
    gid = group_id or uuid.uuid4()
    for i in range(n):
        record(session, None, "test.event", "thing", i, after={"n": i}, group_id=gid)
    await write_pending_events(session)
    return gid


async def _rows(session, gid):
    return [dict(r) for r in (await session.execute(
        select(*AuditEvent.__table__.columns).where(AuditEvent.group_id == gid).order_by(AuditEvent.seq)
    )).mappings()]


async def _rewrite(session, gid, seq, after, digest):
    """Rewrite the row `seq` and re-link every later row with `digest(prev, row)`, as whoever can
    bypass the append-only trigger would."""
    await session.execute(text("SET LOCAL session_replication_role = replica"))
    prev = GENESIS
    for row in await _rows(session, gid):
        if row["seq"] == seq:
            row["after"] = after
        if row["seq"] >= seq:
            row["prev_hash"], row["hash"] = prev, digest(prev, row)
            await session.execute(text(
                "UPDATE audit_event SET after = CAST(:after AS jsonb), prev_hash = :p, hash = :h WHERE seq = :s"),
                {"after": json.dumps(row["after"]), "p": row["prev_hash"], "h": row["hash"], "s": row["seq"]})
        prev = row["hash"]
    session.expire_all()


async def _delete_newest(session, gid, n):
    await session.execute(text("SET LOCAL session_replication_role = replica"))
    await session.execute(text(
        "DELETE FROM audit_event WHERE seq IN (SELECT seq FROM audit_event WHERE group_id = :g "
        "ORDER BY seq DESC LIMIT :n)"), {"g": gid, "n": n})


def _plain(prev, row):
    return hashlib.sha256(canonical(prev, row)).hexdigest()


async def test_rewriting_a_row_and_recomputing_every_later_plain_hash_is_detected(owner_db):
    gid = await _chain(owner_db)
    rows = await _rows(owner_db, gid)
    await _rewrite(owner_db, gid, rows[1]["seq"], {"n": "forged"}, _plain)
    # Links and plain hashes are consistent again: the old unkeyed rule would have passed this.
    forged = await _rows(owner_db, gid)
    assert all(r["prev_hash"] == p["hash"] for p, r in zip(forged, forged[1:], strict=False))
    report = await verify_chain(owner_db, gid)
    assert not report.ok and report.broken_at_seq == rows[1]["seq"] and "HMAC" in report.reason


async def test_a_rewrite_with_a_wrong_key_is_detected(owner_db):
    gid = await _chain(owner_db)
    rows = await _rows(owner_db, gid)
    await _rewrite(owner_db, gid, rows[2]["seq"], {"n": "forged"},
                   lambda prev, row: compute_hash(prev, row, b"a guessed key of thirty-two bytes!!"))
    report = await verify_chain(owner_db, gid)
    assert not report.ok and report.broken_at_seq == rows[2]["seq"]


async def test_deleting_a_row_inside_the_chain_breaks_the_next_link(owner_db):
    gid = await _chain(owner_db)
    rows = await _rows(owner_db, gid)
    await owner_db.execute(text("SET LOCAL session_replication_role = replica"))
    await owner_db.execute(text("DELETE FROM audit_event WHERE seq = :s"), {"s": rows[1]["seq"]})
    report = await verify_chain(owner_db, gid)
    assert not report.ok and report.broken_at_seq == rows[2]["seq"] and "link" in report.reason


async def test_deleting_the_newest_events_is_detected_against_a_checkpoint(owner_db):
    gid = await _chain(owner_db, n=5)
    summary = await write_checkpoints(owner_db)
    assert summary["written"] >= 1 and str(gid) not in summary["broken"]
    await _delete_newest(owner_db, gid, 2)
    assert (await verify_chain(owner_db, gid)).ok  # the shorter chain is valid on its own...
    report = next(r for r in await verify_all(owner_db) if r.group_id == gid)
    assert not report.ok and "no longer reaches checkpoint" in report.reason  # ...but not its checkpoint


async def test_deleting_every_event_of_a_group_is_detected_against_a_checkpoint(owner_db):
    gid = await _chain(owner_db, n=2)
    await write_checkpoints(owner_db)
    await _delete_newest(owner_db, gid, 2)
    report = next(r for r in await verify_all(owner_db) if r.group_id == gid)
    assert not report.ok and report.checked == 0


async def test_a_checkpoint_catches_a_rewrite_even_by_someone_holding_the_key(owner_db):
    gid = await _chain(owner_db)
    await write_checkpoints(owner_db)
    rows = await _rows(owner_db, gid)
    await _rewrite(owner_db, gid, rows[1]["seq"], {"n": "forged"}, compute_hash)
    assert (await verify_chain(owner_db, gid)).ok
    report = next(r for r in await verify_all(owner_db) if r.group_id == gid)
    assert not report.ok and "checkpoint" in report.reason


async def test_the_checkpoint_job_never_anchors_a_tampered_chain(owner_db):
    gid = await _chain(owner_db)
    rows = await _rows(owner_db, gid)
    await _rewrite(owner_db, gid, rows[1]["seq"], {"n": "forged"}, _plain)
    summary = await write_checkpoints(owner_db)
    assert str(gid) in summary["broken"]
    assert (await owner_db.scalar(select(AuditCheckpoint.id).where(AuditCheckpoint.group_id == gid))) is None


async def test_the_checkpoint_job_writes_each_changed_head_once_and_logs_it(engine, owner_engine, caplog):
    gid = uuid.uuid4()
    try:
        async with core_db.session_factory()() as session:  # the app role, as the scheduler runs it
            record(session, None, "test.event", "thing", 1, group_id=gid)
            record(session, None, "test.event", "thing", 2, group_id=gid)
            await core_db.commit(session)
        with caplog.at_level("INFO", logger="recourse.audit"):
            first = await jobs.run_job("audit-checkpoint")
        async with core_db.session_factory()() as session:
            head = (await session.execute(select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.group_id == gid)
                                          .order_by(AuditEvent.seq.desc()).limit(1))).one()
            stored = (await session.execute(select(AuditCheckpoint.seq, AuditCheckpoint.hash)
                                            .where(AuditCheckpoint.group_id == gid))).all()
        assert first["written"] >= 1 and str(gid) not in first["broken"]
        assert stored == [tuple(head)]
        assert any(f"group={gid} seq={head.seq} hash={head.hash}" in m for m in caplog.messages)
        second = await jobs.run_job("audit-checkpoint")
        assert second["written"] == 0 and second["unchanged"] >= 1
    finally:
        await _purge(owner_engine, gid)


async def _purge(owner_engine, gid):
    async with owner_engine.begin() as conn:
        await conn.execute(text("SET LOCAL session_replication_role = replica"))
        await conn.execute(text("DELETE FROM audit_event WHERE group_id = :g"), {"g": gid})
        await conn.execute(text("DELETE FROM audit_checkpoint WHERE group_id = :g"), {"g": gid})


async def test_the_app_role_may_not_update_delete_or_truncate_the_audit_trail(db):
    await _chain(db, n=1)
    role = get_settings().database_app_role
    assert await db.scalar(text("SELECT current_user")) == role
    assert not await db.scalar(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"))
    for table in ("audit_event", "audit_checkpoint"):
        for statement in (f"UPDATE {table} SET hash = hash", f"DELETE FROM {table}", f"TRUNCATE {table}"):
            with pytest.raises(DBAPIError, match="permission denied"):
                async with db.begin_nested():
                    await db.execute(text(statement))
    # ...while it may append (the job writes checkpoints as the app role).
    async with db.begin_nested():
        db.add(AuditCheckpoint(group_id=uuid.uuid4(), seq=1, hash="0" * 64))


async def test_the_table_refuses_updates_and_deletes_even_to_its_owner(owner_db):
    await _chain(owner_db, n=1)
    await write_checkpoints(owner_db)
    for table in ("audit_event", "audit_checkpoint"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with owner_db.begin_nested():
                await owner_db.execute(text(f"DELETE FROM {table}"))


async def test_verify_audit_checks_and_extends_a_checkpoint_file(owner_engine, database_urls, tmp_path, capsys):
    file = tmp_path / "checkpoints.jsonl"
    gid = uuid.uuid4()
    try:
        async with AsyncSession(owner_engine, expire_on_commit=False) as session:
            await _chain(session, n=3, group_id=gid)
            await session.commit()
        assert await _verify_audit(database_urls[1], file) == 0
        anchored = [json.loads(line) for line in file.read_text().splitlines()]
        assert any(a["group_id"] == str(gid) for a in anchored)
        async with owner_engine.begin() as conn:
            await conn.execute(text("SET LOCAL session_replication_role = replica"))
            await conn.execute(text("DELETE FROM audit_event WHERE seq = (SELECT max(seq) FROM audit_event "
                                    "WHERE group_id = :g)"), {"g": gid})
        capsys.readouterr()
        assert await _verify_audit(database_urls[1], file) == 1
        broken = [line for line in capsys.readouterr().out.splitlines() if "BROKEN" in line]
        assert len(broken) == 1 and str(gid) in broken[0] and "no longer reaches checkpoint" in broken[0]
    finally:
        await _purge(owner_engine, gid)


async def test_verify_audit_refuses_a_malformed_checkpoint_file(database_urls, tmp_path):
    file = tmp_path / "checkpoints.jsonl"
    file.write_text('{"group_id": "not-a-uuid", "seq": 1, "hash": "x"}\n')
    assert await _verify_audit(database_urls[1], file) == 2


def test_production_requires_an_audit_key_of_at_least_32_bytes():
    base = {"environment": "production", "jwt_secret": secrets.token_urlsafe(48)}
    with pytest.raises(ValidationError, match="AUDIT_HMAC_KEY is required"):
        Settings(**base)
    with pytest.raises(ValidationError, match="at least 32 bytes"):
        Settings(**base, audit_hmac_key="short")
    key = secrets.token_urlsafe(32)
    assert Settings(**base, audit_hmac_key=key).audit_key() == key.encode()


async def test_serve_flags_an_app_connection_that_could_rewrite_the_trail(database_urls):
    owner_url, app_url = database_urls
    assert await _app_role_problem(app_url) is None
    assert "can rewrite audit_event" in await _app_role_problem(owner_url)  # production refuses to serve
