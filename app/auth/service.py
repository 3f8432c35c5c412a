"""Authentication: login with throttle and lockout, access tokens, rotating refresh tokens, principal loading."""

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import repository as auth_repo
from app.auth import throttle
from app.auth.errors import (
    AccountUnavailable,
    AuthInvalidCredentials,
    AuthInvalidRefreshToken,
    AuthInvalidToken,
    AuthRefreshTokenReused,
    LoginBusy,
    TooManyAttempts,
)
from app.auth.models import RefreshToken
from app.auth.schemas import TokenResponse
from app.core import audit, clock
from app.core.config import get_settings
from app.core.db import commit, utcnow
from app.core.errors import DomainError, NotAuthenticated
from app.core.principal import Principal, PrincipalCache, VerifiedToken
from app.core.security import (
    HashLimiter,
    HashQueueFull,
    InvalidToken,
    create_access_token,
    decode_access_token,
    hash_refresh_token,
    needs_rehash,
    new_refresh_token,
)
from app.org import repository as org_repo
from app.org.models import User


def _invalid_credentials() -> NotAuthenticated:
    return AuthInvalidCredentials("Invalid username or password.")


async def principal_from_access_token(session: AsyncSession, token: str | None, cache: PrincipalCache) -> Principal:
    """The caller, from the worker's cache when still exact: one query per request when warm.

    The token's signature is verified the first time this worker sees it; the user's stamps are
    read on every request, so a lock, a role change or a scope change that committed before this
    request began is seen by it, whichever worker made it (see `AuthzStamp`)."""
    if not token:
        raise NotAuthenticated("A bearer token is required.")
    verified = cache.token(token, clock.timestamp()) or _verify(token, cache)
    stamp = await org_repo.principal_stamp(session, verified.user_id)
    if stamp is None:  # locked, disabled or gone
        raise _invalid_token()
    principal = cache.principal(verified.user_id, stamp)
    if principal is None:
        # Stamp first, principal second: a change committing in between leaves a newer principal
        # under an older stamp, which the next request treats as a miss (never the reverse).
        principal = await org_repo.load_principal(session, verified.user_id)
        if principal is None:
            raise _invalid_token()
        cache.keep_principal(stamp, principal)
    if principal.group_id != verified.group_id:
        raise _invalid_token()
    return principal


def _invalid_token() -> NotAuthenticated:
    return AuthInvalidToken("The access token is invalid or expired.")


def _verify(token: str, cache: PrincipalCache) -> VerifiedToken:
    try:
        claims = decode_access_token(token)
        verified = VerifiedToken(uuid.UUID(claims["sub"]), uuid.UUID(claims["grp"]), float(claims["exp"]))
    except (InvalidToken, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise _invalid_token() from exc
    cache.keep_token(token, verified)
    return verified


def _today() -> datetime:
    return utcnow().astimezone(ZoneInfo(get_settings().default_timezone))


# Opens a session through the app's provider (the test harness hands in its own).
Sessions = Callable[[], AbstractAsyncContextManager[AsyncSession]]


@asynccontextmanager
async def _unit(sessions: Sessions) -> AsyncIterator[AsyncSession]:
    """One short unit of work: whatever the body does not commit is rolled back."""
    async with sessions() as session:
        try:
            yield session
        finally:
            if session.in_transaction():
                await session.rollback()


@dataclass(frozen=True)
class _Candidate:
    id: uuid.UUID
    password_hash: str
    usable: bool


async def login(sessions: Sessions, limiter: HashLimiter, username: str, password: str, client: str,
                host: str | None) -> TokenResponse:
    """Check credentials, behind the throttle (app/auth/throttle.py) and the daily lockout.

    Unknown user, wrong password and a locked or disabled account answer identically, and take the
    same time: the answer never tells whether the password was right. No row lock and no
    connection is held while argon2 runs (~20 ms of CPU): a short read, the hash in a worker
    thread behind `limiter`, then a short transaction for the outcome. A hash made with other
    parameters than the configured ones is replaced on success (only then, so the time of a
    failure does not depend on it).
    """
    keys = throttle.keys_for(username, host)
    for attempt in range(2):
        candidate, ok = await _check(sessions, limiter, keys, username, password)
        signing_in = candidate if ok and candidate is not None and candidate.usable else None
        new_hash = await _rehash(limiter, password) \
            if signing_in is not None and needs_rehash(signing_in.password_hash) else None
        async with _unit(sessions) as session:
            if signing_in is not None:
                outcome = await _succeed(session, signing_in, keys, client, new_hash)
                if isinstance(outcome, TokenResponse):
                    await commit(session)
                    return outcome
                if outcome is _Outcome.HASH_REPLACED and attempt == 0:
                    continue  # rehashed by a concurrent login, or changed: check against the new one
            # A locked or disabled account with the right password is a failure like any other:
            # same answer, and it feeds the throttle, so counting 429s reveals nothing either.
            await _fail(session, candidate, keys)
            await commit(session)
        break
    raise _invalid_credentials()


async def _check(sessions: Sessions, limiter: HashLimiter, keys: throttle.Keys, username: str,
                 password: str) -> tuple[_Candidate | None, bool]:
    """(the user signing in, whether the password matched), behind the throttle."""
    async with _unit(sessions) as session:
        wait = await throttle.retry_after(session, keys, utcnow())
        row = None if wait is not None else await auth_repo.login_candidate(session, username)
    if wait is not None:
        raise TooManyAttempts(wait)
    candidate = row and _Candidate(row.id, row.password_hash, row.is_active and row.locked_at is None)
    try:
        ok = await limiter.verify(password, candidate.password_hash if candidate else None)
    except HashQueueFull:
        raise LoginBusy() from None
    return candidate, ok


async def _rehash(limiter: HashLimiter, password: str) -> str | None:
    """The password hashed with the configured parameters, or None when the hash queue is full
    (the login goes ahead on the old hash; a quieter login replaces it)."""
    try:
        return await limiter.hash(password)
    except HashQueueFull:
        return None


class _Outcome(Enum):
    UNAVAILABLE = "unavailable"  # locked or disabled while the hash ran
    HASH_REPLACED = "hash_replaced"


async def _succeed(session: AsyncSession, candidate: _Candidate, keys: throttle.Keys, client: str,
                   new_hash: str | None) -> TokenResponse | _Outcome:
    user = await session.get(User, candidate.id, with_for_update=True, populate_existing=True)
    if user is None or not user.is_active or user.locked_at is not None:
        return _Outcome.UNAVAILABLE
    # Re-passworded (or rehashed) while the hash ran: the checked password no longer counts.
    if user.password_hash != candidate.password_hash:
        return _Outcome.HASH_REPLACED
    user.failed_login_count, user.failed_login_date, user.last_login_at = 0, None, utcnow()
    if new_hash is not None:
        user.password_hash = new_hash
    await throttle.forget_pair(session, keys)
    return await _issue(session, user, uuid.uuid4(), client)


async def _fail(session: AsyncSession, candidate: _Candidate | None, keys: throttle.Keys) -> None:
    """Feed the throttle; count toward the daily lock once per address and business day."""
    now = utcnow()
    await throttle.record_failure(session, keys, now)
    if candidate is None or not candidate.usable:
        return
    today = _today().date()
    if not await throttle.first_failure_today(session, keys, today, now):
        return
    user = await session.get(User, candidate.id, with_for_update=True, populate_existing=True)
    if user is None or not user.is_active or user.locked_at is not None:
        return
    if user.failed_login_date != today:
        user.failed_login_date, user.failed_login_count = today, 0
    user.failed_login_count += 1
    if user.failed_login_count >= get_settings().login_max_failures_per_day:
        user.locked_at, user.lock_reason = utcnow(), "too_many_failed_logins"
        await revoke_all_for_user(session, user.id)
        audit.record(session, None, "user.locked", "user", user.id, group_id=user.group_id,
                     company_id=user.company_id, after={"reason": "too_many_failed_logins",
                                                        "failures": user.failed_login_count})


async def unlock_by_operator(session: AsyncSession, username: str, group_code: str | None = None) -> User | None:
    """`scripts/unlock-user`: the way back in when every administrator is locked out. Clears the
    lock, the day's failure count and the per-username throttle; audited without an actor."""
    user = await auth_repo.user_to_unlock(session, username, group_code)
    if user is None:
        return None
    before = {"locked_at": user.locked_at, "lock_reason": user.lock_reason,
              "failed_login_count": user.failed_login_count}
    user.locked_at, user.lock_reason = None, None
    user.failed_login_count, user.failed_login_date = 0, None
    await throttle.forget_username(session, username)
    await session.flush()
    audit.record(session, None, "user.unlocked", "user", user.id, group_id=user.group_id,
                 company_id=user.company_id, before=before, after={"via": "scripts/unlock-user"})
    return user


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
    invalid = AuthInvalidRefreshToken("The refresh token is invalid or expired.")
    row = await auth_repo.refresh_token_for_update(session, hash_refresh_token(token))
    if row is None:
        return RefreshOutcome(error=invalid)
    now = utcnow()
    if row.used_at is not None or row.revoked_at is not None:
        await revoke_family(session, row.family_id)
        return RefreshOutcome(
            error=AuthRefreshTokenReused("This refresh token was already used; the session has been revoked."),
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
    row = await auth_repo.refresh_token_of(session, hash_refresh_token(token), principal.user_id)
    if row is not None:
        await revoke_family(session, row.family_id)
    # An unknown token is not an error: logging out is idempotent.
