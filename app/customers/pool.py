"""Public pool rules (per company, with defaults), protection dates and quotas, and the sweep.

The sweep runs in the app every five minutes (job `pool-sweep`, app/core/jobs.py) or from cron
with `scripts/sweep-pool`. It is safe to run twice, or on two servers at once: it takes expired customers with
`FOR UPDATE SKIP LOCKED`, so each customer is moved by exactly one run, and it re-checks the row
under its lock before moving it.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, literal, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.business_date import business_date, business_zone
from app.core.db import utcnow
from app.core.errors import Conflict
from app.core.jobs import periodic
from app.core.principal import Principal
from app.customers.models import Customer, CustomerActivity, CustomerShare, PoolRule
from app.notifications.service import notify
from app.org.models import Company, Role, User, UserRole


@dataclass(frozen=True)
class Rules:
    """Effective pool rules of a company (the row, or these defaults)."""

    protection_days: int = 15
    reminder_days: int = 5
    extension_days: int = 1
    max_extensions_per_month: int = 5
    daily_claim_cap: int = 20
    daily_reminder_floor: int = 12
    count_weekends: bool = True
    reclaim_cooldown_days: int = 7


RULE_FIELDS = tuple(f.name for f in fields(Rules))
DEFAULT_RULES = Rules()
# The "below the daily floor" reminder goes out once a day, late in the company's working day.
FLOOR_REMINDER_LOCAL_HOUR = 16


@dataclass(frozen=True)
class CompanyRules:
    company_id: uuid.UUID
    rules: Rules
    tz: ZoneInfo
    row: PoolRule | None = None


def rules_from_row(row: PoolRule | None) -> Rules:
    return Rules(**{name: getattr(row, name) for name in RULE_FIELDS}) if row is not None else DEFAULT_RULES


async def rules_for(session: AsyncSession, company_id: uuid.UUID) -> CompanyRules:
    """The company's effective rules and time zone (two columns, one query)."""
    row = (await session.execute(
        select(Company.timezone, PoolRule).select_from(Company)
        .outerjoin(PoolRule, PoolRule.company_id == Company.id).where(Company.id == company_id)
    )).one()
    return CompanyRules(company_id, rules_from_row(row[1]), business_zone(row[0]), row[1])


def add_protection_days(start: datetime, days: int, *, count_weekends: bool, tz: ZoneInfo) -> datetime:
    """`days` after `start`; when weekends do not count, only Monday–Friday days are counted."""
    if count_weekends:
        return start + timedelta(days=days)
    local, added = start.astimezone(tz), 0
    while added < days:
        local += timedelta(days=1)
        if local.weekday() < 5:
            added += 1
    return local.astimezone(UTC)


async def _lock_quota(session: AsyncSession, user_id: uuid.UUID) -> None:
    # Serialise one user's quota checks so two parallel claims cannot both pass the cap.
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
                          {"k": f"pool-quota:{user_id}"})


async def count_activity(session: AsyncSession, user_id: uuid.UUID, kinds: tuple[str, ...], since: date,
                         until: date | None = None) -> int:
    stmt = select(func.count()).select_from(CustomerActivity).where(
        CustomerActivity.user_id == user_id, CustomerActivity.kind.in_(kinds), CustomerActivity.business_date >= since)
    if until is not None:
        stmt = stmt.where(CustomerActivity.business_date <= until)
    return int(await session.scalar(stmt) or 0)


async def ensure_daily_cap(session: AsyncSession, user_id: uuid.UUID, cr: CompanyRules, now: datetime,
                           adding: int = 1) -> None:
    """Rule: a salesperson claims or creates at most `daily_claim_cap` customers a day."""
    await _lock_quota(session, user_id)
    today = business_date(now, cr.tz)
    done = await count_activity(session, user_id, ("created", "claimed"), today, today)
    if done + adding > cr.rules.daily_claim_cap:
        raise Conflict(
            f"Daily limit reached: {done} of {cr.rules.daily_claim_cap} customers claimed or created today.",
            code="customer.claim_limit_reached",
            titles={"zh-CN": "今日领取/新建客户已达上限", "en": "Daily claim limit reached"},
            extra={"limit": cr.rules.daily_claim_cap, "used": done},
        )


async def ensure_extension_quota(session: AsyncSession, user_id: uuid.UUID, cr: CompanyRules, now: datetime) -> None:
    """Rule: at most `max_extensions_per_month` protection extensions per salesperson per month."""
    await _lock_quota(session, user_id)
    first = business_date(now, cr.tz).replace(day=1)
    used = await count_activity(session, user_id, ("extended",), first)
    if used >= cr.rules.max_extensions_per_month:
        raise Conflict(
            f"Extension quota used up: {used} of {cr.rules.max_extensions_per_month} this month.",
            code="customer.extension_limit_reached",
            titles={"zh-CN": "本月延期次数已用完", "en": "Monthly extension quota used up"},
            extra={"limit": cr.rules.max_extensions_per_month, "used": used},
        )


def add_activity(session: AsyncSession, customer: Customer, kind: str, *, user_id: uuid.UUID | None,
                 actor_id: uuid.UUID | None, tz: ZoneInfo, now: datetime, detail: str | None = None) -> None:
    session.add(CustomerActivity(group_id=customer.group_id, company_id=customer.company_id, customer_id=customer.id,
                                 user_id=user_id, actor_id=actor_id, kind=kind, business_date=business_date(now, tz),
                                 occurred_at=now, detail=detail))


async def return_to_pool(session: AsyncSession, actor: Principal | None, customers: Sequence[Customer],
                         now: datetime) -> None:
    """Back to the pool, for every path that clears the owner (release, the sweep): the former
    owner loses access and is remembered for the cool-down, and every access that came through
    them ends with them (see end_shares). Set-based: one statement for any number of customers."""
    for customer in customers:
        customer.former_owner_id = customer.owner_id
        customer.owner_id = None
        customer.status = "pool"
        customer.pooled_at = now
        customer.protected_until = None
        customer.version += 1
    await end_shares(session, actor, customers)


async def end_shares(session: AsyncSession, actor: Principal | None, customers: Sequence[Customer]) -> None:
    """Rule: shares are the owner's (or a manager's on the owner's behalf) and end when the
    customer leaves that owner: deleted in one statement, one audit event per customer that had
    any, naming who lost access."""
    if not customers:
        return
    ended = (await session.execute(
        delete(CustomerShare).where(CustomerShare.customer_id.in_([c.id for c in customers]))
        .returning(CustomerShare.customer_id, CustomerShare.user_id, CustomerShare.can_edit)
    )).all()
    by_customer: dict[uuid.UUID, list[dict[str, object]]] = {}
    for customer_id, user_id, can_edit in ended:
        by_customer.setdefault(customer_id, []).append({"user_id": str(user_id), "can_edit": can_edit})
    for customer in customers:
        if customer.id in by_customer:
            audit.record(session, actor, "customer.shares_ended", "customer", customer.id,
                         group_id=customer.group_id, company_id=customer.company_id,
                         before={"shares": sorted(by_customer[customer.id], key=lambda s: str(s["user_id"]))})


# --- the sweep -------------------------------------------------------------------------------------

@dataclass
class SweepResult:
    returned: list[uuid.UUID] = field(default_factory=list)
    reminded: int = 0
    floor_reminded: int = 0


async def return_expired(session: AsyncSession, now: datetime, batch: int = 500) -> list[uuid.UUID]:
    """Move every expired, unsecured private customer back to the pool; audited per customer.

    Rows are taken with SKIP LOCKED, so a concurrent sweep never moves the same customer; the
    WHERE clause is re-evaluated under the lock, so one already moved is not taken again.
    """
    moved: list[uuid.UUID] = []
    zones: dict[uuid.UUID, ZoneInfo] = {}
    while True:
        rows = (await session.scalars(
            select(Customer).where(Customer.status == "private", Customer.secured_at.is_(None),
                                   Customer.deleted_at.is_(None), Customer.protected_until <= now)
            .order_by(Customer.protected_until).limit(batch).with_for_update(skip_locked=True)
        )).all()
        if not rows:
            return moved
        missing = {c.company_id for c in rows} - zones.keys()
        if missing:
            for cid, tzname in (await session.execute(
                    select(Company.id, Company.timezone).where(Company.id.in_(missing)))).all():
                zones[cid] = business_zone(tzname)
        befores = {c.id: audit.snapshot(c, "status", "owner_id", "protected_until") for c in rows}
        await return_to_pool(session, None, rows, now)
        for customer in rows:
            add_activity(session, customer, "expired", user_id=customer.former_owner_id, actor_id=None,
                         tz=zones[customer.company_id], now=now)
            audit.record(session, None, "customer.returned_to_pool", "customer", customer.id,
                         group_id=customer.group_id, company_id=customer.company_id, before=befores[customer.id],
                         after=audit.snapshot(customer, "status", "owner_id", "former_owner_id"))
            moved.append(customer.id)
        await session.flush()


async def remind_expiring(session: AsyncSession, now: datetime, limit: int = 5000) -> int:
    """Remind owners of customers in their last `reminder_days` of protection, once a day each."""
    reminder_days = func.coalesce(PoolRule.reminder_days, DEFAULT_RULES.reminder_days)
    rows = (await session.execute(
        select(Customer.id, Customer.group_id, Customer.owner_id, Customer.name, Customer.protected_until,
               Company.timezone)
        .join(Company, Company.id == Customer.company_id)
        .outerjoin(PoolRule, PoolRule.company_id == Customer.company_id)
        .where(Customer.status == "private", Customer.secured_at.is_(None), Customer.deleted_at.is_(None),
               Customer.protected_until > now,
               Customer.protected_until <= literal(now) + func.make_interval(0, 0, 0, reminder_days))
        .order_by(Customer.protected_until).limit(limit)
    )).all()
    sent = 0
    for cid, group_id, owner_id, name, until, tzname in rows:
        tz = business_zone(tzname)
        local_until = until.astimezone(tz)
        sent += await notify(
            session, group_id=group_id, user_ids=[owner_id], kind="customer.protection_expiring",
            title=f"客户「{name}」保护期将于 {local_until:%Y-%m-%d %H:%M} 到期",
            body="到期未签约或回款的客户将自动退回公海。可申请延期（需填写理由）。",
            entity_type="customer", entity_id=cid, dedupe_key=f"pool-expiry:{cid}:{business_date(now, tz)}",
        )
    return sent


async def remind_below_floor(session: AsyncSession, now: datetime) -> int:
    """After 16:00 local time, remind salespeople (holders of customer.claim through a role) who
    claimed or created fewer customers today than the company's daily floor; once a day."""
    sent = 0
    companies = (await session.execute(
        select(Company.id, Company.group_id, Company.timezone, PoolRule)
        .outerjoin(PoolRule, PoolRule.company_id == Company.id)
    )).all()
    for company_id, group_id, tzname, row in companies:
        tz, rules = business_zone(tzname), rules_from_row(row)
        local = now.astimezone(tz)
        if local.hour < FLOOR_REMINDER_LOCAL_HOUR or rules.daily_reminder_floor <= 0:
            continue
        today = local.date()
        done = (
            select(func.count()).select_from(CustomerActivity)
            .where(CustomerActivity.user_id == User.id, CustomerActivity.kind.in_(("created", "claimed")),
                   CustomerActivity.business_date == today)
            .scalar_subquery()
        )
        users = (await session.execute(
            select(User.id, done).where(
                User.company_id == company_id, User.is_active.is_(True), User.locked_at.is_(None),
                User.id.in_(select(UserRole.user_id).join(Role, Role.id == UserRole.role_id)
                            .where(Role.permissions.contains(["customer.claim"]), Role.is_system_admin.is_(False))))
        )).all()
        for user_id, count in users:
            if count < rules.daily_reminder_floor:
                sent += await notify(
                    session, group_id=group_id, user_ids=[user_id], kind="customer.daily_floor",
                    title=f"今日已领取/新建 {count} 个客户，低于 {rules.daily_reminder_floor} 个的目标",
                    dedupe_key=f"pool-floor:{today}",
                )
    return sent


async def sweep(session: AsyncSession, now: datetime | None = None) -> SweepResult:
    """One sweep: expired customers back to the pool, then the reminders. The caller commits."""
    now = now or utcnow()
    result = SweepResult()
    result.returned = await return_expired(session, now)
    result.reminded = await remind_expiring(session, now)
    result.floor_reminded = await remind_below_floor(session, now)
    return result



@periodic("pool-sweep", every_seconds=300)
async def pool_sweep_job(session: AsyncSession) -> dict[str, int]:
    result = await sweep(session)
    return {"returned": len(result.returned), "reminded": result.reminded, "floor_reminded": result.floor_reminded}
