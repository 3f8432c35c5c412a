"""The sweep: expired customers return to the pool (the former owner loses access), owners in
their last days are reminded, and two concurrent sweeps move each customer exactly once."""

import asyncio
import uuid
from datetime import timedelta

from sqlalchemy import delete, func, select

from app.core import db as core_db
from app.core.audit import AuditEvent
from app.core.db import utcnow
from app.customers import pool, service
from app.customers.models import Customer, CustomerActivity
from app.customers.normalize import normalize_name
from app.notifications.models import Notification
from tests.customers.helpers import insert_customer


async def test_the_sweep_returns_expired_customers_to_the_pool(client, auth, org, db):
    expired = await insert_customer(db, org, owner="sales1", protected_days=-0.5)
    fresh = await insert_customer(db, org, owner="sales1", protected_days=10)
    secured = await insert_customer(db, org, owner="sales1", protected_days=1)
    await service.secure_customer(db, secured.id, owner_id=org.users["sales1"].id, reason="contract_signed")
    result = await pool.sweep(db, utcnow() + timedelta(days=2))
    assert expired.id in result.returned and fresh.id not in result.returned and secured.id not in result.returned
    row = await db.get(Customer, expired.id)
    assert (row.status, row.owner_id, row.former_owner_id) == ("pool", None, org.users["sales1"].id)
    await db.commit()
    # The former owner loses access, and may not claim it back during the cool-down.
    assert (await client.get(f"/api/v1/customers/{expired.id}", headers=auth("sales1"))).status_code == 404
    assert (await client.post(f"/api/v1/customers/{expired.id}/claim", headers=auth("sales1"))).json()["code"] \
        == "customer.reclaim_cooldown"
    assert (await client.get(f"/api/v1/customers/{fresh.id}", headers=auth("sales1"))).status_code == 200


async def test_the_sweep_is_audited_per_customer(db, org):
    expired = await insert_customer(db, org, owner="sales2", protected_days=-1)
    await pool.sweep(db)
    await core_db.commit(db)
    events = (await db.scalars(select(AuditEvent).where(AuditEvent.entity_id == str(expired.id)))).all()
    assert [(e.action, e.actor_id) for e in events] == [("customer.returned_to_pool", None)]


async def test_the_sweep_reminds_owners_in_their_last_days_once_a_day(client, auth, org, db):
    closing = await insert_customer(db, org, owner="sales1", protected_days=3, name="临期客户有限公司")
    await insert_customer(db, org, owner="sales1", protected_days=10, name="远期客户有限公司")
    first = await pool.remind_expiring(db, utcnow())
    again = await pool.remind_expiring(db, utcnow())
    assert first >= 1 and again == 0
    await db.commit()
    notes = (await client.get("/api/v1/notifications", params={"unread": True}, headers=auth("sales1"))).json()
    mine = [n for n in notes["items"] if n["entity_id"] == str(closing.id)]
    assert len(mine) == 1 and mine[0]["kind"] == "customer.protection_expiring" and "临期客户" in mine[0]["title"]
    assert all("远期客户" not in n["title"] for n in notes["items"])
    read = await client.post(f"/api/v1/notifications/{mine[0]['id']}/read", headers=auth("sales1"))
    assert read.status_code == 200 and read.json()["read_at"] is not None


async def test_salespeople_below_the_daily_floor_are_reminded_late_in_the_day(db, org):
    # 17:00 in Shanghai: after the reminder hour.
    now = utcnow().replace(hour=9, minute=0, second=0, microsecond=0)
    sent = await pool.remind_below_floor(db, now)
    assert sent >= 2  # sales1 and sales2 claimed nothing today
    kinds = (await db.scalars(select(Notification.user_id).where(Notification.kind == "customer.daily_floor"))).all()
    assert org.users["sales1"].id in kinds and org.users["collector1"].id not in kinds
    assert await pool.remind_below_floor(db, now) == 0


async def _committed_expired_customers(org, n: int) -> list[uuid.UUID]:
    ids = [uuid.uuid4() for _ in range(n)]
    async with core_db.session_factory()() as session:
        past = utcnow() - timedelta(hours=1)
        session.add_all(Customer(
            id=cid, group_id=org.group.id, company_id=org.companies["C03"].id, kind="company",
            name=f"并发清扫测试{i}", name_norm=normalize_name(f"并发清扫测试{i}"), owner_id=org.users["sales2"].id,
            created_by_id=org.users["admin"].id, status="private", protected_until=past - timedelta(seconds=i),
            phones=[], addresses=[], tags=[], category="intended") for i, cid in enumerate(ids))
        await session.commit()
    return ids


async def _cleanup(ids: list[uuid.UUID]) -> None:
    async with core_db.session_factory()() as session:
        await session.execute(delete(Notification).where(Notification.entity_id.in_([str(i) for i in ids])))
        await session.execute(delete(Customer).where(Customer.id.in_(ids)))  # activities cascade
        await session.commit()


async def test_two_concurrent_sweeps_move_each_customer_exactly_once(org):
    ids = await _committed_expired_customers(org, 120)
    try:
        async def one_sweep() -> list[uuid.UUID]:
            async with core_db.session_factory()() as session:
                moved = await pool.return_expired(session, utcnow(), batch=10)
                await core_db.commit(session)
                return moved

        first, second = await asyncio.gather(one_sweep(), one_sweep())
        ours = set(ids)
        first, second = set(first) & ours, set(second) & ours
        print(f"sweep A moved {len(first)}, sweep B moved {len(second)}")
        assert not first & second
        assert first | second == ours
        async with core_db.session_factory()() as session:
            per_customer = dict((await session.execute(
                select(CustomerActivity.customer_id, func.count()).where(
                    CustomerActivity.customer_id.in_(ids), CustomerActivity.kind == "expired")
                .group_by(CustomerActivity.customer_id))).all())
            assert set(per_customer.values()) == {1} and len(per_customer) == len(ids)
            audits = await session.scalar(select(func.count()).select_from(AuditEvent).where(
                AuditEvent.entity_id.in_([str(i) for i in ids]), AuditEvent.action == "customer.returned_to_pool"))
            assert audits == len(ids)
            statuses = set((await session.scalars(select(Customer.status).where(Customer.id.in_(ids)))).all())
            assert statuses == {"pool"}
    finally:
        await _cleanup(ids)


async def test_two_salespeople_claiming_one_pool_customer_at_once_one_wins(org):
    from app.core.errors import DomainError
    from app.org.repository import load_principal

    (cid,) = await _committed_expired_customers(org, 1)
    try:
        async with core_db.session_factory()() as session:
            await session.execute(Customer.__table__.update().where(Customer.id == cid).values(
                status="pool", owner_id=None, protected_until=None, pooled_at=utcnow(),
                company_id=org.companies["C01"].id))
            await session.commit()

        async def attempt(username: str) -> str:
            async with core_db.session_factory()() as session:
                principal = await load_principal(session, org.users[username].id)
                try:
                    await pool.claim(session, principal, cid)
                except DomainError as exc:
                    await session.rollback()
                    return exc.code
                await core_db.commit(session)
                return "claimed"

        outcomes = sorted(await asyncio.gather(attempt("sales1"), attempt("sales2")))
        # The loser finds the winner's private customer, which they may not read: as for GET, 404.
        assert outcomes == ["claimed", "customer.not_found"]
    finally:
        await _cleanup([cid])
