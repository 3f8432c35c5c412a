"""The public pool: rules (per company, with defaults), protection dates and quotas, claiming,
releasing and extending, and the sweep.

The sweep runs in the app every five minutes (job `pool-sweep`, app/core/jobs.py) or from cron
with `scripts/sweep-pool`. It is safe to run twice, or on two servers at once: it takes expired customers with
`FOR UPDATE SKIP LOCKED`, so each customer is moved by exactly one run, and it re-checks the row
under its lock before moving it.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.business_date import business_date
from app.core.db import utcnow
from app.core.jobs import periodic
from app.core.principal import Principal
from app.core.sql import advisory_xact_lock
from app.core.updates import audited_update
from app.customers import repository as repo
from app.customers.errors import (
    CustomerClaimLimitReached,
    CustomerExtensionLimitReached,
    CustomerNotInPool,
    CustomerNotOwner,
    CustomerReclaimCooldown,
    CustomerSecured,
)
from app.customers.models import Customer, CustomerActivity, PoolRule
from app.customers.permissions import CUSTOMER_CLAIM
from app.customers.schemas import PoolRuleIn, PoolRuleOut
from app.notifications.service import notify
from app.org import repository as org_repo


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
    """The company's effective rules and business time zone (org's, through its public queries)."""
    _, tz = (await org_repo.company_zones(session, [company_id]))[company_id]
    row = await repo.pool_rule(session, company_id)
    return CompanyRules(company_id, rules_from_row(row), tz, row)


def rule_out(company_id: uuid.UUID, row: PoolRule | None) -> PoolRuleOut:
    rules = rules_from_row(row)
    return PoolRuleOut(company_id=company_id, is_default=row is None,
                       **{name: getattr(rules, name) for name in RULE_FIELDS})


async def rules_in_scope(session: AsyncSession, principal: Principal) -> list[PoolRuleOut]:
    """The effective rules of every company the principal may read (defaults where none are set)."""
    rows = await repo.pool_rules(session, principal.group_id)
    return [rule_out(cid, rows.get(cid)) for cid in await org_repo.all_readable_company_ids(session, principal)]


async def readable_rules(session: AsyncSession, principal: Principal, company_id: uuid.UUID, *,
                         for_update: bool = False) -> tuple[uuid.UUID, PoolRule | None]:
    """A readable company's id and its rules row (None: the defaults); `for_update` locks both, so
    the caller can check If-Match against the row it will change."""
    cid = await org_repo.get_readable_company_id(session, principal, company_id, for_update=for_update)
    return cid, await repo.pool_rule(session, cid, for_update=for_update)


async def set_rules(session: AsyncSession, principal: Principal, company_id: uuid.UUID, row: PoolRule | None,
                    data: PoolRuleIn) -> PoolRule:
    """Rule: administrators set a company's whole rule set (PUT); audited as `pool_rule.updated`."""
    if row is not None:
        await audited_update(session, principal, row, data.model_dump(), action="pool_rule.updated",
                             entity_type="pool_rule", company_id=company_id)
        return row
    row = PoolRule(group_id=principal.group_id, company_id=company_id, version=1, **data.model_dump())
    session.add(row)
    await session.flush()
    audit.record(session, principal, "pool_rule.updated", "pool_rule", company_id, company_id=company_id,
                 after=audit.snapshot(row, *RULE_FIELDS))
    return row


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
    await advisory_xact_lock(session, f"pool-quota:{user_id}")


async def ensure_daily_cap(session: AsyncSession, user_id: uuid.UUID, cr: CompanyRules, now: datetime,
                           adding: int = 1) -> None:
    """Rule: a salesperson claims or creates at most `daily_claim_cap` customers a day."""
    await _lock_quota(session, user_id)
    today = business_date(now, cr.tz)
    done = await repo.count_activity(session, user_id, ("created", "claimed"), today, today)
    if done + adding > cr.rules.daily_claim_cap:
        raise CustomerClaimLimitReached(
            f"Daily limit reached: {done} of {cr.rules.daily_claim_cap} customers claimed or created today.",
            extra={"limit": cr.rules.daily_claim_cap, "used": done},
        )


async def ensure_extension_quota(session: AsyncSession, user_id: uuid.UUID, cr: CompanyRules, now: datetime) -> None:
    """Rule: at most `max_extensions_per_month` protection extensions per salesperson per month."""
    await _lock_quota(session, user_id)
    first = business_date(now, cr.tz).replace(day=1)
    used = await repo.count_activity(session, user_id, ("extended",), first)
    if used >= cr.rules.max_extensions_per_month:
        raise CustomerExtensionLimitReached(
            f"Extension quota used up: {used} of {cr.rules.max_extensions_per_month} this month.",
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
    await end_shares(session, actor, customers)


async def end_shares(session: AsyncSession, actor: Principal | None, customers: Sequence[Customer]) -> None:
    """Rule: shares are the owner's (or a manager's on the owner's behalf) and end when the
    customer leaves that owner: deleted in one statement, one audit event per customer that had
    any, naming who lost access."""
    if not customers:
        return
    ended = await repo.delete_shares(session, [c.id for c in customers])
    by_customer: dict[uuid.UUID, list[dict[str, object]]] = {}
    for customer_id, user_id, can_edit in ended:
        by_customer.setdefault(customer_id, []).append({"user_id": str(user_id), "can_edit": can_edit})
    for customer in customers:
        if customer.id in by_customer:
            audit.record(session, actor, "customer.shares_ended", "customer", customer.id,
                         group_id=customer.group_id, company_id=customer.company_id,
                         before={"shares": sorted(by_customer[customer.id], key=lambda s: str(s["user_id"]))})


# --- claiming, releasing, extending -----------------------------------------------------------------

async def claim(session: AsyncSession, principal: Principal, customer_id: uuid.UUID,
                *, now: datetime | None = None) -> Customer:
    """Rules: only a pool customer; not by its former owner during the cool-down; within the
    daily claim/create cap; protection starts now."""
    now = now or utcnow()
    customer = await repo.lock_pool_customer(session, principal, customer_id)
    if customer.status != "pool":
        raise CustomerNotInPool("The customer is not in the public ")
    cr = await rules_for(session, customer.company_id)
    if (customer.former_owner_id == principal.user_id and customer.pooled_at is not None
            and now < customer.pooled_at + timedelta(days=cr.rules.reclaim_cooldown_days)):
        raise CustomerReclaimCooldown(
            f"You may claim this customer back {cr.rules.reclaim_cooldown_days} days after it left you.")
    await ensure_daily_cap(session, principal.user_id, cr, now)
    # Shares end on the way to the pool; any left from before that rule end here, before the
    # claimer owns a customer shared by somebody else.
    await end_shares(session, principal, [customer])
    before = audit.snapshot(customer, "status", "owner_id", "former_owner_id")
    customer.owner_id, customer.status, customer.pooled_at = principal.user_id, "private", None
    customer.protected_until = add_protection_days(now, cr.rules.protection_days,
                                                   count_weekends=cr.rules.count_weekends, tz=cr.tz)
    await _owner_acted(session, principal, customer, "claimed", cr, now, before=before,
                       after=audit.snapshot(customer, "status", "owner_id", "protected_until"))
    return customer


async def _owner_acted(session: AsyncSession, principal: Principal, customer: Customer, kind: str,
                       cr: CompanyRules, now: datetime, *, before: dict[str, Any], after: dict[str, Any],
                       detail: str | None = None, action: str | None = None) -> None:
    """The owner's pool action recorded twice: as their activity (quotas count it) and audited."""
    add_activity(session, customer, kind, user_id=principal.user_id, actor_id=principal.user_id, tz=cr.tz, now=now,
                 detail=detail)
    await session.flush()
    audit.record(session, principal, action or f"customer.{kind}", "customer", customer.id,
                 company_id=customer.company_id, before=before, after=after)


def _ensure_owner(principal: Principal, customer: Customer) -> None:
    if customer.status != "private" or customer.owner_id != principal.user_id:
        raise CustomerNotOwner("Only the customer's owner may do this.")


def _ensure_not_secured(customer: Customer) -> None:
    if customer.secured_at is not None:
        raise CustomerSecured("The customer is the owner's for good (signed or paid within protection).")


async def release(session: AsyncSession, principal: Principal, customer: Customer,
                  *, now: datetime | None = None) -> Customer:
    """Rule: the owner gives an unsecured customer back to the pool (and may not reclaim it
    during the cool-down)."""
    now = now or utcnow()
    _ensure_owner(principal, customer)
    _ensure_not_secured(customer)
    cr = await rules_for(session, customer.company_id)
    before = audit.snapshot(customer, "status", "owner_id", "protected_until")
    await return_to_pool(session, principal, [customer], now)
    await _owner_acted(session, principal, customer, "released", cr, now, before=before,
                       after=audit.snapshot(customer, "status", "owner_id", "former_owner_id"))
    return customer


async def extend_protection(session: AsyncSession, principal: Principal, customer: Customer, reason: str,
                            *, now: datetime | None = None) -> Customer:
    """Rules: the owner extends an unsecured customer's protection by `extension_days`, with a
    written reason, at most `max_extensions_per_month` times a month."""
    now = now or utcnow()
    _ensure_owner(principal, customer)
    _ensure_not_secured(customer)
    cr = await rules_for(session, customer.company_id)
    await ensure_extension_quota(session, principal.user_id, cr, now)
    before = audit.snapshot(customer, "protected_until")
    start = max(customer.protected_until or now, now)
    customer.protected_until = add_protection_days(start, cr.rules.extension_days,
                                                   count_weekends=cr.rules.count_weekends, tz=cr.tz)
    await _owner_acted(session, principal, customer, "extended", cr, now, before=before, detail=reason,
                       after={**audit.snapshot(customer, "protected_until"), "reason": reason},
                       action="customer.protection_extended")
    return customer


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
        rows = await repo.lock_expired_customers(session, now, batch)
        if not rows:
            return moved
        missing = {c.company_id for c in rows} - zones.keys()
        if missing:
            zones.update({cid: tz for cid, (_, tz) in (await org_repo.company_zones(session, missing)).items()})
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
    rows = await repo.expiring_customers(session, now, DEFAULT_RULES.reminder_days, limit)
    zones = await org_repo.company_zones(session, {r.company_id for r in rows})
    sent = 0
    for cid, group_id, company_id, owner_id, name, until in rows:
        tz = zones[company_id][1]
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
    rule_rows = await repo.all_pool_rules(session)
    for company_id, (group_id, tz) in (await org_repo.company_zones(session)).items():
        rules = rules_from_row(rule_rows.get(company_id))
        local = now.astimezone(tz)
        if local.hour < FLOOR_REMINDER_LOCAL_HOUR or rules.daily_reminder_floor <= 0:
            continue
        today = local.date()
        sellers = await org_repo.users_holding_permission(session, group_id, CUSTOMER_CLAIM,
                                                          company_ids=[company_id])
        counts = await repo.activity_counts(session, sellers, ("created", "claimed"), today)
        for user_id, count in counts.items():
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
