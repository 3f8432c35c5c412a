"""Login abuse: throttle (429 + Retry-After) per address, per username and per both, in front of a
lockout that needs failures from many addresses; a locked account is no password oracle."""

import pytest
from sqlalchemy import select

from app.auth.models import LoginThrottle
from app.core.audit import AuditEvent
from app.core.config import get_settings
from app.demo.seed import DEMO_PASSWORD
from app.org.models import User
from tests.auth.conftest import strip_volatile


async def test_failures_from_one_address_get_429_with_retry_after(client_from):
    client = client_from("203.0.113.10")
    limit = get_settings().login_max_failures_per_address
    for n in range(limit):  # a different username each time: only the address throttle applies
        response = await client.post("/api/v1/auth/token", data={"username": f"nobody{n}", "password": "guess"})
        assert response.status_code == 401, (n, response.text)
    throttled = await client.post("/api/v1/auth/token", data={"username": "nobody-else", "password": "guess"})
    assert throttled.status_code == 429
    assert throttled.headers["content-type"] == "application/problem+json"
    assert throttled.json()["code"] == "auth.too_many_attempts"
    assert 0 < int(throttled.headers["retry-after"]) <= get_settings().login_throttle_window_seconds
    # Even the right password is not checked from a throttled address...
    assert (await client.post("/api/v1/auth/token",
                              data={"username": "sales1", "password": DEMO_PASSWORD})).status_code == 429
    # ...while everybody else is unaffected.
    assert (await client_from("203.0.113.11").post(
        "/api/v1/auth/token", data={"username": "sales1", "password": DEMO_PASSWORD})).status_code == 200


async def test_failures_for_one_username_from_one_address_are_throttled(client_from):
    client = client_from("203.0.113.20")
    for _ in range(get_settings().login_max_failures_per_username_address):
        assert (await client.post("/api/v1/auth/token",
                                  data={"username": "sales1", "password": "wrong"})).status_code == 401
    again = await client.post("/api/v1/auth/token", data={"username": "SALES1", "password": DEMO_PASSWORD})
    assert again.status_code == 429  # case does not dodge the counter
    assert int(again.headers["retry-after"]) > 0
    # The user at another address still gets in.
    assert (await client_from("203.0.113.21").post(
        "/api/v1/auth/token", data={"username": "sales1", "password": DEMO_PASSWORD})).status_code == 200


async def test_failures_for_one_username_from_many_addresses_are_throttled(client_from):
    limit = get_settings().login_max_failures_per_username
    for n in range(limit):
        response = await client_from(f"198.51.100.{n + 1}").post(
            "/api/v1/auth/token", data={"username": "ghost", "password": "guess"})
        assert response.status_code == 401
    throttled = await client_from("198.51.100.200").post(
        "/api/v1/auth/token", data={"username": "ghost", "password": "guess"})
    assert throttled.status_code == 429
    assert throttled.json()["code"] == "auth.too_many_attempts"


async def test_ipv6_clients_are_counted_per_64(client_from):
    limit = get_settings().login_max_failures_per_username_address
    for n in range(limit):  # every attempt from a different address of the same /64
        await client_from(f"2001:db8:1:2::{n + 1:x}").post(
            "/api/v1/auth/token", data={"username": "sales1", "password": "wrong"})
    response = await client_from("2001:db8:1:2:ffff::1").post(
        "/api/v1/auth/token", data={"username": "sales1", "password": DEMO_PASSWORD})
    assert response.status_code == 429


async def test_hammering_from_one_address_cannot_lock_an_account(client_from, db, org):
    client = client_from("203.0.113.30")
    codes = [(await client.post("/api/v1/auth/token", data={"username": "admin", "password": f"guess{n}"})).status_code
             for n in range(40)]
    assert 429 in codes and 200 not in codes
    admin = await db.get(User, org.users["admin"].id, populate_existing=True)
    assert admin.locked_at is None
    assert admin.failed_login_count == 1  # one address counts once toward the daily lock
    assert (await client_from("203.0.113.31").post(
        "/api/v1/auth/token", data={"username": "admin", "password": DEMO_PASSWORD})).status_code == 200


async def test_failures_from_enough_addresses_lock_the_account(client_from, auth, org, db, monkeypatch):
    # Lift the per-username throttle so that the lock itself is what is tested.
    monkeypatch.setattr(get_settings(), "login_max_failures_per_username", 1000)
    max_failures = get_settings().login_max_failures_per_day

    async def attempt(address: str, password: str):
        return await client_from(address).post("/api/v1/auth/token",
                                               data={"username": "sales2", "password": password})

    for n in range(max_failures - 1):
        assert (await attempt(f"192.0.2.{n + 1}", "wrong-password")).status_code == 401
    assert (await attempt("192.0.2.100", DEMO_PASSWORD)).status_code == 200  # still open; count reset
    for n in range(max_failures):
        assert (await attempt(f"192.0.2.{n + 101}", "wrong-password")).status_code == 401
    locked = await attempt("192.0.2.250", DEMO_PASSWORD)
    assert locked.status_code == 401 and locked.json()["code"] == "auth.invalid_credentials"
    user = await db.get(User, org.users["sales2"].id, populate_existing=True)
    assert user.locked_at is not None and user.lock_reason == "too_many_failed_logins"
    assert await db.scalar(select(AuditEvent).where(AuditEvent.action == "user.locked",
                                                    AuditEvent.entity_id == str(user.id)))
    # Existing access tokens stop working too.
    client = client_from("192.0.2.251")
    assert (await client.get("/api/v1/me", headers=auth("sales2"))).status_code == 401
    # An administrator unlocks; the user can log in again.
    unlock = await client.post(f"/api/v1/users/{org.users['sales2'].id}/unlock", headers=auth("admin"))
    assert unlock.status_code == 200, unlock.text
    assert (await attempt("192.0.2.252", DEMO_PASSWORD)).status_code == 200


@pytest.mark.parametrize("state", ["locked", "disabled"])
async def test_unavailable_account_answers_the_same_whatever_the_password(client_from, auth, org, state):
    admin = client_from("203.0.113.40")
    user_id = org.users["collector2"].id
    if state == "locked":
        changed = await admin.post(f"/api/v1/users/{user_id}/lock", headers=auth("admin"))
    else:
        changed = await admin.patch(f"/api/v1/users/{user_id}", json={"is_active": False}, headers=auth("admin"))
    assert changed.status_code == 200, changed.text
    right = await client_from("203.0.113.41").post(
        "/api/v1/auth/token", data={"username": "collector2", "password": DEMO_PASSWORD})
    wrong = await client_from("203.0.113.42").post(
        "/api/v1/auth/token", data={"username": "collector2", "password": "not-the-password"})
    assert right.status_code == wrong.status_code == 401
    assert dict(right.headers.items()).keys() == dict(wrong.headers.items()).keys()
    assert strip_volatile(right) == strip_volatile(wrong)
    assert right.json()["code"] == "auth.invalid_credentials"


async def test_a_successful_login_forgives_that_address_earlier_typos(client_from, db):
    client = client_from("203.0.113.50")
    for _ in range(get_settings().login_max_failures_per_username_address - 1):
        await client.post("/api/v1/auth/token", data={"username": "sales1", "password": "typo"})
    assert (await client.post("/api/v1/auth/token",
                              data={"username": "sales1", "password": DEMO_PASSWORD})).status_code == 200
    assert await db.get(LoginThrottle, "ua:203.0.113.50|sales1") is None


async def test_purge_drops_expired_counters_and_keeps_live_ones(db):
    from datetime import timedelta

    from app.auth import throttle
    from app.core.db import utcnow
    from app.core.jobs import JOBS

    assert "login-throttle-purge" in JOBS
    now = utcnow()
    window = timedelta(seconds=get_settings().login_throttle_window_seconds)
    db.add_all([
        LoginThrottle(key="a:purge-old", window_start=now - 2 * window, failures=3),
        LoginThrottle(key="a:purge-live", window_start=now, failures=3),
        LoginThrottle(key="a:purge-blocked", window_start=now - 2 * window, failures=30,
                      blocked_until=now + window),
        LoginThrottle(key="d:2000-01-01:purge-old|x", window_start=now - timedelta(days=3), failures=1),
        LoginThrottle(key="d:2000-01-02:purge-today|x", window_start=now - 2 * window, failures=1),
    ])
    await db.flush()
    await throttle.purge(db)
    left = set(await db.scalars(select(LoginThrottle.key).where(LoginThrottle.key.contains("purge"))))
    assert left == {"a:purge-live", "a:purge-blocked", "d:2000-01-02:purge-today|x"}
