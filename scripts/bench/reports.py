"""Reports benchmark (issue 15): the aging report and collector performance at 100 000 contracts,
over HTTP against Recourse and, beside it in the same run, the report's own SQL through bare asyncpg.

    .venv/bin/python scripts/bench/reports.py [--contracts 100000] [--cases 40000] [--logs 200000]
        [--requests 30] [--explain] [--data-dir DIR]

1. A fresh embedded PostgreSQL in a temporary directory (kept in `--data-dir` if given, where a later
   run skips the load), migrated, with the demo organisation and its 200 customers.
2. Set-based (generate_series, not the API): `--cases` overdue contracts with their ledger account
   and an open collection case (collection.py's generator: collector1 holds `--collector1`,
   collector2 the rest of C01's, collector3 C02's, C03-C09's wait unassigned), then current
   contracts up to `--contracts` (accounts in bucket current, no case, spread over the nine
   companies); per contract two ledger entries (an instalment's principal due 45 days ago and a
   payment on every other contract 10 days ago); `--logs` collection logs on the cases
   (collection.py's generator); VACUUM ANALYZE.
3. Scenarios, each `--requests` times one after the other (a report is a manager's click, not a
   hot path) after two warm-ups: `GET /reports/aging` as admin (the whole group), `?by=collector`
   as the leader (seven companies), `GET /reports/collector-performance` for the last 30 days as
   admin; over HTTP against uvicorn (one worker), and the report's own statement (captured from
   the same service call in-process) through bare asyncpg.
4. Prints p50 / p95 ms per scenario for both and the ratio; `--explain` prints each report
   statement's plan (EXPLAIN ANALYZE, BUFFERS).

Absolute figures drift on a shared machine; compare the two columns of a line.
"""

import argparse
import asyncio
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import asyncpg  # noqa: E402
import collection  # noqa: E402
import floor  # noqa: E402
import httpx  # noqa: E402
from dupcheck import ROOT, percentiles, serve  # noqa: E402, F401 - ROOT puts the app on the path

# Current contracts up to $2 in all, over the companies $3 round robin; $1 the group, $4 the salesperson.
CURRENT = [
    """INSERT INTO contract (id, group_id, company_id, number, state, status, customer_id, owner_id, requester_id,
                             sale_kind, price, down_payment, annual_rate, term_months, first_due_date, schedule_kind,
                             penalty_daily_rate, grace_days, allocation_order, needs_investigation, shipment_date,
                             signed_date)
       SELECT gen_random_uuid(), $1, ($3::uuid[])[1 + n % array_length($3::uuid[], 1)], 'BENCH-K-' || n, 'active',
              'approved', ($5::uuid[])[1 + n % array_length($5::uuid[], 1)], $4, $4, 'instalment_sale', 126000.00,
              0.00, 0.060000, 12, DATE '2026-01-31', 'annuity', 0.000500, 0, ARRAY['penalty', 'fee', 'interest',
              'principal'], false, DATE '2026-01-10', DATE '2026-01-05'
       FROM generate_series(1, $2::int - (SELECT count(*) FROM contract)::int) n""",
    """INSERT INTO ledger_account (contract_id, group_id, company_id, as_of, penalty_daily_rate, grace_days,
                                   outstanding_principal, overdue_principal, overdue_interest, overdue_fee,
                                   unpaid_penalty, overdue_amount, overdue_since, dpd, bucket, payoff, settled)
       SELECT c.id, c.group_id, c.company_id, current_date - 1, 0.000500, 0, 100000.00, 0, 0, 0, 0, 0, NULL, 0,
              'current', 100000.00, false
       FROM contract c WHERE c.number LIKE 'BENCH-K-%'""",
]
# Two standing entries per contract: an instalment's principal due 45 days ago, and a payment on every
# other contract 10 days ago.
ENTRIES = """
INSERT INTO ledger_entry (id, group_id, company_id, contract_id, kind, component, amount, value_date,
                          instalment_number, method)
SELECT gen_random_uuid(), a.group_id, a.company_id, a.contract_id, e.kind, e.component, e.amount, e.value_date,
       e.instalment_number, e.method
FROM ledger_account a
CROSS JOIN LATERAL (VALUES ('instalment_due', 'principal', 8000.00, current_date - 45, 1, NULL),
                           ('payment', NULL, 500.00, current_date - 10, NULL, 'bank_transfer')) AS
     e(kind, component, amount, value_date, instalment_number, method)
WHERE e.kind = 'instalment_due' OR get_byte(uuid_send(a.contract_id), 15) % 2 = 0
"""

SCENARIOS = [  # (label, user, path, service function, arguments, the report statement's marker)
    ("aging, group (admin)", "admin", "/api/v1/reports/aging", "aging", {"by": "company"}, "FROM ledger_account"),
    ("aging by collector, 7 companies (leader)", "leader", "/api/v1/reports/aging?by=collector", "aging",
     {"by": "collector"}, "FROM ledger_account"),
    ("collector performance, 30 days (admin)", "admin", "/api/v1/reports/collector-performance?from={start}",
     "collector_performance", {}, "WITH held"),
]


async def load(url: str, args: argparse.Namespace) -> None:
    conn = await asyncpg.connect(url)
    try:
        loaded = await conn.fetchval("SELECT count(*) FROM ledger_entry")
    finally:
        await conn.close()
    facts = await collection.load_cases(url, args)
    if loaded:
        print("contracts, entries: loaded by an earlier run (--data-dir)", flush=True)
        return
    started = time.perf_counter()
    conn = await asyncpg.connect(url)
    try:
        org = {r["username"]: r["id"] for r in await conn.fetch("SELECT id, username FROM app_user")}
        group_id = await conn.fetchval("SELECT group_id FROM app_user WHERE username = 'admin'")
        companies = [r["id"] for r in await conn.fetch(
            "SELECT id FROM company WHERE group_id = $1 ORDER BY code", group_id)]
        customers = [r["id"] for r in await conn.fetch(
            "SELECT id FROM customer WHERE group_id = $1 AND deleted_at IS NULL", group_id)]
        async with conn.transaction():
            await conn.execute(CURRENT[0], group_id, args.contracts, companies, org["sales2"], customers)
            await conn.execute(CURRENT[1])
            await conn.execute(ENTRIES)
        await conn.execute("VACUUM ANALYZE")
        counts = await conn.fetchrow("SELECT (SELECT count(*) FROM ledger_account) AS accounts, "
                                     "(SELECT count(*) FROM ledger_entry) AS entries")
        print(f"generated {counts['accounts']:,} contracts with accounts, {counts['entries']:,} ledger entries in "
              f"{time.perf_counter() - started:.1f}s", flush=True)
    finally:
        await conn.close()
    await collection.grow_logs(url, args.logs, facts["dispatcher"])


async def capture(url: str) -> dict[str, tuple[str, tuple[Any, ...]]]:
    """Each scenario's report statement with its parameters, as the service sends it."""
    from datetime import timedelta

    from sqlalchemy import event

    from app.core import db as core_db
    from app.org.repository import load_principal
    from app.reports import service

    engine = core_db.configure_engine(url)
    captured: dict[str, tuple[str, tuple[Any, ...]]] = {}
    try:
        for label, user, _path, function, kwargs, marker in SCENARIOS:
            seen: list[tuple[str, tuple[Any, ...]]] = []

            def before(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
                seen.append((statement, tuple(parameters or ())))  # noqa: B023 - the list of this scenario

            event.listen(engine.sync_engine, "before_cursor_execute", before)
            try:
                async with core_db.session_factory()() as session:
                    principal = await load_principal(session, floor._users[user][0])
                    if function == "aging":
                        await service.aging(session, principal, None, kwargs["by"])
                    else:
                        today = (await service.business_date_of(session, principal)).business_date
                        await service.collector_performance(session, principal, today - timedelta(days=30), None)
            finally:
                event.remove(engine.sync_engine, "before_cursor_execute", before)
            captured[label] = next(s for s in seen if marker in s[0])  # noqa: B023 - this scenario's
    finally:
        await engine.dispose()
    return captured


async def time_http(base: str, user: str, path: str, n: int) -> list[float]:
    headers = {"Authorization": f"Bearer {floor._mint(user)}"}
    samples = []
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        for i in range(n + 2):
            started = time.perf_counter()
            r = await client.get(path, headers=headers)
            elapsed = (time.perf_counter() - started) * 1000
            assert r.status_code == 200, r.text
            if i >= 2:
                samples.append(elapsed)
    return samples


async def time_sql(url: str, statement: str, parameters: tuple[Any, ...], n: int, explain: bool) -> list[float]:
    conn = await asyncpg.connect(url)
    samples = []
    try:
        for i in range(n + 2):
            started = time.perf_counter()
            await conn.fetch(statement, *parameters)
            if i >= 2:
                samples.append((time.perf_counter() - started) * 1000)
        if explain:
            plan = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {statement}", *parameters)
            print("\n".join(r[0] for r in plan), flush=True)
    finally:
        await conn.close()
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contracts", type=int, default=100_000)
    parser.add_argument("--cases", type=int, default=40_000, help="overdue contracts with an open case")
    parser.add_argument("--collector1", type=int, default=2_000, help="collector1's open cases")
    parser.add_argument("--logs", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=30, help="per scenario and side")
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--data-dir", help="keep the embedded PostgreSQL here; a later run skips the load")
    args = parser.parse_args()
    if args.cases > args.contracts or args.cases < args.collector1 + 30_000:
        parser.error("need collector1's cases + 30 000 (collector2's) <= --cases <= --contracts")

    os.environ["JWT_SECRET"] = "bench-secret-" + secrets.token_hex(24)
    os.environ.update({"ENVIRONMENT": "development", "RUN_SCHEDULER": "false", "LOG_LEVEL": "WARNING"})
    import app.domains  # noqa: F401 - every model mapped
    from app import embedded_db
    from app.cli import migrate

    keep: list[object] = []
    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="recourse-bench-")) / "pg"
    server, url = embedded_db.start(data_dir, cleanup="stop" if args.data_dir else "delete", database="bench_reports")
    keep.append(server)
    os.environ["DATABASE_URL"] = url
    migrate(url)
    asyncio.run(load(url, args))
    statements = asyncio.run(capture(url))
    from datetime import date, timedelta

    start = (date.today() - timedelta(days=30)).isoformat()
    rows = []
    with serve(url) as base:
        for label, user, path, _function, _kwargs, _marker in SCENARIOS:
            http = asyncio.run(time_http(base, user, path.format(start=start), args.requests))
            statement, parameters = statements[label]
            if args.explain:
                print(f"\n-- {label}", flush=True)
            bare = asyncio.run(time_sql(url, statement, parameters, args.requests, args.explain))
            rows.append((label, percentiles(http), percentiles(bare)))
    load_avg = os.getloadavg()
    print(f"\nreports at {args.contracts:,} contracts ({args.cases:,} overdue with cases), {args.logs:,} logs, "
          f"{args.requests} requests each, one at a time; load average {load_avg[0]:.1f}")
    print(f"{'scenario':44} {'API p50':>9} {'API p95':>9} {'SQL p50':>9} {'SQL p95':>9} {'API/SQL':>8}")
    for label, http, bare in rows:
        print(f"{label:44} {http['p50']:9.1f} {http['p95']:9.1f} {bare['p50']:9.1f} {bare['p95']:9.1f} "
              f"{http['p50'] / bare['p50']:8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
