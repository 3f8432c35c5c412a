"""Close-of-business benchmark: one day over 100 000 active contracts (1.2 M instalments).

    .venv/bin/python scripts/bench/cob.py [--contracts 100000] [--overdue 0.3] [--rounds 2]

Steps: a fresh embedded PostgreSQL in a temporary directory (or `--database-url`, a scratch
database), migrated and seeded with the demo organisation; then, set-based with generate_series
(not through the API), `--contracts` active contracts spread over the demo group's companies, each
with 12 monthly instalments of 10 000.00 principal + 500.00 interest due from 2026-01-31 and an
account closed through 2026-05-31: the instalments due by then are paid, except on a share
`--overdue` of the contracts whose instalments 4 and 5 (due 30 Apr and 31 May) are unpaid, so
2026-06-01 accrues two penalty entries on each of those. VACUUM ANALYZE.

Each round, in its own transaction rolled back afterwards (with a VACUUM between, so neither pays
for the other's dead rows):
- baseline: a plain `UPDATE ledger_item SET penalty_due = penalty_due + 0` over every instalment of
  the open accounts (the rows the close of business reads);
- the close of business of 2026-06-01 for the group, through `app.ledger.cob.close_of_business`
  (the app's own code: lock the day's accounts, post the penalty, refresh the accounts).
Prints both, their ratio, and what the close of business posted.
"""

import argparse
import asyncio
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import asyncpg  # noqa: E402
from dupcheck import database, seed  # noqa: E402

DAY = date(2026, 6, 1)

# (statement, names of its arguments): the bench's rows, set-based.
LOAD = [
    ("""CREATE TEMP TABLE bench_contract AS
        SELECT n, gen_random_uuid() AS id, ($1::uuid[])[1 + n % array_length($1::uuid[], 1)] AS company_id,
               (n % 1000) < $3::float8 * 1000 AS overdue
        FROM generate_series(1, $2) n""", ("companies", "contracts", "overdue")),
    ("""INSERT INTO contract (id, group_id, company_id, number, state, status, customer_id, owner_id, requester_id,
                              sale_kind, price, down_payment, annual_rate, term_months, first_due_date, schedule_kind,
                              penalty_daily_rate, grace_days, allocation_order, needs_investigation, shipment_date)
        SELECT c.id, $1, c.company_id, 'BENCH-' || c.n, 'active', 'approved', $2, $3, $3,
               'instalment_sale', 126000.00, 0.00, 0.060000, 12, DATE '2026-01-31', 'annuity',
               0.000500, 0, ARRAY['penalty', 'fee', 'interest', 'principal'], false, DATE '2026-01-10'
        FROM bench_contract c""", ("group", "customer", "owner")),
    ("""INSERT INTO ledger_item (contract_id, key, kind, instalment_number, due_date, principal_due, principal_paid,
                                 interest_due, interest_paid, interest_waived, fee_due, fee_paid, penalty_due,
                                 penalty_paid, penalty_waived)
        SELECT c.id, 'instalment:' || k, 'instalment', k, (DATE '2026-01-31' + make_interval(months => k - 1))::date,
               10000.00, CASE WHEN p.paid THEN 10000.00 ELSE 0 END, 500.00, CASE WHEN p.paid THEN 500.00 ELSE 0 END,
               0, 0, 0, CASE WHEN k IN (4, 5) AND c.overdue THEN 100.00 ELSE 0 END, 0, 0
        FROM bench_contract c CROSS JOIN generate_series(1, 12) k
        CROSS JOIN LATERAL (SELECT k <= CASE WHEN c.overdue THEN 3 ELSE 5 END AS paid) p""", ()),
    ("""INSERT INTO ledger_account (contract_id, group_id, company_id, as_of, penalty_daily_rate, grace_days,
                                    outstanding_principal, overdue_principal, overdue_interest, overdue_fee,
                                    unpaid_penalty, overdue_amount, overdue_since, dpd, bucket, payoff, settled)
        SELECT c.id, $1, c.company_id, DATE '2026-05-31', 0.000500, 0, 0, 0, 0, 0, 0, 0, NULL, 0, 'current', 0, false
        FROM bench_contract c""", ("group",)),
    ("""INSERT INTO business_date_override (group_id, business_date) VALUES ($1, DATE '2026-06-01')
        ON CONFLICT (group_id) DO UPDATE SET business_date = excluded.business_date""", ("group",)),
]

BASELINE = """
UPDATE ledger_item SET penalty_due = penalty_due + 0
WHERE contract_id IN (SELECT contract_id FROM ledger_account WHERE NOT settled AND group_id = $1)
"""


async def load(url: str, contracts: int, overdue: float) -> str:
    org = await seed(url, demo_customers=True)
    conn = await asyncpg.connect(url)
    try:
        started = time.perf_counter()
        customer = await conn.fetchval("SELECT id FROM customer LIMIT 1")
        companies = [c.id for c in org.companies.values() if c.group_id == org.group.id]
        values = {"group": org.group.id, "companies": companies, "contracts": contracts, "overdue": overdue,
                  "customer": customer, "owner": org.users["sales1"].id}
        async with conn.transaction():
            for statement, names in LOAD:
                await conn.execute(statement, *[values[name] for name in names])
        await conn.execute("VACUUM ANALYZE")
        items = await conn.fetchval("SELECT count(*) FROM ledger_item")
        print(f"generated {contracts:,} contracts, {items:,} instalments in {time.perf_counter() - started:.1f}s",
              flush=True)
    finally:
        await conn.close()
    return str(org.group.id)


async def baseline(url: str, group_id: str) -> float:
    conn = await asyncpg.connect(url)
    try:
        tx = conn.transaction()
        await tx.start()
        started = time.perf_counter()
        await conn.execute(BASELINE, group_id)
        elapsed = time.perf_counter() - started
        await tx.rollback()
        await conn.execute("VACUUM ledger_item, ledger_account")
    finally:
        await conn.close()
    return elapsed


STEPS = ("lock_day", "post_penalty", "refresh_accounts")


TIMINGS: dict[str, float] = {}


def time_steps(cob: Any) -> dict[str, float]:
    """Wrap the close of business's three statements (once) to time each; the seconds per step."""
    if getattr(cob.repo, "_bench_timed", False):
        return TIMINGS
    cob.repo._bench_timed = True
    for name in STEPS:
        step = getattr(cob.repo, name)

        async def timed(*args: Any, _step: Any = step, _name: str = name, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await _step(*args, **kwargs)
            finally:
                TIMINGS[_name] = TIMINGS.get(_name, 0.0) + time.perf_counter() - started

        setattr(cob.repo, name, timed)
    return TIMINGS


async def close_of_business(url: str, group_id: str) -> tuple[float, dict[str, Any]]:
    import uuid

    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

    from app.core.db import to_async_url
    from app.ledger import cob

    timings = time_steps(cob)
    timings.clear()
    engine = create_async_engine(to_async_url(url))
    try:
        async with AsyncSession(engine) as session:
            started = time.perf_counter()
            (run,) = await cob.close_of_business(session, uuid.UUID(group_id))
            elapsed = time.perf_counter() - started
            posted = {"days": run.days, "contracts": run.contracts, "entries_posted": run.entries_posted,
                      **{name: f"{seconds:.2f}s" for name, seconds in timings.items()}}
            await session.rollback()
    finally:
        await engine.dispose()
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("VACUUM ledger_item, ledger_account, ledger_entry")
    finally:
        await conn.close()
    return elapsed, posted


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contracts", type=int, default=100_000)
    parser.add_argument("--overdue", type=float, default=0.3, help="share of contracts overdue (default 0.3)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--database-url", help="a scratch database (default: a fresh embedded PostgreSQL)")
    args = parser.parse_args()

    import app.domains  # noqa: F401 - every model mapped, the job registered
    from app.cli import migrate

    keep: list[object] = []
    url = database(args.database_url, keep)
    migrate(url)
    group_id = asyncio.run(load(url, args.contracts, args.overdue))
    results: list[tuple[float, float]] = []
    for n in range(args.rounds):
        plain = asyncio.run(baseline(url, group_id))
        closed, posted = asyncio.run(close_of_business(url, group_id))
        results.append((closed, plain))
        print(f"round {n + 1}: close of business {closed:.2f}s ({posted}), plain UPDATE {plain:.2f}s, "
              f"ratio {closed / plain:.2f}", flush=True)
    best_cob, best_plain = min(r[0] for r in results), min(r[1] for r in results)
    print(f"\nclose of business of {DAY}, {args.contracts:,} contracts: best {best_cob:.2f}s; plain UPDATE over "
          f"their instalments: best {best_plain:.2f}s; ratio {best_cob / best_plain:.2f} (targets: < 60 s, < 5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
