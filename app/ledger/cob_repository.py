"""The close of business's queries: set-based SQL over every open account of a day, the run
records, and the business date set by hand.

A day `D` is closed in three statements whatever the number of contracts (ledger.md "Business date
and close of business"; the invariants in `service.py`'s `_sync`, which this must equal exactly):

1. `lock_day`: the open accounts closed through `D - 1` move to `D`. The UPDATE takes their row
   locks first: the account row is the contract's ledger lock, so a payment recorded concurrently
   either synced through `D` before (its account is no longer at `D - 1`: PostgreSQL re-checks the
   WHERE on the newest row version and skips it) or waits until this transaction ends.
2. `post_penalty`: day `D`'s accrual of every instalment past its grace days with principal unpaid,
   as `penalty` entries and onto the items' `penalty_due`, in one statement.
3. `refresh_accounts`: the account figures recomputed from the items.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, bindparam, delete, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID, insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import utcnow
from app.core.principal import Principal
from app.core.scoping import readable
from app.ledger.cob_models import CobRun
from app.ledger.models import BusinessDateOverride, LedgerAccount

_IDS = ARRAY(UUID(as_uuid=True))


@dataclass(frozen=True)
class OpenCompany:
    group_id: uuid.UUID
    behind: date  # the earliest `as_of` among its open accounts


async def open_companies(session: AsyncSession, group_id: uuid.UUID | None = None) -> dict[uuid.UUID, OpenCompany]:
    """Every company with open accounts (of one group, or of all), and how far behind the furthest is."""
    stmt = select(LedgerAccount.company_id, LedgerAccount.group_id, func.min(LedgerAccount.as_of)).where(
        LedgerAccount.settled.is_(False)).group_by(LedgerAccount.company_id, LedgerAccount.group_id)
    if group_id is not None:
        stmt = stmt.where(LedgerAccount.group_id == group_id)
    return {cid: OpenCompany(gid, behind) for cid, gid, behind in (await session.execute(stmt)).all()}


async def open_groups(session: AsyncSession) -> list[uuid.UUID]:
    """The groups with open accounts (the periodic job closes them all)."""
    stmt = select(LedgerAccount.group_id).where(LedgerAccount.settled.is_(False)).distinct()
    return list((await session.execute(stmt.order_by(LedgerAccount.group_id))).scalars())


# The accounts are locked in contract order first (a bare UPDATE locks them in whatever order it
# scans), so two runs, or a run and a payment, take them in one order (core.sql's rule).
_LOCK_DAY = text("""
    WITH locked AS (
        SELECT contract_id FROM ledger_account
        WHERE as_of = CAST(:day AS date) - 1 AND NOT settled AND company_id = ANY(:companies)
        ORDER BY contract_id FOR UPDATE
    )
    UPDATE ledger_account a SET as_of = CAST(:day AS date), updated_at = CAST(:now AS timestamptz)
    FROM locked WHERE a.contract_id = locked.contract_id
    RETURNING a.contract_id, a.unapplied_credit > 0
""").bindparams(bindparam("companies", type_=_IDS))


async def lock_day(session: AsyncSession, day: date,
                   company_ids: Sequence[uuid.UUID]) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    """Step 1: the open accounts of these companies closed through `day - 1` now close `day`
    (locked until the transaction ends); their contract ids, and those of the ones holding
    unapplied credit."""
    rows = (await session.execute(_LOCK_DAY, {"day": day, "companies": list(company_ids), "now": utcnow()})).all()
    return [contract_id for contract_id, _ in rows], [contract_id for contract_id, credit in rows if credit]


# PostgreSQL's round(numeric, 2) rounds half away from zero; the product of two non-negative
# numerics is exact, so for the (positive) accruals it is exactly `schedule.cent`'s ROUND_HALF_UP.
_POST_PENALTY = text("""
    WITH due AS (
        SELECT i.contract_id, i.key, i.instalment_number, a.group_id, a.company_id,
               round((i.principal_due - i.principal_paid) * a.penalty_daily_rate, 2) AS amount
        FROM ledger_item i JOIN ledger_account a ON a.contract_id = i.contract_id
        WHERE a.contract_id = ANY(:contracts) AND i.kind = 'instalment'
          AND CAST(:day AS date) > i.due_date + a.grace_days AND i.principal_due - i.principal_paid > 0
    ), accrual AS (
        UPDATE ledger_item i SET penalty_due = i.penalty_due + due.amount
        FROM due WHERE i.contract_id = due.contract_id AND i.key = due.key AND due.amount > 0
        RETURNING due.group_id, due.company_id, due.contract_id, due.instalment_number, due.amount
    )
    INSERT INTO ledger_entry (id, group_id, company_id, contract_id, kind, component, amount, value_date,
                              instalment_number)
    SELECT gen_random_uuid(), group_id, company_id, contract_id, 'penalty', 'penalty', amount,
           CAST(:day AS date), instalment_number
    FROM accrual
""").bindparams(bindparam("contracts", type_=_IDS))


async def post_penalty(session: AsyncSession, day: date, contract_ids: Sequence[uuid.UUID]) -> int:
    """Step 2: day `day`'s penalty of the locked contracts (their items' principal unpaid is the
    principal unpaid at the start of the day: no credit is dated after `as_of`). Entries posted."""
    result: Any = await session.execute(_POST_PENALTY, {"day": day, "contracts": list(contract_ids)})
    return int(result.rowcount)


_DRAWING_CREDIT = text("""
    SELECT a.contract_id FROM ledger_account a
    WHERE a.contract_id = ANY(:contracts) AND a.unapplied_credit > 0
      AND EXISTS (SELECT 1 FROM ledger_item i
                  WHERE i.contract_id = a.contract_id AND i.due_date <= CAST(:day AS date)
                    AND i.principal_due - i.principal_paid + i.interest_due - i.interest_paid - i.interest_waived
                        + i.fee_due - i.fee_paid + i.penalty_due - i.penalty_paid - i.penalty_waived > 0)
    ORDER BY a.contract_id
""").bindparams(bindparam("contracts", type_=_IDS))


async def drawing_credit(session: AsyncSession, day: date, contract_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """Of these accounts holding unapplied credit, those with something due by `day` to draw it."""
    rows = await session.execute(_DRAWING_CREDIT, {"day": day, "contracts": list(contract_ids)})
    return [contract_id for (contract_id,) in rows]


# `service.account_figures` in SQL: an item is overdue on D when due before D with principal,
# interest or fee unpaid; payoff on D is all unpaid principal, the interest and fees due by D and
# all unpaid penalty, less the account's unapplied credit; the bucket is rules.bucket.
_REFRESH_ACCOUNTS = text("""
    UPDATE ledger_account a SET
        outstanding_principal = s.principal,
        overdue_principal = s.overdue_principal,
        overdue_interest = s.overdue_interest,
        overdue_fee = s.overdue_fee,
        unpaid_penalty = s.penalty,
        overdue_amount = s.overdue_principal + s.overdue_interest + s.overdue_fee + s.penalty,
        overdue_since = s.overdue_since,
        dpd = coalesce(CAST(:day AS date) - s.overdue_since, 0),
        bucket = CASE WHEN s.overdue_since IS NULL THEN 'current'
                      WHEN CAST(:day AS date) - s.overdue_since <= 30 THEN 'M1'
                      WHEN CAST(:day AS date) - s.overdue_since <= 60 THEN 'M2'
                      WHEN CAST(:day AS date) - s.overdue_since <= 90 THEN 'M3'
                      ELSE 'M4+' END,
        payoff = s.principal + s.interest_due_by + s.fee_due_by + s.penalty - a.unapplied_credit
    FROM (
        SELECT i.contract_id,
               sum(u.principal) AS principal,
               coalesce(sum(u.principal) FILTER (WHERE u.overdue), 0) AS overdue_principal,
               coalesce(sum(u.interest) FILTER (WHERE u.overdue), 0) AS overdue_interest,
               coalesce(sum(u.fee) FILTER (WHERE u.overdue), 0) AS overdue_fee,
               sum(u.penalty) AS penalty,
               min(i.due_date) FILTER (WHERE u.overdue) AS overdue_since,
               coalesce(sum(u.interest) FILTER (WHERE i.due_date <= CAST(:day AS date)), 0) AS interest_due_by,
               coalesce(sum(u.fee) FILTER (WHERE i.due_date <= CAST(:day AS date)), 0) AS fee_due_by
        FROM ledger_item i
        CROSS JOIN LATERAL (SELECT
            i.principal_due - i.principal_paid AS principal,
            i.interest_due - i.interest_paid - i.interest_waived AS interest,
            i.fee_due - i.fee_paid AS fee,
            i.penalty_due - i.penalty_paid - i.penalty_waived AS penalty,
            i.due_date < CAST(:day AS date) AND (i.principal_due - i.principal_paid > 0
                                   OR i.interest_due - i.interest_paid - i.interest_waived > 0
                                   OR i.fee_due - i.fee_paid > 0) AS overdue) u
        WHERE i.contract_id = ANY(:contracts)
        GROUP BY i.contract_id
    ) s
    WHERE a.contract_id = s.contract_id
""").bindparams(bindparam("contracts", type_=_IDS))


async def refresh_accounts(session: AsyncSession, day: date, contract_ids: Sequence[uuid.UUID]) -> None:
    """Step 3: the locked accounts' figures on `day`, from their items."""
    await session.execute(_REFRESH_ACCOUNTS, {"day": day, "contracts": list(contract_ids)})


async def last_closed_day(session: AsyncSession, group_id: uuid.UUID) -> date | None:
    """The latest day through which penalty is posted on any of the group's accounts."""
    return await session.scalar(select(func.max(LedgerAccount.as_of)).where(LedgerAccount.group_id == group_id))


async def add_run(session: AsyncSession, run: CobRun) -> CobRun:
    session.add(run)
    await session.flush()
    return run


def runs(principal: Principal) -> Select[Any]:
    return readable(principal, CobRun)


async def override_day(session: AsyncSession, group_id: uuid.UUID) -> date | None:
    """The group's business date set by hand, if one is."""
    return await session.scalar(select(BusinessDateOverride.business_date).where(
        BusinessDateOverride.group_id == group_id))


async def set_override(session: AsyncSession, group_id: uuid.UUID, day: date | None,
                       actor_id: uuid.UUID) -> None:
    """The group's business date becomes `day` (None: the real date again)."""
    if day is None:
        await session.execute(delete(BusinessDateOverride).where(BusinessDateOverride.group_id == group_id))
        return
    stmt = insert(BusinessDateOverride).values(group_id=group_id, business_date=day, set_by_id=actor_id)
    await session.execute(stmt.on_conflict_do_update(
        index_elements=["group_id"], set_={"business_date": day, "set_by_id": actor_id, "set_at": func.now()}))

