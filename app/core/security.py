"""Password hashing (argon2id through passlib's CryptContext, off the event loop) and JWTs."""

import hashlib
import secrets
import uuid
from datetime import timedelta
from typing import Any

from jose import JWTError, jwt
from passlib.context import CryptContext
from starlette.concurrency import run_in_threadpool

from app.core.config import get_settings
from app.core.db import utcnow

password_context = CryptContext(schemes=["argon2"], deprecated="auto", argon2__type="ID")

# Verified against when the username is unknown, so both answers take the same time.
_DUMMY_HASH = password_context.hash("recourse-timing-equaliser")


async def hash_password(password: str) -> str:
    return await run_in_threadpool(password_context.hash, password)


async def verify_password(password: str, password_hash: str | None) -> bool:
    return await run_in_threadpool(password_context.verify, password, password_hash or _DUMMY_HASH)


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
            options={"require_exp": True, "require_iat": True, "require_sub": True, "require_jti": True},
        )
    except JWTError as exc:
        raise InvalidToken(str(exc)) from exc
    if claims.get("typ") != "access" or "grp" not in claims:
        raise InvalidToken("not an access token")
    return claims


def new_refresh_token() -> tuple[str, str]:
    """An opaque refresh token and the SHA-256 under which it is stored (never the token itself)."""
    token = secrets.token_urlsafe(48)
    return token, hash_refresh_token(token)


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
