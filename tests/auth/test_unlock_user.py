"""scripts/unlock-user: the operators' way back in, audited."""

import subprocess

from sqlalchemy import select

from app.auth.models import LoginThrottle
from app.cli import run_unlock_user
from app.core.audit import AuditEvent
from app.core.config import PROJECT_ROOT
from app.core.db import utcnow
from app.demo.seed import DEMO_PASSWORD
from app.org.models import User


async def _lock(db, user_id):
    user = await db.get(User, user_id)
    user.locked_at, user.lock_reason, user.failed_login_count = utcnow(), "too_many_failed_logins", 10
    db.add(LoginThrottle(key="u:admin", window_start=utcnow(), failures=10, blocked_until=utcnow().replace(year=2100)))
    await db.flush()


async def test_unlock_user_lets_a_locked_admin_back_in_and_is_audited(db, org, client_from, capsys):
    await _lock(db, org.users["admin"].id)
    refused = await client_from("203.0.113.60").post("/api/v1/auth/token",
                                                      data={"username": "admin", "password": DEMO_PASSWORD})
    assert refused.status_code == 429  # the per-username throttle was on too

    assert await run_unlock_user(db, "admin", org.group.code) == 0
    assert "Unlocked admin" in capsys.readouterr().out
    user = await db.get(User, org.users["admin"].id, populate_existing=True)
    assert user.locked_at is None and user.failed_login_count == 0
    event = await db.scalar(select(AuditEvent).where(AuditEvent.action == "user.unlocked",
                                                     AuditEvent.entity_id == str(user.id)))
    assert event is not None and event.actor_id is None and event.after == {"via": "scripts/unlock-user"}
    ok = await client_from("203.0.113.61").post("/api/v1/auth/token",
                                                data={"username": "admin", "password": DEMO_PASSWORD})
    assert ok.status_code == 200


async def test_unlock_user_refuses_an_unknown_user_or_the_wrong_group(db, org, capsys):
    assert await run_unlock_user(db, "nobody-at-all", None) == 1
    assert await run_unlock_user(db, "admin", org.other_group.code) == 1
    assert "No user 'admin' in group" in capsys.readouterr().err


def test_unlock_user_script_is_wired_to_the_cli():
    result = subprocess.run([str(PROJECT_ROOT / "scripts" / "unlock-user"), "--help"], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "USERNAME" in result.stdout.upper() and "--group" in result.stdout
