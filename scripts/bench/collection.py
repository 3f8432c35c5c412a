"""Collections benchmark: the collector's worklist and a log create, at 100 000 logs and at 10 M
logs (issue 12), Recourse beside a bare asyncpg app running the same SQL, in the same run.

    .venv/bin/python scripts/bench/collection.py [--cases 100000] [--logs 100000 10000000]
        [--duration 5] [--rounds 3] [--connections 8] [--explain] [--data-dir DIR]

(Named `collection.py`, after app/collection: a `collections.py` here would shadow the standard
library's `collections` for every script in this folder, Python putting the script's folder first
on sys.path.) Needs `wrk` (`apt-get install -y wrk`). Steps:

1. A fresh embedded PostgreSQL in a temporary directory (kept in `--data-dir` if given, where a
   later run skips what is loaded), one database per size of `--logs`, each migrated, with the
   demo organisation and its 200 customers (dupcheck.py's `seed`).
2. In each, set-based with generate_series (not through the API), `--cases` open collection cases
   over the demo group's companies, each with its own active contract and ledger account (DPD
   1-200, bucket from the DPD, overdue amounts 1 060-50 060), the customers cycling over the
   demo's 200: collector1 holds `--collector1` of them (C01), collector2 30 000 (C01), collector3
   40 000 (C02), the rest (C03-C09) nobody. Priorities by the documented formula (never contacted).
3. Collection logs up to the database's size (spread over the cases, written by each case's
   collector or the dispatcher; bulk growth in batches of 1 M with the table's secondary indexes
   and primary key rebuilt afterwards and the foreign keys' triggers off: the rows are valid by
   construction), VACUUM ANALYZE.
4. The scenarios, captured per database:
   - the worklist of collector1, `GET /collection-cases?assigned_to=me&limit=50`: the first page
     and page 21 (the cursor walked over HTTP);
   - a log create, `POST /collection-cases/{id}/logs` as collector1, each request a new phone id on
     the next of collector1's cases (one of its customer's contacts, `call`/`no_answer`): only when
     the route exists.
   Each over HTTP against Recourse (one uvicorn worker per database) and against the bare app
   (collection_bare.py: floor_bare.py replaying the SQL Recourse sent for the same request,
   captured as floor.py does), all driven by the same wrk command; rounds interleave the sizes and
   the two apps (orders alternating), so a shared machine's drift falls on all; medians.
5. Prints req/s, p50, p99 per scenario and size, Recourse/bare, and each scenario's cost at the
   largest size over the smallest (target for the worklist: within 1.2x); `--explain` prints the
   worklist page's plans at each size (EXPLAIN ANALYZE, BUFFERS).

Figures from a machine shared with other work drift; the load average is printed beside them.
"""

import argparse
import asyncio
import itertools
import os
import pickle
import re
import secrets
import shutil
import signal
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import asyncpg  # noqa: E402
import floor  # noqa: E402
import httpx  # noqa: E402
from dupcheck import ROOT, seed, start_server  # noqa: E402, F401 - ROOT puts the app on the path

LIMIT = 50
DEPTH = 20  # the deep page is page DEPTH + 1
WORKLIST = f"/api/v1/collection-cases?assigned_to=me&limit={LIMIT}"
LOG_ROUTE = "/api/v1/collection-cases/{case_id}/logs"
BATCH = 1_000_000

# The cases, set-based. $1 companies (C01 first, C02 second), $2 cases, $3 customers, $4..$6 the
# collectors, $7 collector1's share, $8 group.
CASES = [
    """CREATE UNLOGGED TABLE bench_case AS
       SELECT n, gen_random_uuid() AS id, gen_random_uuid() AS contract_id,
              CASE WHEN n <= $7 + 30000 THEN ($1::uuid[])[1] WHEN n <= $7 + 70000 THEN ($1::uuid[])[2]
                   ELSE ($1::uuid[])[3 + n % (array_length($1::uuid[], 1) - 2)] END AS company_id,
              CASE WHEN n <= $7 THEN $4::uuid WHEN n <= $7 + 30000 THEN $5::uuid
                   WHEN n <= $7 + 70000 THEN $6::uuid END AS collector_id,
              ($3::uuid[])[1 + n % array_length($3::uuid[], 1)] AS customer_id,
              1 + (n * 7919) % 200 AS dpd, 1000.00 * (1 + n % 50) AS overdue_principal
       FROM generate_series(1, $2::int) n""",
    """INSERT INTO contract (id, group_id, company_id, number, state, status, customer_id, owner_id, requester_id,
                             sale_kind, price, down_payment, annual_rate, term_months, first_due_date, schedule_kind,
                             penalty_daily_rate, grace_days, allocation_order, needs_investigation, shipment_date)
       SELECT c.contract_id, $1, c.company_id, 'BENCH-C-' || c.n, 'active', 'approved', c.customer_id, $2, $2,
              'instalment_sale', 126000.00, 0.00, 0.060000, 12, DATE '2026-01-31', 'annuity',
              0.000500, 0, ARRAY['penalty', 'fee', 'interest', 'principal'], false, DATE '2026-01-10'
       FROM bench_case c""",
    """INSERT INTO ledger_account (contract_id, group_id, company_id, as_of, penalty_daily_rate, grace_days,
                                   outstanding_principal, overdue_principal, overdue_interest, overdue_fee,
                                   unpaid_penalty, overdue_amount, overdue_since, dpd, bucket, payoff, settled)
       SELECT c.contract_id, $1, c.company_id, current_date - 1, 0.000500, 0, 100000.00, c.overdue_principal,
              50.00, 0, 10.00, c.overdue_principal + 60.00, current_date - 1 - c.dpd, c.dpd,
              CASE WHEN c.dpd <= 30 THEN 'M1' WHEN c.dpd <= 60 THEN 'M2' WHEN c.dpd <= 90 THEN 'M3' ELSE 'M4+' END,
              100000.00 + c.overdue_principal + 60.00, false
       FROM bench_case c""",
    # priority = ((bucket rank x 2 + promise flag) x 10 000 + thousands) x 100 + days (99: never contacted)
    """INSERT INTO collection_case (id, group_id, company_id, contract_id, customer_id, state, opened_on,
                                    collector_id, assigned_at, priority)
       SELECT c.id, $1, c.company_id, c.contract_id, c.customer_id, 'open', current_date - c.dpd, c.collector_id,
              CASE WHEN c.collector_id IS NOT NULL THEN now() - interval '30 days' END,
              ((CASE WHEN c.dpd <= 30 THEN 1 WHEN c.dpd <= 60 THEN 2 WHEN c.dpd <= 90 THEN 3 ELSE 4 END) * 2 * 10000
               + floor((c.overdue_principal + 60.00) / 1000)::int) * 100 + 99
       FROM bench_case c""",
]

# Logs $2 + 1 .. $3 (the case of log g is case 1 + g % cases); $1 the author of unassigned cases.
LOGS = """
INSERT INTO collection_log (id, group_id, company_id, case_id, contract_id, author_id, person_name, person_relation,
                            action, result, notes, occurred_at, recorded_at, attachment_ids, body, evidence_mismatch)
SELECT gen_random_uuid(), cc.group_id, c.company_id, c.id, c.contract_id, coalesce(c.collector_id, $1),
       '现场负责人', '工地负责人', (ARRAY['call', 'visit', 'sms', 'wechat'])[1 + g % 4],
       (ARRAY['no_answer', 'refused', 'promised', 'unreachable', 'other'])[1 + g % 5], '基准日志 ' || g,
       t.at, t.at, '{}', '{}'::jsonb, false
FROM generate_series($2::bigint + 1, $3::bigint) g
JOIN bench_case c ON c.n = 1 + g % (SELECT count(*) FROM bench_case)
JOIN collection_case cc ON cc.id = c.id
CROSS JOIN LATERAL (SELECT now() - make_interval(secs => (g * 613) % (86400 * c.dpd)) AS at) t
"""


async def load_cases(url: str, args: argparse.Namespace) -> dict[str, Any]:
    conn = await asyncpg.connect(url)
    try:
        if await conn.fetchval("SELECT to_regclass('bench_case') IS NOT NULL"):  # a kept --data-dir
            for row in await conn.fetch("SELECT id, group_id, username FROM app_user"):
                floor._users[row["username"]] = (row["id"], row["group_id"])
            print("cases: loaded by an earlier run (--data-dir)", flush=True)
            return {"dispatcher": floor._users["dispatcher"][0]}
    finally:
        await conn.close()
    org = await seed(url, demo_customers=True)
    conn = await asyncpg.connect(url)
    try:
        started = time.perf_counter()
        codes = sorted(c for c, company in org.companies.items() if company.group_id == org.group.id)
        companies = [org.companies[c].id for c in codes]
        customers = [r["id"] for r in await conn.fetch(
            "SELECT DISTINCT cu.id FROM customer cu JOIN customer_contact cc ON cc.customer_id = cu.id "
            "WHERE cu.group_id = $1 AND cu.deleted_at IS NULL", org.group.id)]
        users = org.users
        async with conn.transaction():
            await conn.execute(CASES[0], companies, args.cases, customers, users["collector1"].id,
                               users["collector2"].id, users["collector3"].id, args.collector1)
            await conn.execute(CASES[1], org.group.id, users["sales1"].id)
            await conn.execute(CASES[2], org.group.id)
            await conn.execute(CASES[3], org.group.id)
        await conn.execute("VACUUM ANALYZE")
        for row in await conn.fetch("SELECT id, group_id, username FROM app_user"):
            floor._users[row["username"]] = (row["id"], row["group_id"])
        print(f"generated {args.cases:,} cases (collector1 {args.collector1:,}) in "
              f"{time.perf_counter() - started:.1f}s", flush=True)
        return {"dispatcher": users["dispatcher"].id}
    finally:
        await conn.close()


async def grow_logs(url: str, want: int, author: uuid.UUID, batch: int = BATCH) -> None:
    """Collection logs up to `want`. Bulk growth (more than a batch) drops the table's indexes and
    rebuilds them after, with the foreign keys' triggers off for the load."""
    started = time.perf_counter()
    conn = await asyncpg.connect(url)
    try:
        have = await conn.fetchval("SELECT count(*) FROM collection_log")
        if have >= want:
            print(f"collection_log: {have:,} rows already", flush=True)
            return
        bulk = want - have > batch
        indexes = [r["indexdef"] for r in await conn.fetch(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'collection_log' AND indexname <> 'pk_collection_log'")]
        referencing = await conn.fetch(
            "SELECT conrelid::regclass::text AS tbl, conname AS name, pg_get_constraintdef(oid) AS definition "
            "FROM pg_constraint WHERE confrelid = 'collection_log'::regclass AND contype = 'f'")
        if bulk:
            await conn.execute("SET session_replication_role = replica")  # FK triggers off: valid by construction
            await conn.execute("SET maintenance_work_mem = '1GB'")
            for name in [r["indexname"] for r in await conn.fetch(
                    "SELECT indexname FROM pg_indexes WHERE tablename = 'collection_log' "
                    "AND indexname <> 'pk_collection_log'")]:
                await conn.execute(f'DROP INDEX "{name}"')
            for fk in referencing:
                await conn.execute(f'ALTER TABLE {fk["tbl"]} DROP CONSTRAINT "{fk["name"]}"')
            await conn.execute("ALTER TABLE collection_log DROP CONSTRAINT pk_collection_log")
        for lo in range(have, want, batch):
            hi = min(want, lo + batch)
            await conn.execute(LOGS, author, lo, hi)
            print(f"  logs {hi:,} ({time.perf_counter() - started:.0f}s)", flush=True)
        if bulk:
            await conn.execute("ALTER TABLE collection_log ADD CONSTRAINT pk_collection_log PRIMARY KEY (id)")
            for definition in indexes:
                await conn.execute(definition)
            for fk in referencing:
                await conn.execute(f'ALTER TABLE {fk["tbl"]} ADD CONSTRAINT "{fk["name"]}" {fk["definition"]}')
            print(f"  indexes rebuilt ({time.perf_counter() - started:.0f}s)", flush=True)
        await conn.execute("VACUUM ANALYZE collection_log")
        size = await conn.fetchval("SELECT pg_size_pretty(pg_total_relation_size('collection_log'))")
        print(f"collection_log: {want:,} rows, {size} with indexes, in {time.perf_counter() - started:.0f}s",
              flush=True)
    finally:
        await conn.close()


# ---------------------------------------------------------------------------------------------
# Scenarios


def has_log_route() -> bool:
    from app.main import create_app

    return any(getattr(r, "operation_id", None) == "create_collection_log"
               for r in getattr(create_app(), "routes", []))


def cursor_at(base: str, token: str, depth: int) -> str:
    cursor = None
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        for _ in range(depth):
            response = client.get(WORKLIST + (f"&cursor={cursor}" if cursor else ""))
            response.raise_for_status()
            cursor = response.json()["next_cursor"]
            if cursor is None:
                raise SystemExit(f"collector1's worklist is shorter than {depth + 1} pages")
    return cursor


async def log_cases(url: str) -> dict[uuid.UUID, tuple[uuid.UUID, uuid.UUID, uuid.UUID]]:
    """collector1's open cases, each with (contract, customer, the customer's first contact)."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("""
            SELECT c.id, c.contract_id, c.customer_id,
                   (SELECT cc.contact_id FROM customer_contact cc WHERE cc.customer_id = c.customer_id
                    ORDER BY cc.contact_id LIMIT 1) AS contact_id
            FROM collection_case c JOIN app_user u ON u.id = c.collector_id
            WHERE u.username = 'collector1' AND c.state = 'open' ORDER BY c.id""")
        return {r["id"]: (r["contract_id"], r["customer_id"], r["contact_id"]) for r in rows}
    finally:
        await conn.close()


def log_body(log_id: str, contact_id: uuid.UUID, occurred_at: str) -> dict[str, Any]:
    return {"id": log_id, "contact_id": str(contact_id), "action": "call", "result": "no_answer",
            "notes": "基准: 无人接听", "occurred_at": occurred_at}


def log_kwargs(cases: dict[uuid.UUID, tuple]) -> Any:
    """The captured log creates: each later than the last and than wrk's earlier ones (a log that is
    not the case's latest contact leaves the case as it was; wrk's requests, 60 s in the past, come
    back to a case some seconds later, so nearly every one of them moves its case's last contact)."""
    started = time.time() - 30
    sent = itertools.count()

    def kwargs_for(scenario: floor.Scenario, token: str, access: str | None) -> dict[str, Any]:
        if scenario.body != "log":
            return floor.request_kwargs(scenario, token, access)
        case_id = uuid.UUID(scenario.path.split("/")[-2])
        occurred = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started + next(sent)))
        return {"headers": {"Authorization": f"Bearer {access}"},
                "json": log_body(str(uuid.uuid4()), cases[case_id][2], occurred)}

    return kwargs_for


def log_lua(access: str, cases: dict[uuid.UUID, tuple]) -> str:
    """Each request: the next of collector1's cases, a new phone id."""
    rows = ",\n".join(f'  {{"{case_id}", "{contact}"}}' for case_id, (_, _, contact) in cases.items())
    prefix = secrets.token_hex(4)
    return f"""wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {access}"
local cases = {{
{rows}
}}
local n = 0
request = function()
  n = n + 1
  local c = cases[(n % #cases) + 1]
  local id = string.format("{prefix}-0000-4000-8000-%012x", n)
  local at = os.date("!%Y-%m-%dT%H:%M:%SZ", os.time() - 60)
  local body = '{{"id":"' .. id .. '","contact_id":"' .. c[2] .. '","action":"call","result":"no_answer",' ..
               '"notes":"基准: 无人接听","occurred_at":"' .. at .. '"}}'
  return wrk.format(nil, "/api/v1/collection-cases/" .. c[1] .. "/logs", nil, body)
end
"""


def without_version_check(step: tuple) -> tuple:
    """The baseline replays one case's UPDATE on every case of the pool: it cannot know each case's
    version, so the version condition becomes an always-true test of the same parameter (the row is
    locked by then, as in Recourse)."""
    if step[0] == "sql" and step[1].lstrip().upper().startswith("UPDATE COLLECTION_CASE"):
        return (step[0], re.sub(r"collection_case\.version = (\$\d+(::\w+)?)", r"\1 IS NOT NULL", step[1]),
                *step[2:])
    return step


# ---------------------------------------------------------------------------------------------
# Measuring


async def explain(url: str, captured: dict[str, Any]) -> None:
    conn = await asyncpg.connect(url)
    try:
        from floor_bare import init_connection

        await init_connection(conn)
        for step in captured["steps"]:
            if step[0] != "sql" or "collection_case" not in step[1] and "customer_contact" not in step[1]:
                continue
            plan = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + step[1], *step[2])
            lines = [r[0] for r in plan]
            print(f"    -- {' '.join(step[1].split())[:100]}")
            for line in lines:
                print(f"    {line}")
    finally:
        await conn.close()


@dataclass
class Size:
    """One database of the run: its number of logs, its users, its pool of cases, its servers."""

    logs: int
    url: str
    users: dict[str, tuple[uuid.UUID, uuid.UUID]]
    cases: dict[uuid.UUID, tuple]
    scenarios: list[floor.Scenario] = field(default_factory=list)
    capture_file: str = ""
    bases: dict[str, str] = field(default_factory=dict)
    results: dict[str, dict[str, list[floor.WrkResult]]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.logs:,} logs"


def prepare(size: Size, args: argparse.Namespace, log_create: bool) -> None:
    """The size's deep cursor, its scenarios and their capture (written to a file for the baseline)."""
    floor._users.clear()
    floor._users.update(size.users)
    proc, base = start_server("app.main:create_app", {"DATABASE_URL": size.url})
    try:
        deep = cursor_at(base, floor.mint("collector1"), DEPTH)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    size.scenarios = [floor.Scenario("worklist, first page", "GET", WORKLIST, "collector1"),
                      floor.Scenario(f"worklist, page {DEPTH + 1}", "GET", f"{WORKLIST}&cursor={deep}", "collector1")]
    if log_create:
        size.scenarios.append(floor.Scenario("log create", "POST", LOG_ROUTE.format(case_id=next(iter(size.cases))),
                                             "collector1", body="log", expect=201))
    captured = asyncio.run(floor.capture(size.url, size.scenarios, log_kwargs(size.cases)))
    print(f"{size.label}:")
    for s in captured:
        s["steps"] = [without_version_check(step) for step in s["steps"]]
        if s["method"] == "POST" and not any(step[0] == "sql" and step[1].startswith("UPDATE collection_case")
                                             for step in s["steps"]):
            raise SystemExit("log create: the captured request did not update its case (not its latest contact?)")
        kinds = [step[0] for step in s["steps"]]
        print(f"  {s['name']:34} {kinds.count('sql'):3} statements captured", flush=True)
        if args.show_capture:
            for step in s["steps"]:
                full = step[0] == "sql" and step[1].startswith("UPDATE")
                print("      " + (step[1] if full else floor.describe(step)))
    if args.explain:
        print(f"  worklist first page at {size.label}:")
        asyncio.run(explain(size.url, captured[0]))
    log_route = next((s for s in captured if s["method"] == "POST"), None)
    with tempfile.NamedTemporaryFile("wb", suffix=".pickle", delete=False) as f:
        pickle.dump({"scenarios": captured, "database_url": size.url, "pool_max": floor.POOL_MAX, "password": "",
                     "password_hash": "", "log_path": log_route["path"] if log_route else None,
                     "log_case": uuid.UUID(log_route["path"].split("/")[-2]) if log_route else None,
                     "log_cases": size.cases}, f)
    size.capture_file = f.name
    size.results = {s.name: {"recourse": [], "bare": []} for s in size.scenarios}


def measure(sizes: list[Size], args: argparse.Namespace) -> None:
    """Every size's servers at once; rounds interleaved: per scenario, each size in turn (order
    alternating by round), Recourse and the baseline in turn (likewise), so the drift of a shared
    machine falls on all of them."""
    procs = []
    loads = [os.getloadavg()[0]]
    try:
        for size in sizes:
            env = {"DATABASE_URL": size.url, "FLOOR_CAPTURE": size.capture_file}
            for who, factory in (("recourse", "app.main:create_app"),
                                 ("bare", "scripts.bench.collection_bare:create_app")):
                proc, size.bases[who] = start_server(factory, env)
                procs.append(proc)
        for round_no in range(args.rounds):
            for i in range(len(sizes[0].scenarios)):
                for size in sizes if round_no % 2 == 0 else reversed(sizes):
                    floor._users.clear()
                    floor._users.update(size.users)
                    scenario = size.scenarios[i]
                    order = ["recourse", "bare"] if (round_no // 2) % 2 == 0 else ["bare", "recourse"]
                    for who in order:
                        access = floor.mint(scenario.user)
                        script = log_lua(access, size.cases) if scenario.body == "log" else None
                        size.results[scenario.name][who].append(
                            floor.run_wrk(size.bases[who], scenario, access, args.duration, args.connections, script))
                loads.append(os.getloadavg()[0])
            print(f"  round {round_no + 1}/{args.rounds} done (load {os.getloadavg()[0]:.1f})", flush=True)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=20)
        for size in sizes:
            os.unlink(size.capture_file)
    print(f"\nconcurrency {args.connections}, {args.duration}s x {args.rounds} rounds, interleaved, medians "
          f"(req/s, p50 ms, p99 ms); load average (1 min) {min(loads):.1f}-{max(loads):.1f}")
    for size in sizes:
        print(f"{size.label:34} {'Recourse':>24} {'bare':>24} {'ratio':>6}  errors")
        for scenario in size.scenarios:
            ours, base = (floor.median_result(size.results[scenario.name][k]) for k in ("recourse", "bare"))
            errors = (f"{ours.non_2xx}/{base.non_2xx} non-2xx, "
                      f"{ours.socket_errors + ours.timeouts}/{base.socket_errors + base.timeouts} socket/timeouts")
            print(f"  {scenario.name:32} {floor.fmt(ours)} {floor.fmt(base)} {ours.rps / base.rps:6.2f}  {errors}",
                  flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--collector1", type=int, default=2_000, help="collector1's open cases (default 2 000)")
    parser.add_argument("--logs", type=int, nargs="+", default=[100_000, 10_000_000], help="sizes, ascending")
    parser.add_argument("--batch", type=int, default=BATCH, help="logs per INSERT (default 1 M)")
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--explain", action="store_true", help="the worklist's plans at each size")
    parser.add_argument("--show-capture", action="store_true", help="print each scenario's captured steps")
    parser.add_argument("--no-log-create", action="store_true", help="the worklist only")
    parser.add_argument("--data-dir", help="keep the embedded PostgreSQL in this folder: a later run with the same "
                                           "folder skips what is loaded already (cases; logs up to the size)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if shutil.which("wrk") is None:
        print("wrk is not installed: `apt-get install -y wrk`", file=sys.stderr)
        return 2
    if args.collector1 < (DEPTH + 1) * LIMIT:
        parser.error(f"--collector1 must be at least {(DEPTH + 1) * LIMIT} (the deep page is page {DEPTH + 1})")

    os.environ["JWT_SECRET"] = "bench-secret-" + secrets.token_hex(24)
    os.environ.update({"ENVIRONMENT": "development", "RUN_SCHEDULER": "false", "LOG_LEVEL": "WARNING"})
    import app.domains  # noqa: F401 - every model mapped
    from app import embedded_db
    from app.cli import migrate

    keep: list[object] = []
    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="recourse-bench-")) / "pg"
    log_create = not args.no_log_create and has_log_route()
    if not log_create:
        print("log create: not measured (" + ("--no-log-create" if args.no_log_create else
                                              "no POST /collection-cases/{id}/logs on this branch") + ")")
    sizes = []
    for logs in sorted(args.logs):
        # One database per size in one embedded server (kept with --data-dir, deleted at exit without).
        server, url = embedded_db.start(data_dir, cleanup="stop" if args.data_dir else "delete",
                                        database=f"bench_logs_{logs}")
        keep.append(server)
        os.environ["DATABASE_URL"] = url
        migrate(url)
        facts = asyncio.run(load_cases(url, args))
        asyncio.run(grow_logs(url, logs, facts["dispatcher"], args.batch))
        sizes.append(Size(logs, url, dict(floor._users), asyncio.run(log_cases(url))))
    for size in sizes:
        prepare(size, args, log_create)
    measure(sizes, args)

    small, large = sizes[0], sizes[-1]
    if small is not large:
        print(f"\ncost at {large.label} over {small.label} (p50 ratio; target for the worklist: <= 1.2):")
        for scenario in small.scenarios:
            ours_s, bare_s = (floor.median_result(small.results[scenario.name][k]) for k in ("recourse", "bare"))
            ours_l, bare_l = (floor.median_result(large.results[scenario.name][k]) for k in ("recourse", "bare"))
            print(f"  {scenario.name:32} Recourse {ours_l.p50 / ours_s.p50:5.2f}  bare (the SQL) "
                  f"{bare_l.p50 / bare_s.p50:5.2f}   req/s {ours_s.rps:.0f} -> {ours_l.rps:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
