"""`GET /sync`: a full snapshot, then an incremental sync after each kind of change; a change
committed by a transaction that began before the cursor and committed after it still arrives (two
real connections); an expired cursor answers 410; pages are bounded."""

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import delete, select, text

from app.core import db as core_db
from app.core.db import utcnow
from app.field import sync as field_sync
from app.field.models import SyncChange
from app.notifications.models import Notification
from app.notifications.service import notify
from app.org.repository import load_principal
from tests.collection.log_fixtures import log_body
from tests.field.conftest import MOBILE


def _ids(changes: dict, kind: str, what: str = "upserted") -> set[str]:
    items = changes["changes"][kind][what]
    return {i if isinstance(i, str) else i["id"] for i in items}


async def test_a_snapshot_then_each_kind_of_change_arrives_once(client, auth, db, org, open_case, sync, request_flows,
                                                                act):
    await request_flows()
    first = await open_case()
    snapshot = await sync()
    assert snapshot["mode"] == "snapshot" and not snapshot["has_more"]
    assert _ids(snapshot, "cases") == {str(first.id)}
    assert str(first.customer_id) in _ids(snapshot, "customers")
    customer = next(c for c in snapshot["changes"]["customers"]["upserted"] if c["id"] == str(first.customer_id))
    assert customer["contacts"] and not customer["contacts"][0]["masked"]
    quiet = await sync(cursor=snapshot["cursor"])
    assert quiet["mode"] == "changes" and all(not v["upserted"] and not v["deleted"]
                                              for v in quiet["changes"].values())

    # A new case of mine.
    second = await open_case()
    step = await sync(cursor=quiet["cursor"])
    assert _ids(step, "cases") == {str(second.id)} and str(second.customer_id) in _ids(step, "customers")

    # A log by me: the log, and the case it changed (last contact, priority).
    logged = await client.post(f"{MOBILE}/cases/{first.id}/logs", headers=auth("collector1"), json=log_body())
    assert logged.status_code == 201, logged.text
    step = await sync(cursor=step["cursor"])
    assert _ids(step, "logs") == {logged.json()["id"]} and _ids(step, "cases") == {str(first.id)}

    # A request filed, then approved: its state reaches the phone.
    filed = await client.post(f"{MOBILE}/requests/interest-waiver", headers=auth("collector1"), json={
        "client_ref": str(uuid.uuid4()), "contract_id": str(first.contract_id), "amount": "1.00", "reason": "困难"})
    assert filed.status_code == 201, filed.text
    step = await sync(cursor=step["cursor"])
    assert [r["status"] for r in step["changes"]["requests"]["upserted"]] == ["pending"]
    assert (await act("approver1", filed.json()["approval_id"], "approve", {})).status_code == 200
    step = await sync(cursor=step["cursor"])
    assert [(r["id"], r["status"]) for r in step["changes"]["requests"]["upserted"]] == [
        (filed.json()["id"], "approved")]

    # A notification for me (and none for somebody else's).
    await notify(db, group_id=org.group.id, user_ids=[org.users["collector1"].id], kind="test", title="你好")
    await notify(db, group_id=org.group.id, user_ids=[org.users["collector2"].id], kind="test", title="别人的")
    step = await sync(cursor=step["cursor"])
    assert [n["title"] for n in step["changes"]["notifications"]["upserted"]] == ["你好"]

    # The dispatcher reassigns a case away: a tombstone for the case (and its customer, not mine any more).
    moved = await client.post("/api/v1/collection-cases/assign", headers=auth("dispatcher"), json={
        "case_ids": [str(first.id)], "collector_id": str(org.users["collector2"].id), "reason": "调整"})
    assert moved.status_code == 200, moved.text
    step = await sync(cursor=step["cursor"])
    assert _ids(step, "cases", "deleted") == {str(first.id)} and not step["changes"]["cases"]["upserted"]
    if first.customer_id != second.customer_id:
        assert str(first.customer_id) in _ids(step, "customers", "deleted")
    theirs = await sync("collector2", None)
    assert str(first.id) in _ids(theirs, "cases")
    worklist = await client.get(f"{MOBILE}/worklist", headers=auth("collector1"))
    assert [c["id"] for c in worklist.json()["items"]] == [str(second.id)]


async def test_pages_are_bounded_and_a_sync_costs_a_bounded_number_of_queries(client, auth, open_case, sync,
                                                                             monkeypatch, count_queries):
    snapshot = await sync()
    cases = [await open_case() for _ in range(3)]
    logs = set()
    for minutes, case in enumerate(cases):  # within the snapshot's window of recent logs
        recent = (utcnow() - timedelta(minutes=minutes + 1)).isoformat()
        logged = await client.post(f"{MOBILE}/cases/{case.id}/logs", headers=auth("collector1"),
                                   json=log_body(occurred_at=recent))
        assert logged.status_code == 201, logged.text
        logs.add(logged.json()["id"])
    monkeypatch.setattr(field_sync, "get_settings", lambda: _Settings(page=2))
    pages, cursor, seen = 0, snapshot["cursor"], set()
    while True:
        async with count_queries() as counted:
            page = await sync(cursor=cursor)
        assert counted.n <= 12, counted.n
        pages, cursor = pages + 1, page["cursor"]
        seen |= _ids(page, "cases")
        if not page["has_more"]:
            break
    assert seen == {str(c.id) for c in cases} and pages >= 3
    full, full_logs, fresh = set(), [], None
    while True:
        page = await sync(cursor=fresh)
        assert page["mode"] == "snapshot"
        full |= _ids(page, "cases")
        full_logs += [log["id"] for log in page["changes"]["logs"]["upserted"]]  # paged by (occurred_at, id)
        fresh = page["cursor"]
        if not page["has_more"]:
            break
    assert full == seen and sorted(full_logs) == sorted(logs)


class _Settings:
    def __init__(self, page: int) -> None:
        self.sync_page_size, self.sync_retention_days = page, 30


async def test_an_expired_cursor_answers_410_and_a_forged_one_422(client, auth, org):
    collector = org.users["collector1"].id
    old = field_sync.encode(field_sync.Position(collector, "1:1:", 0, utcnow() - timedelta(days=31)))
    expired = await client.get(f"{MOBILE}/sync", params={"cursor": old}, headers=auth("collector1"))
    assert expired.status_code == 410 and expired.json()["code"] == "sync.cursor_expired"
    someone_elses = await client.get(f"{MOBILE}/sync", params={"cursor": old}, headers=auth("collector2"))
    assert someone_elses.status_code == 422
    forged = await client.get(f"{MOBILE}/sync", params={"cursor": old[:-2] + "xx"}, headers=auth("collector1"))
    assert forged.status_code == 422 and forged.json()["code"] == "pagination.invalid_cursor"


@pytest.fixture
async def committed_notifications(engine, org):
    """Notifications committed for real (the two-connection test); removed afterwards."""
    made: list[uuid.UUID] = []
    yield made
    async with engine.begin() as conn:
        await conn.execute(delete(SyncChange).where(SyncChange.entity_id.in_(made)))
        await conn.execute(delete(Notification).where(Notification.id.in_(made)))


async def _sync(principal, cursor):
    async with core_db.session_factory()() as session:
        out = await field_sync.sync(session, principal, cursor)
        await session.rollback()
        return out


async def test_a_change_committed_after_the_cursor_by_a_transaction_begun_before_it_still_arrives(
        engine, org, committed_notifications):
    user = org.users["collector1"]
    async with core_db.session_factory()() as session:
        principal = await load_principal(session, user.id)
    start = (await _sync(principal, None)).cursor

    def row(title: str) -> dict:
        ident = uuid.uuid4()
        committed_notifications.append(ident)
        return {"id": ident, "group_id": org.group.id, "user_id": user.id, "kind": "test", "title": title,
                "created_at": utcnow()}

    slow, fast = row("slow"), row("fast")
    async with engine.connect() as writer_a, engine.connect() as writer_b:
        await writer_a.begin()
        # A: begins and writes first (the older sequence number), commits last.
        await writer_a.execute(Notification.__table__.insert().values(slow))
        # B: writes later (a newer sequence number) and commits at once.
        async with writer_b.begin():
            await writer_b.execute(Notification.__table__.insert().values(fast))
        seqs = dict((await writer_a.execute(select(SyncChange.entity_id, SyncChange.seq).where(
            SyncChange.entity_id.in_([slow["id"], fast["id"]])))).all())
        assert seqs[slow["id"]] < seqs[fast["id"]]  # sequence order is not commit order
        middle = await _sync(principal, start)
        assert [n.title for n in middle.changes.notifications.upserted] == ["fast"]
        await writer_a.commit()
    after = await _sync(principal, middle.cursor)
    assert [n.title for n in after.changes.notifications.upserted] == ["slow"]
    quiet = await _sync(principal, after.cursor)
    assert not quiet.changes.notifications.upserted


async def test_a_write_records_its_changes_in_its_own_transaction(db, org):
    await notify(db, group_id=org.group.id, user_ids=[org.users["collector1"].id], kind="t", title="x")
    row = (await db.execute(select(SyncChange).order_by(SyncChange.seq.desc()).limit(1))).scalar_one()
    own = await db.scalar(text("SELECT pg_current_xact_id()::text::bigint"))
    assert row.kind == "notification" and row.user_id == org.users["collector1"].id and row.xid == own


async def test_the_purge_drops_changes_past_the_retention_period_only(db, org):
    user = org.users["collector1"].id
    old, recent = uuid.uuid4(), uuid.uuid4()
    for entity, age in ((old, 32), (recent, 29)):
        db.add(SyncChange(user_id=user, kind="notification", entity_id=entity, xid=1,
                          changed_at=utcnow() - timedelta(days=age)))
    await db.flush()
    await field_sync.purge_changes(db)
    left = set((await db.scalars(select(SyncChange.entity_id).where(SyncChange.entity_id.in_([old, recent])))).all())
    assert left == {recent}
