"""The close of business (ledger.md "Business date and close of business") and the business date.

`close_of_business` closes, for every open account, each day from its `as_of + 1` up to its
company's business date, in day order (a missed day is caught up exactly as if it had run), in
set-based SQL: a few statements per day whatever the number of contracts (`cob_repository`). The
result is exactly what `service._sync` would store (invariants 1–4 of the ledger): the tests
compare both. Idempotent: a closed day is no longer `as_of + 1` of any account. One runner per
group at a time (an advisory lock); a payment racing it is serialised by the account row lock.

Later areas act on each closed day in the same transaction by registering a hook with
`on_day_closed` (collection cases opened and closed, promises to pay judged).
"""

import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.business_date import business_date, business_zone
from app.core.config import get_settings
from app.core.db import utcnow
from app.core.jobs import periodic
from app.core.principal import Principal
from app.core.sql import advisory_xact_lock
from app.ledger import cob_repository as repo
from app.ledger import repository as ledger_repo
from app.ledger import service
from app.ledger.calendar import business_dates
from app.ledger.cob_models import CobRun
from app.ledger.errors import BusinessDateBeforeClosed, BusinessDateFixed
from app.ledger.models import LedgerAccount, LedgerItem

DayHook = Callable[[AsyncSession, date, list[uuid.UUID], list[uuid.UUID]], Awaitable[None]]
_DAY_HOOKS: list[DayHook] = []


def on_day_closed(hook: DayHook) -> DayHook:
    """Register `hook(session, day, company_ids, contract_ids)`, called for every day the close of
    business closes, with the companies whose day it is and the contracts it posted that day, in the
    same transaction (usable as a decorator). A contract whose day a payment already brought up to
    date is not among `contract_ids` but is in one of the companies: hooks that judge a company's
    day (cases, promises) work by company."""
    _DAY_HOOKS.append(hook)
    return hook


@dataclass(frozen=True)
class DayClosed:
    day: date
    contract_ids: list[uuid.UUID]
    entries_posted: int


async def close_day(session: AsyncSession, day: date, company_ids: list[uuid.UUID]) -> DayClosed:
    """Close `day` for the accounts of these companies closed through the day before."""
    if not company_ids:
        return DayClosed(day, [], 0)
    contract_ids, holding_credit = await repo.lock_day(session, day, company_ids)
    posted = 0
    if contract_ids:
        posted = await repo.post_penalty(session, day, contract_ids)
        if holding_credit:
            await _draw_credit(session, day, holding_credit)
        await repo.refresh_accounts(session, day, contract_ids)
    await _run_hooks(session, day, company_ids, contract_ids)
    return DayClosed(day, contract_ids, posted)


async def _draw_credit(session: AsyncSession, day: date, contract_ids: list[uuid.UUID]) -> None:
    """Unapplied credit pays what falls due on `day` (ledger.md "Unapplied credit"). Only paid-off
    accounts hold credit, and only a charge falling due gives it something to draw, so the few
    such accounts of a day are brought to their replay one by one, exactly as a fact would."""
    drawing = await repo.drawing_credit(session, day, contract_ids)
    contracts = await ledger_repo.contracts_by_id(session, drawing) if drawing else {}
    for contract_id in drawing:
        account = await ledger_repo.lock_account(session, contract_id, fresh=True)
        if account is not None:
            await service.sync_through(session, contracts[contract_id], account,
                                       await ledger_repo.entries_of(session, contract_id), day)


async def _run_hooks(session: AsyncSession, day: date, company_ids: list[uuid.UUID],
                     contract_ids: list[uuid.UUID]) -> None:
    for hook in _DAY_HOOKS:
        await hook(session, day, company_ids, contract_ids)


def _lock_key(group_id: uuid.UUID) -> str:
    return f"cob:{group_id}"


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _real_today() -> date:
    """Today where no company says otherwise (a group-level caller): the default time zone's date."""
    return business_date(utcnow(), business_zone())


async def _close_group(session: AsyncSession, group_id: uuid.UUID, through: date | None,
                       actor: Principal | None) -> CobRun | None:
    started_at, clock = utcnow(), time.perf_counter()
    await advisory_xact_lock(session, _lock_key(group_id))  # a second runner waits, then finds nothing left
    companies = await repo.open_companies(session, group_id)
    dates = await business_dates(session, companies)
    if through is not None:
        dates = {cid: min(day, through) for cid, day in dates.items()}
    closed: list[DayClosed] = []
    if companies:
        for day in _days(min(c.behind for c in companies.values()) + timedelta(days=1), max(dates.values())):
            due = [cid for cid, last in dates.items() if last >= day and companies[cid].behind < day]
            result = await close_day(session, day, due)
            if result.contract_ids:
                closed.append(result)
        # Accounts a payment brought up to date have nothing left to close today, but today is still
        # a day to judge (cases opened or cured, promises due): the hooks see it on every run (they
        # are idempotent).
        today = max(dates.values())
        if not closed or closed[-1].day < today:
            await _run_hooks(session, today, [cid for cid, last in dates.items() if last >= today], [])
    if not closed and actor is None:
        return None  # the periodic job keeps no record of the rounds with nothing to close
    today = max(dates.values()) if dates else (await repo.override_day(session, group_id) or _real_today())
    run = await repo.add_run(session, CobRun(
        group_id=group_id, business_date=closed[-1].day if closed else today, days=len(closed),
        contracts=sum(len(c.contract_ids) for c in closed), entries_posted=sum(c.entries_posted for c in closed),
        started_at=started_at, finished_at=utcnow(), duration_ms=round((time.perf_counter() - clock) * 1000),
        actor_id=actor.user_id if actor else None))
    if actor is not None:
        audit.record(session, actor, "cob.run", "cob_run", run.id, group_id=group_id, after=audit.snapshot(
            run, "business_date", "days", "contracts", "entries_posted", "duration_ms"))
    return run


def _expire_ledger_state(session: AsyncSession) -> None:
    # The SQL above rewrote accounts and items behind the ORM's back: loaded copies must be reread,
    # or a fact recorded later in this transaction would sync from a stale `as_of`.
    for obj in list(session.identity_map.values()):
        if isinstance(obj, LedgerAccount | LedgerItem):
            session.expire(obj)


async def close_of_business(session: AsyncSession, group_id: uuid.UUID | None = None, through: date | None = None,
                            actor: Principal | None = None) -> list[CobRun]:
    """Close every open account up to its company's business date (or `through`, if earlier), for
    one group or all. The run records (one per group; the job's idle rounds leave none). The caller
    commits."""
    await session.flush()
    groups = [group_id] if group_id is not None else await repo.open_groups(session)
    runs = []
    try:
        for gid in groups:
            run = await _close_group(session, gid, through, actor)
            if run is not None:
                runs.append(run)
    finally:
        _expire_ledger_state(session)
    return runs


@periodic("close-of-business", every_seconds=900)
async def close_of_business_job(session: AsyncSession) -> dict[str, Any]:
    runs = await close_of_business(session)
    return {"groups": len(runs), "days": sum(r.days for r in runs), "contracts": sum(r.contracts for r in runs),
            "entries_posted": sum(r.entries_posted for r in runs)}


# --- the business date -----------------------------------------------------------------------

@dataclass(frozen=True)
class BusinessDateView:
    business_date: date
    set_by_hand: bool


async def business_date_of(session: AsyncSession, principal: Principal) -> BusinessDateView:
    """The caller's business date: its company's (a group-level caller: the group's date set by
    hand, else today in the default time zone)."""
    override = await repo.override_day(session, principal.group_id)
    if principal.company_id is not None:
        day = (await business_dates(session, [principal.company_id]))[principal.company_id]
    else:
        day = override or _real_today()
    return BusinessDateView(day, override is not None)


async def set_business_date(session: AsyncSession, principal: Principal, day: date | None) -> BusinessDateView:
    """Set the group's business date by hand (None: back to the real date). Refused in production,
    and before a day already closed: penalty is posted through it."""
    if get_settings().environment == "production":
        raise BusinessDateFixed("The business date is the real date in production")
    before = await repo.override_day(session, principal.group_id)
    effective = day or _real_today()
    closed = await repo.last_closed_day(session, principal.group_id)
    if closed is not None and effective < closed:
        raise BusinessDateBeforeClosed(f"Penalty is already posted through {closed}; the date is not before it")
    await repo.set_override(session, principal.group_id, day, principal.user_id)
    audit.record(session, principal, "business_date.set", "org_group", principal.group_id,
                 before={"business_date": before}, after={"business_date": day})
    return await business_date_of(session, principal)
