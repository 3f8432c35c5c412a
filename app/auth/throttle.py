"""Login throttling in front of the daily lockout, with its state in PostgreSQL.

Why this shape (issue 9: a fuzzer locked the only administrator in 40 s):

- **Throttle first, per key, with 429 + Retry-After.** Failed logins are counted in fixed windows
  per client address, per username (from anywhere) and per (username, address). A key over its
  limit is answered 429 *before* the password is verified: no CPU spent, no guess tested, and the
  throttled attempt counts toward nothing, so hammering cannot push an account towards its lock.
- **The lockout counts addresses, not attempts.** A failure counts toward the account's daily lock
  only the first time its address (an IPv6 /64 counts as one address) fails for that account that
  business day. Locking someone out therefore needs failures from `LOGIN_MAX_FAILURES_PER_DAY`
  different networks in one day, not one script in a loop; guessing from one place is bounded by
  the throttle instead. The residual risk (an attacker with that many networks) is answered by
  the per-username throttle and by `scripts/unlock-user`.
- **The per-username throttle is a temporary back-off**, the price of bounding guesses spread over
  many addresses: an attack can make a user wait out the window, never lock them for good.

State lives in one small table (`login_throttle`, primary-key lookups and upserts only) so that
every worker sees the same counters; a periodic job purges expired rows.
"""

import ipaddress
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import DateTime, case, delete, func, literal, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import LoginThrottle
from app.core.config import get_settings
from app.core.db import utcnow
from app.core.jobs import periodic


def client_network(host: str | None) -> str:
    """The address a client is counted under: IPv4 as is, IPv6 by its /64 (one customer's LAN)."""
    if not host:
        return "unknown"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return "other:" + "".join(c for c in host[:64] if c.isalnum() or c in ".-_")
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


@dataclass(frozen=True)
class Keys:
    username: str  # normalised: "Admin" and "admin" share their counters
    network: str

    @property
    def address(self) -> str:
        return f"a:{self.network}"

    @property
    def user(self) -> str:
        return f"u:{self.username}"

    @property
    def pair(self) -> str:
        return f"ua:{self.network}|{self.username}"

    def limits(self) -> list[tuple[str, int]]:
        """Every throttle key with its limit, always in the same order (upserts lock rows in it)."""
        s = get_settings()
        return [(self.address, s.login_max_failures_per_address),
                (self.pair, s.login_max_failures_per_username_address),
                (self.user, s.login_max_failures_per_username)]

    def seen_today(self, business_date: date) -> str:
        return f"d:{business_date.isoformat()}:{self.network}|{self.username}"


def keys_for(username: str, host: str | None) -> Keys:
    return Keys(username=username.strip().casefold(), network=client_network(host))


def _window() -> timedelta:
    return timedelta(seconds=get_settings().login_throttle_window_seconds)


async def retry_after(session: AsyncSession, keys: Keys, now: datetime) -> int | None:
    """Seconds until every key of this attempt is below its limit again, or None if none is over."""
    until = await session.scalar(
        select(func.max(LoginThrottle.blocked_until))
        .where(LoginThrottle.key.in_([k for k, _ in keys.limits()]), LoginThrottle.blocked_until > now)
    )
    return None if until is None else max(1, math.ceil((until - now).total_seconds()))


async def record_failure(session: AsyncSession, keys: Keys, now: datetime) -> None:
    """Count one failure on every key; a key reaching its limit is blocked for one window from now.

    One upsert per key, in a fixed order, inside the caller's short transaction."""
    window = _window()
    table = LoginThrottle.__table__
    at_now = literal(now, DateTime(timezone=True))
    blocked = literal(now + window, DateTime(timezone=True))
    for key, limit in keys.limits():
        expired = table.c.window_start <= literal(now - window, DateTime(timezone=True))
        failures = case((expired, 1), else_=table.c.failures + 1)
        stmt = insert(LoginThrottle).values(
            key=key, window_start=now, failures=1, blocked_until=now + window if limit <= 1 else None)
        await session.execute(stmt.on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "window_start": case((expired, at_now), else_=table.c.window_start),
                "failures": failures,
                "blocked_until": case((failures >= limit, blocked), else_=table.c.blocked_until),
            },
        ))


async def first_failure_today(session: AsyncSession, keys: Keys, business_date: date, now: datetime) -> bool:
    """True only the first time this address fails for this username on this business day."""
    inserted = await session.scalar(
        insert(LoginThrottle)
        .values(key=keys.seen_today(business_date), window_start=now, failures=1)
        .on_conflict_do_nothing(index_elements=[LoginThrottle.__table__.c.key])
        .returning(LoginThrottle.key)
    )
    return inserted is not None


async def forget_pair(session: AsyncSession, keys: Keys) -> None:
    """A successful login clears that user's counter at that address (typos before it are forgiven)."""
    await session.execute(delete(LoginThrottle).where(LoginThrottle.key == keys.pair))


async def forget_username(session: AsyncSession, username: str) -> int:
    """Clear the per-username throttle (an operator unlocking the account lets the user in now).

    Per-(username, address) rows expire on their own within one window."""
    result = await session.execute(delete(LoginThrottle).where(LoginThrottle.key == keys_for(username, None).user))
    return result.rowcount or 0  # type: ignore[attr-defined]


@periodic("login-throttle-purge", every_seconds=3600)
async def purge(session: AsyncSession) -> dict[str, int]:
    """Drop counters whose window and block are over; the per-day address rows live two days."""
    now = utcnow()
    per_day = LoginThrottle.key.startswith("d:")
    result = await session.execute(delete(LoginThrottle).where(or_(
        per_day & (LoginThrottle.window_start < now - timedelta(days=2)),
        ~per_day & (LoginThrottle.window_start < now - _window())
        & or_(LoginThrottle.blocked_until.is_(None), LoginThrottle.blocked_until < now),
    )))
    return {"deleted": result.rowcount or 0}  # type: ignore[attr-defined]
