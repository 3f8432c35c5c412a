"""Passwords are hashed with argon2id at OWASP's minimum by default (configurable); a stored hash
made with other parameters is replaced at the next successful login, and only then."""

import pytest
from passlib.hash import argon2
from sqlalchemy import select

from app.core import security
from app.core.config import Settings, get_settings
from app.demo.seed import DEMO_PASSWORD
from app.org.models import User

OWASP = "m=19456,t=2,p=1"


def _parameters(password_hash: str) -> str:
    return password_hash.split("$")[3]


async def _stored_hash(db, username: str) -> str:
    return await db.scalar(select(User.password_hash).where(User.username == username)
                           .execution_options(populate_existing=True))


async def _login(client, username: str, password: str = DEMO_PASSWORD):
    return await client.post("/api/v1/auth/token", data={"username": username, "password": password})


def test_the_default_parameters_are_owasps_argon2id_minimum():
    settings = Settings()
    assert (settings.password_argon2_memory_kib, settings.password_argon2_time_cost,
            settings.password_argon2_parallelism) == (19456, 2, 1)
    new = security.password_context().hash("x")
    assert new.startswith("$argon2id$") and _parameters(new) == OWASP
    assert not security.needs_rehash(new)


async def test_the_parameters_are_settings(monkeypatch):
    settings = get_settings()
    monkeypatch.setattr(settings, "password_argon2_memory_kib", 8192)
    monkeypatch.setattr(settings, "password_argon2_time_cost", 3)
    new = await security.hash_password("x")
    assert _parameters(new) == "m=8192,t=3,p=1"
    assert security.password_context().verify("x", new)


async def test_a_login_rehashes_an_outdated_hash_once(client, db):
    old = await _stored_hash(db, "sales2")
    assert _parameters(old) != OWASP  # the fixtures' cheap hash
    assert (await _login(client, "sales2")).status_code == 200
    new = await _stored_hash(db, "sales2")
    assert _parameters(new) == OWASP and argon2.verify(DEMO_PASSWORD, new)
    assert (await _login(client, "sales2")).status_code == 200
    assert await _stored_hash(db, "sales2") == new  # up to date: left alone


@pytest.mark.parametrize("username, password", [("sales2", "wrong-password"), ("collector3", DEMO_PASSWORD)])
async def test_a_failed_login_never_rehashes(client, db, auth, org, username, password):
    if password == DEMO_PASSWORD:  # the right password of a locked account is still a failure
        assert (await client.post(f"/api/v1/users/{org.users[username].id}/lock",
                                  headers=auth("admin"))).status_code == 200
    old = await _stored_hash(db, username)
    assert (await _login(client, username, password)).status_code == 401
    assert await _stored_hash(db, username) == old


async def test_a_busy_hash_queue_postpones_the_rehash_not_the_login(client, db, monkeypatch):
    async def queue_full(self, password):
        raise security.HashQueueFull

    monkeypatch.setattr(security.HashLimiter, "hash", queue_full)
    old = await _stored_hash(db, "sales2")
    assert (await _login(client, "sales2")).status_code == 200
    assert await _stored_hash(db, "sales2") == old
