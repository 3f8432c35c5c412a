"""The public pool: names only before a claim, the daily claim cap, release and cool-down,
protection extensions and their monthly quota, "owner's for good", and per-company rules."""

from datetime import datetime, time, timedelta

from sqlalchemy import func, select

from app.core import db as core_db
from app.core.audit import AuditEvent
from app.core.business_date import business_date, business_zone
from app.core.db import utcnow
from app.customers import pool, service
from app.customers.models import Customer, CustomerActivity, CustomerShare
from tests.conftest import new_id
from tests.customers.helpers import create_customer, insert_customer


async def test_a_pool_customer_shows_only_its_name_before_the_claim(client, auth, org, db):
    customer = await insert_customer(db, org, name="杭州远大重工有限公司")
    detail = await client.get(f"/api/v1/customers/{customer.id}", headers=auth("sales1"))
    assert detail.status_code == 404
    pool = (await client.get("/api/v1/customers/pool", params={"q": "远大重工"}, headers=auth("sales1"))).json()
    assert pool["items"] == [{"id": str(customer.id), "name": "杭州远大重工有限公司",
                              "company_id": str(org.companies["C01"].id), "pooled_at": pool["items"][0]["pooled_at"],
                              "claimable": True}]
    claimed = await client.post(f"/api/v1/customers/{customer.id}/claim", headers=auth("sales1"))
    assert claimed.status_code == 200, claimed.text
    body = claimed.json()
    assert body["status"] == "private" and body["owner_id"] == str(org.users["sales1"].id)
    assert body["protected_until"] is not None
    assert (await client.get(f"/api/v1/customers/{customer.id}", headers=auth("sales1"))).status_code == 200


async def test_the_21st_claim_in_a_day_is_refused(client, auth, org, db):
    customers = [await insert_customer(db, org) for _ in range(21)]
    for c in customers[:20]:
        response = await client.post(f"/api/v1/customers/{c.id}/claim", headers=auth("sales2"))
        assert response.status_code == 200, response.text
    refused = await client.post(f"/api/v1/customers/{customers[20].id}/claim",
                                headers=auth("sales2", **{"Accept-Language": "en"}))
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["code"] == "customer.claim_limit_reached"
    assert problem["title"] == "Daily claim limit reached" and problem["limit"] == 20 and problem["used"] == 20
    still_pool = await db.get(Customer, customers[20].id)
    assert still_pool.status == "pool"


async def test_creations_count_towards_the_daily_cap(client, auth, org, db):
    for _ in range(19):
        db.add(CustomerActivity(group_id=org.group.id, company_id=org.companies["C01"].id,
                                customer_id=(await insert_customer(db, org, owner="sales1")).id,
                                user_id=org.users["sales1"].id, kind="claimed",
                                business_date=(utcnow() + timedelta(hours=8)).date()))
    await db.flush()
    await create_customer(client, auth, "sales1")
    refused = await client.post("/api/v1/customers", json={"name": "第二十一个客户"}, headers=auth("sales1"))
    assert refused.status_code == 409 and refused.json()["code"] == "customer.claim_limit_reached"


async def test_a_company_rule_changes_the_cap(client, auth, org, db):
    rules = await client.put(f"/api/v1/pool-rules/{org.companies['C01'].id}", json={"daily_claim_cap": 1},
                             headers=auth("admin"))
    assert rules.status_code == 200 and rules.json()["daily_claim_cap"] == 1 and rules.json()["is_default"] is False
    first, second = await insert_customer(db, org), await insert_customer(db, org)
    assert (await client.post(f"/api/v1/customers/{first.id}/claim", headers=auth("sales1"))).status_code == 200
    assert (await client.post(f"/api/v1/customers/{second.id}/claim", headers=auth("sales1"))).status_code == 409


async def test_release_gives_the_customer_back_and_blocks_reclaiming_during_the_cooldown(client, auth, org, db):
    customer = await create_customer(client, auth, "sales1")
    released = await client.post(f"/api/v1/customers/{customer['id']}/release", headers=auth("sales1"))
    assert released.status_code == 200 and released.json()["claimable"] is False
    assert (await client.get(f"/api/v1/customers/{customer['id']}", headers=auth("sales1"))).status_code == 404
    again = await client.post(f"/api/v1/customers/{customer['id']}/claim", headers=auth("sales1"))
    assert again.status_code == 409 and again.json()["code"] == "customer.reclaim_cooldown"
    other = await client.post(f"/api/v1/customers/{customer['id']}/claim", headers=auth("sales2"))
    assert other.status_code == 200


async def test_only_the_owner_releases(client, auth, org):
    customer = await create_customer(client, auth, "sales1")
    by_clerk = await client.post(f"/api/v1/customers/{customer['id']}/release", headers=auth("admin"))
    assert by_clerk.status_code == 403 and by_clerk.json()["code"] == "customer.not_owner"


async def test_claiming_a_private_customer_one_may_read_is_a_conflict(client, auth, org):
    customer = await create_customer(client, auth, "sales1")
    response = await client.post(f"/api/v1/customers/{customer['id']}/claim", headers=auth("sales1"))
    assert response.status_code == 409 and response.json()["code"] == "customer.not_in_pool"


async def test_claiming_somebody_elses_private_customer_looks_like_a_missing_one(client, auth, org):
    """sales1 can neither read admin's customer nor see it in the pool: the claim must not reveal
    that it exists (GET answers 404, so the claim does too, with the same problem)."""
    customer = await create_customer(client, auth, "admin")
    claimed = await client.post(f"/api/v1/customers/{customer['id']}/claim", headers=auth("sales1"))
    missing = await client.post(f"/api/v1/customers/{new_id()}/claim", headers=auth("sales1"))
    assert claimed.status_code == missing.status_code == 404
    assert claimed.json()["code"] == missing.json()["code"] == "customer.not_found"
    assert claimed.json()["title"] == missing.json()["title"]


# --- shares end when the customer returns to the pool -------------------------------------------

async def _share(client, auth, org, customer_id, owner, **users_edit):
    for username, can_edit in users_edit.items():
        shared = await client.post(f"/api/v1/customers/{customer_id}/shares", headers=auth(owner),
                                   json={"user_ids": [str(org.users[username].id)], "can_edit": can_edit})
        assert shared.status_code == 201, shared.text


async def _assert_no_access_for_former_sharers(client, auth, customer_id):
    url = f"/api/v1/customers/{customer_id}"
    for username in ("collector1", "sales2"):
        assert (await client.get(url, headers=auth(username))).status_code == 404, username
    patched = await client.patch(url, json={"notes": "still mine?"}, headers=auth("sales2"))
    assert patched.status_code == 404


async def _claim_and_check_shares_are_gone(client, auth, customer_id):
    claimed = await client.post(f"/api/v1/customers/{customer_id}/claim", headers=auth("admin"))
    assert claimed.status_code == 200, claimed.text
    shares = await client.get(f"/api/v1/customers/{customer_id}/shares", headers=auth("admin"))
    assert shares.status_code == 200 and shares.json() == []
    await _assert_no_access_for_former_sharers(client, auth, customer_id)


async def test_a_release_ends_view_and_edit_shares(client, auth, org, db):
    customer = await create_customer(client, auth, "sales1", phones=["13812345678"])
    await _share(client, auth, org, customer["id"], "sales1", collector1=False, sales2=True)
    url = f"/api/v1/customers/{customer['id']}"
    assert (await client.get(url, headers=auth("sales2"))).json()["phones"] == ["13812345678"]
    released = await client.post(f"{url}/release", headers=auth("sales1"))
    assert released.status_code == 200, released.text
    await _assert_no_access_for_former_sharers(client, auth, customer["id"])
    events = (await db.scalars(select(AuditEvent).where(AuditEvent.entity_id == customer["id"],
                                                        AuditEvent.action == "customer.shares_ended"))).all()
    assert len(events) == 1 and events[0].actor_id == org.users["sales1"].id
    assert {(s["user_id"], s["can_edit"]) for s in events[0].before["shares"]} == {
        (str(org.users["collector1"].id), False), (str(org.users["sales2"].id), True)}
    await _claim_and_check_shares_are_gone(client, auth, customer["id"])


async def test_the_sweep_ends_view_and_edit_shares(client, auth, org, db):
    customer = await insert_customer(db, org, owner="sales1", protected_days=-1)
    db.add_all([CustomerShare(customer_id=customer.id, user_id=org.users["collector1"].id, can_edit=False),
                CustomerShare(customer_id=customer.id, user_id=org.users["sales2"].id, can_edit=True)])
    await db.flush()
    assert (await client.get(f"/api/v1/customers/{customer.id}", headers=auth("sales2"))).status_code == 200
    result = await pool.sweep(db, utcnow() + timedelta(minutes=1))
    assert customer.id in result.returned
    assert await db.scalar(select(func.count()).select_from(CustomerShare)
                           .where(CustomerShare.customer_id == customer.id)) == 0
    await core_db.commit(db)  # writes the queued audit events
    await _assert_no_access_for_former_sharers(client, auth, customer.id)
    events = (await db.scalars(select(AuditEvent).where(AuditEvent.entity_id == str(customer.id)))).all()
    assert {e.action for e in events} >= {"customer.shares_ended", "customer.returned_to_pool"}
    await _claim_and_check_shares_are_gone(client, auth, customer.id)


async def test_a_share_left_on_a_pool_customer_grants_nothing_and_ends_at_the_claim(client, auth, org, db):
    """Pool customers shared before shares ended with the owner: inert, and removed at the claim."""
    customer = await insert_customer(db, org)
    db.add(CustomerShare(customer_id=customer.id, user_id=org.users["sales2"].id, can_edit=True))
    await db.flush()
    await _assert_no_access_for_former_sharers(client, auth, customer.id)
    await _claim_and_check_shares_are_gone(client, auth, customer.id)


async def test_pool_of_another_company_is_invisible_to_a_salesperson(client, auth, org, db):
    c02 = await insert_customer(db, org, company="C02")
    assert (await client.post(f"/api/v1/customers/{c02.id}/claim", headers=auth("sales1"))).status_code == 404
    listed = (await client.get("/api/v1/customers/pool", params={"limit": 200}, headers=auth("sales1"))).json()
    assert str(c02.id) not in [c["id"] for c in listed["items"]]


async def test_extension_needs_a_reason_and_adds_a_day(client, auth, org):
    customer = await create_customer(client, auth, "sales1")
    url = f"/api/v1/customers/{customer['id']}/extend-protection"
    missing = await client.post(url, json={}, headers=auth("sales1"))
    assert missing.status_code == 422 and missing.json()["errors"][0]["pointer"] == "/body/reason"
    extended = await client.post(url, json={"reason": "客户下周签约"}, headers=auth("sales1"))
    assert extended.status_code == 200
    from datetime import datetime

    before = datetime.fromisoformat(customer["protected_until"])
    after = datetime.fromisoformat(extended.json()["protected_until"])
    assert after - before == timedelta(days=1)


async def test_the_6th_extension_in_a_month_is_refused(client, auth, org):
    customer = await create_customer(client, auth, "sales1")
    url = f"/api/v1/customers/{customer['id']}/extend-protection"
    for i in range(5):
        ok = await client.post(url, json={"reason": f"理由{i}"}, headers=auth("sales1"))
        assert ok.status_code == 200, ok.text
    refused = await client.post(url, json={"reason": "再延一次"}, headers=auth("sales1"))
    assert refused.status_code == 409 and refused.json()["code"] == "customer.extension_limit_reached"


async def test_extension_quota_is_configurable_between_5_and_10(client, auth, org):
    url = f"/api/v1/pool-rules/{org.companies['C01'].id}"
    assert (await client.put(url, json={"max_extensions_per_month": 4}, headers=auth("admin"))).status_code == 422
    assert (await client.put(url, json={"max_extensions_per_month": 11}, headers=auth("admin"))).status_code == 422
    assert (await client.put(url, json={"max_extensions_per_month": 10}, headers=auth("admin"))).status_code == 200


async def test_pool_rules_default_and_are_for_administrators(client, auth, org):
    rules = (await client.get("/api/v1/pool-rules", headers=auth("admin"))).json()
    c01 = next(r for r in rules if r["company_id"] == str(org.companies["C01"].id))
    assert c01 == {**c01, "protection_days": 15, "reminder_days": 5, "extension_days": 1,
                   "max_extensions_per_month": 5, "daily_claim_cap": 20, "daily_reminder_floor": 12,
                   "count_weekends": True, "is_default": True}
    denied = await client.put(f"/api/v1/pool-rules/{org.companies['C01'].id}", json={}, headers=auth("sales1"))
    assert denied.status_code == 403
    leader = (await client.get("/api/v1/pool-rules", headers=auth("leader"))).json()
    assert len(leader) == 7


async def test_pool_rule_changes_need_a_current_if_match_and_are_audited(client, auth, org, db):
    url = f"/api/v1/pool-rules/{org.companies['C02'].id}"
    first = await client.put(url, json={"protection_days": 20}, headers=auth("admin", **{"If-Match": 'W/"0"'}))
    assert first.status_code == 200 and first.headers["etag"] == 'W/"1"'
    stale = await client.put(url, json={"protection_days": 25}, headers=auth("admin", **{"If-Match": 'W/"0"'}))
    assert stale.status_code == 412
    actions = (await db.scalars(select(AuditEvent.action).where(AuditEvent.entity_type == "pool_rule"))).all()
    assert "pool_rule.updated" in actions


async def test_weekends_not_counting_lengthen_protection(client, auth, org, travel):
    # Created on a Wednesday, five working days end on the next Wednesday (from a Sunday, on Friday).
    today = business_date(utcnow(), business_zone())
    wednesday = today + timedelta(days=(2 - today.weekday()) % 7 or 7)
    travel(datetime.combine(wednesday, time(10), tzinfo=business_zone()))
    await client.put(f"/api/v1/pool-rules/{org.companies['C01'].id}",
                     json={"protection_days": 5, "count_weekends": False}, headers=auth("admin"))
    customer = await create_customer(client, auth, "sales1")
    span = datetime.fromisoformat(customer["protected_until"]) - datetime.fromisoformat(customer["created_at"])
    assert timedelta(days=7) - timedelta(minutes=1) <= span <= timedelta(days=7, minutes=1)


async def test_a_contract_or_payment_within_protection_makes_the_customer_the_owners_for_good(db, org):
    customer = await insert_customer(db, org, owner="sales1", protected_days=3)
    assert await service.secure_customer(db, customer.id, owner_id=org.users["sales1"].id,
                                         reason="contract_signed") is True
    row = await db.get(Customer, customer.id)
    assert row.secured_at is not None and row.secured_reason == "contract_signed"
    kinds = (await db.scalars(select(CustomerActivity.kind).where(CustomerActivity.customer_id == customer.id))).all()
    assert "secured" in kinds


async def test_a_payment_after_protection_or_to_somebody_else_does_not_secure(db, org):
    expired = await insert_customer(db, org, owner="sales1", protected_days=-1)
    assert await service.secure_customer(db, expired.id, owner_id=org.users["sales1"].id,
                                         reason="payment_received") is False
    other = await insert_customer(db, org, owner="sales1", protected_days=3)
    assert await service.secure_customer(db, other.id, owner_id=org.users["sales2"].id,
                                         reason="payment_received") is False


async def test_a_secured_customer_cannot_be_released_or_extended(client, auth, org, db):
    customer = await create_customer(client, auth, "sales1")
    await service.secure_customer(db, customer["id"], owner_id=org.users["sales1"].id, reason="contract_signed")
    await db.commit()
    release = await client.post(f"/api/v1/customers/{customer['id']}/release", headers=auth("sales1"))
    assert release.status_code == 409 and release.json()["code"] == "customer.secured"
