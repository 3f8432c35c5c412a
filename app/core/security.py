"""Password hashing (argon2id through passlib's CryptContext, off the event loop) and JWTs."""

import hashlib
import secrets
import uuid
from collections.abc import Callable
from datetime import timedelta
from functools import lru_cache
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from jose import JWTError, jwt
from passlib.context import CryptContext
from starlette.concurrency import run_in_threadpool

from app.core import clock
from app.core.config import cores, get_settings
from app.core.db import utcnow

T = TypeVar("T")


@lru_cache
def _context(memory_kib: int, time_cost: int, parallelism: int) -> CryptContext:
    return CryptContext(schemes=["argon2"], deprecated="auto", argon2__type="ID", argon2__memory_cost=memory_kib,
                        argon2__rounds=time_cost, argon2__parallelism=parallelism)


def password_context() -> CryptContext:
    """argon2id with the configured parameters (PASSWORD_ARGON2_*); one context per parameter set."""
    s = get_settings()
    return _context(s.password_argon2_memory_kib, s.password_argon2_time_cost, s.password_argon2_parallelism)


@lru_cache
def _dummy_hash(context: CryptContext) -> str:
    # Verified against when the username is unknown, with the same parameters as an up-to-date
    # hash, so both answers take the same time.
    return context.hash("recourse-timing-equaliser")


async def hash_password(password: str) -> str:
    return await run_in_threadpool(password_context().hash, password)


def needs_rehash(password_hash: str) -> bool:
    """Whether a stored hash was made with other parameters than the configured ones."""
    return password_context().needs_update(password_hash)


class HashQueueFull(Exception):
    """More logins are waiting for a hash slot than the queue allows."""


class HashLimiter:
    """At most `slots` password hashes at once (argon2 is CPU bound: more threads than cores only
    make every login slower), at most `queue` waiting; beyond that the caller is refused at once
    instead of queueing without bound while holding a request open."""

    def __init__(self, slots: int | None = None, queue: int = 32) -> None:
        self._limiter = anyio.CapacityLimiter(slots or cores())
        self._queue = queue

    async def verify(self, password: str, password_hash: str | None) -> bool:
        context = password_context()

        def check() -> bool:
            dummy = _dummy_hash(context)  # made by whichever login comes first, known user or not
            return context.verify(password, password_hash or dummy)

        return await self._run(check)

    async def hash(self, password: str) -> str:
        """A new hash with the configured parameters (a login rehashing an outdated one)."""
        context = password_context()
        return await self._run(lambda: context.hash(password))

    async def _run(self, work: Callable[[], T]) -> T:
        # No await between the check and taking a place in the queue, so the check is exact.
        if self._limiter.available_tokens < 1 and self._limiter.statistics().tasks_waiting >= self._queue:
            raise HashQueueFull
        return await anyio.to_thread.run_sync(work, limiter=self._limiter)


class InvalidToken(Exception):
    pass


def create_access_token(
    *, user_id: uuid.UUID, group_id: uuid.UUID, extra: dict[str, Any] | None = None
) -> tuple[str, int]:
    settings = get_settings()
    now = utcnow()
    ttl = settings.access_token_ttl_seconds
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "grp": str(group_id),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl)).timestamp()),
        "jti": uuid.uuid4().hex,
        "typ": "access",
    }
    if extra:
        claims.update(extra)
    return jwt.encode(claims, settings.signing_key(), algorithm=settings.jwt_algorithm), ttl


# Clocks of two workers may differ by a little; a token is not refused for being a second early.
TOKEN_LEEWAY_SECONDS = 5
REQUIRED_CLAIMS = ("aud", "iss", "exp", "iat", "jti", "sub")


def decode_access_token(token: str) -> dict[str, Any]:
    settings = get_settings()
    try:
        header = jwt.get_unverified_header(token)
    except JWTError as exc:
        raise InvalidToken("malformed token") from exc
    # Pin the algorithm: a token naming any other (including "none") is refused outright.
    if header.get("alg") != settings.jwt_algorithm:
        raise InvalidToken("unexpected algorithm")
    try:
        claims = jwt.decode(
            token,
            settings.verifying_key(),
            algorithms=[settings.jwt_algorithm],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            # python-jose skips the audience check when the token has no `aud` at all: require it
            # (and every other claim we issue) so that a token minted for nobody is not for us.
            # Times are judged below against the application's clock, which tokens were issued by.
            options={**{f"require_{claim}": True for claim in REQUIRED_CLAIMS},
                     "verify_exp": False, "verify_nbf": False, "verify_iat": False},
        )
    except JWTError as exc:
        raise InvalidToken(str(exc)) from exc
    _check_times(claims)
    missing = [claim for claim in REQUIRED_CLAIMS if claims.get(claim) in (None, "")]
    if missing:  # belt and braces: the library's `require_*` options only test presence
        raise InvalidToken("missing claims: " + ", ".join(missing))
    if claims.get("typ") != "access" or "grp" not in claims:
        raise InvalidToken("not an access token")
    return claims


def _check_times(claims: dict[str, Any]) -> None:
    now = clock.timestamp()
    for claim in ("exp", "iat", "nbf"):
        value = claims.get(claim)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise InvalidToken(f"{claim} is not a number")
    if claims.get("exp") is not None and claims["exp"] <= now:
        raise InvalidToken("token expired")
    if claims.get("nbf") is not None and claims["nbf"] > now + TOKEN_LEEWAY_SECONDS:
        raise InvalidToken("token not yet valid")


def new_refresh_token() -> tuple[str, str]:
    """An opaque refresh token and the SHA-256 under which it is stored (never the token itself)."""
    token = secrets.token_urlsafe(48)
    return token, hash_refresh_token(token)


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
