"""Authentication: login with lockout, access tokens, rotating refresh tokens, principal loading."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import RefreshToken
from app.auth.schemas import TokenResponse
from app.core import audit
from app.core.config import get_settings
from app.core.db import utcnow
from app.core.errors import DomainError, NotAuthenticated
from app.core.principal import Principal
from app.core.security import (
    InvalidToken,
    create_access_token,
    decode_access_token,
    hash_refresh_token,
    new_refresh_token,
    verify_password,
)
from app.org import repository as org_repo
from app.org.models import User

INVALID_CREDENTIALS = {"zh-CN": "用户名或密码错误", "en": "Invalid username or password"}
ACCOUNT_LOCKED = {"zh-CN": "账户已锁定", "en": "Account locked"}


class AccountUnavailable(DomainError):
    status, code, titles = 403, "auth.account_locked", ACCOUNT_LOCKED


def _invalid_credentials() -> NotAuthenticated:
    return NotAuthenticated("Invalid username or password.", code="auth.invalid_credentials",
                            titles=INVALID_CREDENTIALS)


async def principal_from_access_token(session: AsyncSession, token: str | None) -> Principal:
    if not token:
        raise NotAuthenticated("A bearer token is required.")
    try:
        claims = decode_access_token(token)
        user_id, group_id = uuid.UUID(claims["sub"]), uuid.UUID(claims["grp"])
    except (InvalidToken, ValueError, KeyError) as exc:
        raise NotAuthenticated("The access token is invalid or expired.", code="auth.invalid_token") from exc
    principal = await org_repo.load_principal(session, user_id)
    if principal is None or principal.group_id != group_id:
        raise NotAuthenticated("The access token is invalid or expired.", code="auth.invalid_token")
    return principal


def _today() -> datetime:
    return utcnow().astimezone(ZoneInfo(get_settings().default_timezone))


@dataclass
class LoginOutcome:
    tokens: TokenResponse | None = None
    error: DomainError | None = None
    # A failed attempt is still a change (the failure counter): the router commits it.
    commit_failure: bool = False


async def login(session: AsyncSession, username: str, password: str, client: str) -> LoginOutcome:
    """Check credentials. Ten failures in a business day lock the account until unlocked.

    Unknown user and wrong password answer identically (and take the same time).
    """
    settings = get_settings()
    user = await session.scalar(select(User).where(User.username == username).with_for_update())
    ok = await verify_password(password, user.password_hash if user else None)
    if user is None:
        return LoginOutcome(error=_invalid_credentials())
    if not ok:
        today = _today().date()
        if user.failed_login_date != today:
            user.failed_login_date, user.failed_login_count = today, 0
        user.failed_login_count += 1
        if user.failed_login_count >= settings.login_max_failures_per_day and user.locked_at is None:
            user.locked_at, user.lock_reason = utcnow(), "too_many_failed_logins"
            user.version += 1
            await revoke_all_for_user(session, user.id)
            audit.record(session, None, "user.locked", "user", user.id, group_id=user.group_id,
                         company_id=user.company_id, after={"reason": "too_many_failed_logins",
                                                            "failures": user.failed_login_count})
        return LoginOutcome(error=_invalid_credentials(), commit_failure=True)
    if not user.is_active or user.locked_at is not None:
        return LoginOutcome(error=AccountUnavailable(
            "This account is locked or disabled; ask an administrator.",
            code="auth.account_locked" if user.locked_at else "auth.account_disabled"))
    user.failed_login_count, user.failed_login_date, user.last_login_at = 0, None, utcnow()
    return LoginOutcome(tokens=await _issue(session, user, uuid.uuid4(), client))


async def _issue(session: AsyncSession, user: User, family_id: uuid.UUID, client: str) -> TokenResponse:
    access, ttl = create_access_token(user_id=user.id, group_id=user.group_id)
    refresh, refresh_hash = new_refresh_token()
    session.add(RefreshToken(
        user_id=user.id, family_id=family_id, token_hash=refresh_hash, client=client,
        expires_at=utcnow() + timedelta(days=get_settings().refresh_token_ttl_days),
    ))
    await session.flush()
    return TokenResponse(access_token=access, refresh_token=refresh, expires_in=ttl)


@dataclass
class RefreshOutcome:
    tokens: TokenResponse | None = None
    error: DomainError | None = None
    commit_failure: bool = False


async def refresh(session: AsyncSession, token: str, client: str) -> RefreshOutcome:
    """Rotate: the presented token is spent and a new one of the same family issued.

    Presenting a spent token means it leaked: the whole family is revoked.
    """
    invalid = NotAuthenticated("The refresh token is invalid or expired.", code="auth.invalid_refresh_token")
    row = await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == hash_refresh_token(token)).with_for_update()
    )
    if row is None:
        return RefreshOutcome(error=invalid)
    now = utcnow()
    if row.used_at is not None or row.revoked_at is not None:
        await revoke_family(session, row.family_id)
        return RefreshOutcome(
            error=NotAuthenticated("This refresh token was already used; the session has been revoked.",
                                   code="auth.refresh_token_reused"),
            commit_failure=True,
        )
    if row.expires_at <= now:
        return RefreshOutcome(error=invalid)
    user = await session.get(User, row.user_id)
    if user is None or not user.is_active or user.locked_at is not None:
        await revoke_family(session, row.family_id)
        return RefreshOutcome(error=AccountUnavailable("This account is locked or disabled."), commit_failure=True)
    row.used_at = now
    return RefreshOutcome(tokens=await _issue(session, user, row.family_id, client))


async def revoke_family(session: AsyncSession, family_id: uuid.UUID) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


async def revoke_all_for_user(session: AsyncSession, user_id: uuid.UUID) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


async def logout(session: AsyncSession, principal: Principal, token: str | None) -> None:
    if token is None:
        await revoke_all_for_user(session, principal.user_id)
        return
    row = await session.scalar(select(RefreshToken).where(
        RefreshToken.token_hash == hash_refresh_token(token), RefreshToken.user_id == principal.user_id))
    if row is not None:
        await revoke_family(session, row.family_id)
    # An unknown token is not an error: logging out is idempotent.
