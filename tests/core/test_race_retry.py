"""A write that loses a deadlock or a serialization failure to another transaction is run again by
the server, from the start and in a fresh transaction, and the client never sees a 5xx: the change
is made exactly once; a request that keeps losing is told 409 `request.concurrent_update`."""

from sqlalchemy import func, select, text

from app.core.audit import AuditEvent
from app.customers import service
from app.customers.models import Customer

LOSE = "DO $$ BEGIN RAISE EXCEPTION 'lost a race' USING ERRCODE = '{}'; END $$"


def _losing(monkeypatch, times: int, sqlstate: str) -> list[int]:
    """create_customer loses `times` races (a real PostgreSQL error with that SQLSTATE) after it wrote."""
    calls: list[int] = []
    original = service.create_customer

    async def flaky(session, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        calls.append(1)
        created = await original(session, *args, **kwargs)
        if len(calls) <= times:
            await session.execute(text(LOSE.format(sqlstate)))
        return created

    monkeypatch.setattr(service, "create_customer", flaky)
    return calls


def _body(name: str) -> dict:
    return {"name": name, "kind": "company"}


async def test_a_write_that_loses_a_deadlock_is_run_again_and_made_once(client, auth, db, monkeypatch):
    for sqlstate in ("40P01", "40001"):  # deadlock_detected, serialization_failure
        calls = _losing(monkeypatch, 2, sqlstate)
        name = f"重试公司{sqlstate}"
        answer = await client.post("/api/v1/customers", headers=auth("sales1"), json=_body(name))
        assert answer.status_code == 201, answer.text
        assert len(calls) == 3
        assert await db.scalar(select(func.count()).select_from(Customer).where(Customer.name == name)) == 1
        audited = await db.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "customer.created", AuditEvent.entity_id == answer.json()["id"]))
        assert audited == 1


async def test_a_write_that_keeps_losing_is_a_409_never_a_500(client, auth, db, monkeypatch):
    calls = _losing(monkeypatch, 10, "40P01")
    answer = await client.post("/api/v1/customers", headers=auth("sales1"), json=_body("总是输的公司"))
    assert answer.status_code == 409 and answer.json()["code"] == "request.concurrent_update"
    assert len(calls) == 3
    assert await db.scalar(select(func.count()).select_from(Customer).where(Customer.name == "总是输的公司")) == 0


async def test_other_database_errors_are_not_retried(client, auth, monkeypatch):
    calls = _losing(monkeypatch, 1, "22012")  # division_by_zero: a rerun would not help
    answer = await client.post("/api/v1/customers", headers=auth("sales1"), json=_body("除零公司"))
    assert answer.status_code == 422 and len(calls) == 1  # a data error, answered as such, once
