"""Every change records an audit event in its transaction; the hash chain exposes tampering."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.core.audit import verify_chain


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


async def test_the_chain_detects_an_altered_row(client, auth, org, db):
    await _make_events(client, auth, org)
    # Only a superuser bypassing the append-only trigger can do this: exactly the tampering to detect.
    await db.execute(text("SET LOCAL session_replication_role = replica"))
    await db.execute(text(
        "UPDATE audit_event SET after = '{\"name\": \"forged\"}' WHERE seq = "
        "(SELECT min(seq) FROM audit_event WHERE entity_id = :id)"), {"id": str(org.companies["C04"].id)})
    report = await verify_chain(db, org.group.id)
    assert not report.ok
    assert "altered" in report.reason


async def test_the_chain_detects_a_removed_row(client, auth, org, db):
    await _make_events(client, auth, org)
    await db.execute(text("SET LOCAL session_replication_role = replica"))
    await db.execute(text(
        "DELETE FROM audit_event WHERE seq = (SELECT min(seq) FROM audit_event WHERE entity_id = :id)"),
        {"id": str(org.companies["C04"].id)})
    report = await verify_chain(db, org.group.id)
    assert not report.ok


async def test_the_table_refuses_updates_and_deletes(client, auth, org, db):
    await _make_events(client, auth, org, n=1)
    with pytest.raises(DBAPIError, match="append-only"):
        async with db.begin_nested():
            await db.execute(text("DELETE FROM audit_event"))
