"""Small SQL building blocks every area uses the same way: advisory locks, CHECK constraints for
value sets, and LIKE patterns from user text."""

from collections.abc import Iterable

from sqlalchemy import CheckConstraint, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import check_writable

_XACT_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))")
_TRY_XACT_LOCK = text("SELECT pg_try_advisory_xact_lock(hashtextextended(:k, 0))")


async def advisory_xact_lock(session: AsyncSession, key: str) -> None:
    """Serialise on `key` until this transaction ends (a named lock: no row needs to exist yet).

    Keys are namespaced strings (`"idem:<user>:<key>"`, `"job:<name>"`); they are hashed to 64 bits,
    so unrelated keys collide only with negligible probability, and a collision merely serialises."""
    check_writable(session)
    await session.execute(_XACT_LOCK, {"k": key})


_XACT_LOCKS = text("SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0))) "
                   "FROM (SELECT DISTINCT unnest(CAST(:ks AS text[])) AS k ORDER BY 1) AS keys")


async def advisory_xact_locks(session: AsyncSession, keys: Iterable[str]) -> None:
    """`advisory_xact_lock` for many keys in one statement, taken in a fixed order (sorted), so two
    transactions locking overlapping sets cannot deadlock on them."""
    check_writable(session)
    keys = sorted(set(keys))
    if keys:
        await session.execute(_XACT_LOCKS, {"ks": keys})


async def try_advisory_xact_lock(session: AsyncSession, key: str) -> bool:
    """Take the named lock if nobody holds it; False (without waiting) otherwise."""
    check_writable(session)
    return bool(await session.scalar(_TRY_XACT_LOCK, {"k": key}))


def in_values(column: str, values: Iterable[str]) -> str:
    """SQL text `column IN ('a', 'b')` for a CHECK constraint over a fixed, code-defined value set."""
    quoted = []
    for value in values:
        if "'" in value:  # the sets are code constants; refuse anything that would need escaping
            raise ValueError(f"value {value!r} cannot appear in a CHECK constraint")
        quoted.append(f"'{value}'")
    return f"{column} IN ({', '.join(quoted)})"


def check_in(column: str, values: Iterable[str], *, name: str, nullable: bool = False) -> CheckConstraint:
    """A named CHECK constraint that `column` holds one of `values` (or NULL when `nullable`)."""
    condition = in_values(column, values)
    return CheckConstraint(f"{column} IS NULL OR {condition}" if nullable else condition, name=name)


def like_contains(user_text: str) -> str:
    """A LIKE/ILIKE pattern matching `user_text` anywhere, with its own % _ and \\ taken literally."""
    escaped = user_text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
