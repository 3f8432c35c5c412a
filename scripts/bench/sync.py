"""Field sync benchmark (issue 14): a collector with 200 open cases syncs incrementally after 10
changes, and takes a full snapshot, in a database of `--cases` cases, `--logs` logs and
`--history` change-log rows of other users, Recourse beside a bare asyncpg app replaying the SQL
Recourse sent for the same request, in the same run.

    .venv/bin/python scripts/bench/sync.py [--cases 100000] [--logs 10000000] [--history 2000000]
        [--duration 5] [--rounds 3] [--connections 4] [--explain] [--data-dir DIR]

Needs `wrk`. Steps:

1. A fresh embedded PostgreSQL (kept in `--data-dir` if given), migrated, the demo organisation and
   its customers; collection.py's cases (collector1 holds `--collector1`, default 200) and logs
   (bulk, triggers off: history, not changes), then `--history` rows of the change log spread
   over the other users and the last 30 days (what a busy tenant's log holds), VACUUM ANALYZE.
2. collector1 takes a full snapshot over HTTP (its pages and their cursors kept), then 10 changes
   happen to their records (5 cases updated, 5 notifications), and the incremental sync's
   request is formed with the snapshot's cursor.
3. The scenarios (the incremental sync; each page of the full snapshot) are captured as floor.py
   does and replayed by floor_bare.py; both apps under uvicorn, driven by the same wrk command in
   interleaved rounds; medians. `--explain` prints the plan of the pending-changes query.
"""

import argparse
import asyncio
import os
import pickle
import secrets
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import asyncpg  # noqa: E402
import floor  # noqa: E402
import httpx  # noqa: E402
from collection import grow_logs, load_cases  # noqa: E402
from dupcheck import ROOT, start_server  # noqa: E402, F401 - ROOT puts the app on the path

SYNC = "/api/mobile/v1/sync"

# Other users' changes over the last 30 days: the log a busy tenant keeps (not collector1's).
HISTORY = """
INSERT INTO sync_change (user_id, kind, entity_id, xid, changed_at)
SELECT o.ids[1 + g % array_length(o.ids, 1)], (ARRAY['case', 'customer', 'log', 'notification'])[1 + g % 4],
       gen_random_uuid(), pg_current_xact_id()::text::bigint, now() - make_interval(secs => g % (86400 * 30))
FROM generate_series(1, $1::int) g,
     (SELECT array_agg(id) AS ids FROM app_user WHERE username <> 'collector1') o
"""
CHANGES = [
    """UPDATE collection_case SET next_action_date = current_date + 1, version = version + 1
       WHERE id IN (SELECT c.id FROM collection_case c JOIN app_user u ON u.id = c.collector_id
                    WHERE u.username = 'collector1' AND c.state = 'open' ORDER BY c.id LIMIT 5)""",
    """INSERT INTO notification (id, group_id, user_id, kind, title, created_at)
       SELECT gen_random_uuid(), u.group_id, u.id, 'bench', '基准通知 ' || g, now()
       FROM app_user u, generate_series(1, 5) g WHERE u.username = 'collector1'""",
]


async def load_history(url: str, rows: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        have = await conn.fetchval("SELECT count(*) FROM sync_change")
        if have < rows:
            await conn.execute(HISTORY, rows - have)
        await conn.execute("VACUUM ANALYZE")
        print(f"sync_change: {await conn.fetchval('SELECT count(*) FROM sync_change'):,} rows", flush=True)
    finally:
        await conn.close()


async def make_changes(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        for statement in CHANGES:
            await conn.execute(statement)
    finally:
        await conn.close()


def snapshot_paths(base: str, token: str) -> tuple[list[str], str, int]:
    """The full snapshot's page requests, its final cursor and how many records it carried."""
    paths, cursor, records = [SYNC], None, 0
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120) as client:
        while True:
            response = client.get(paths[-1])
            response.raise_for_status()
            page = response.json()
            records += sum(len(v["upserted"]) for v in page["changes"].values())
            cursor = page["cursor"]
            if not page["has_more"]:
                return paths, cursor, records
            paths.append(f"{SYNC}?cursor={quote(cursor)}")


async def explain(url: str, user_id: object, cursor_values: list) -> None:
    from app.field.repository import _PENDING

    _, snapshot, seq, *_ = cursor_values
    sql = str(_PENDING).replace(":user_id", "$1").replace(":snapshot", "$2").replace(":seq", "$3")
    sql = sql.replace(":limit", "$4")
    conn = await asyncpg.connect(url)
    try:
        for row in await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql, user_id, snapshot, seq, 501):
            print("    " + row[0])
    finally:
        await conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--collector1", type=int, default=200)
    parser.add_argument("--logs", type=int, default=10_000_000)
    parser.add_argument("--history", type=int, default=2_000_000, help="change-log rows of other users")
    parser.add_argument("--batch", type=int, default=1_000_000)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--data-dir")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if shutil.which("wrk") is None:
        print("wrk is not installed: `apt-get install -y wrk`", file=sys.stderr)
        return 2
    os.environ["JWT_SECRET"] = "bench-secret-" + secrets.token_hex(24)
    os.environ.update({"ENVIRONMENT": "development", "RUN_SCHEDULER": "false", "LOG_LEVEL": "WARNING"})
    import app.domains  # noqa: F401 - every model mapped
    from app import embedded_db
    from app.cli import migrate
    from app.core.pagination import decode_cursor
    from app.field.sync import CURSOR_SORT

    keep: list[object] = []
    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="recourse-bench-")) / "pg"
    server, url = embedded_db.start(data_dir, cleanup="stop" if args.data_dir else "delete", database="bench_sync")
    keep.append(server)
    os.environ["DATABASE_URL"] = url
    migrate(url)
    facts = asyncio.run(load_cases(url, args))
    asyncio.run(grow_logs(url, args.logs, facts["dispatcher"], args.batch))
    asyncio.run(load_history(url, args.history))

    proc, base = start_server("app.main:create_app", {"DATABASE_URL": url})
    try:
        paths, cursor, records = snapshot_paths(base, floor.mint("collector1"))
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    print(f"full snapshot: {len(paths)} pages, {records:,} records", flush=True)
    asyncio.run(make_changes(url))
    scenarios = [floor.Scenario("incremental sync, 10 changes", "GET", f"{SYNC}?cursor={quote(cursor)}",
                                "collector1")]
    scenarios += [floor.Scenario(f"full snapshot, page {i + 1}", "GET", p, "collector1") for i, p in enumerate(paths)]
    captured = asyncio.run(floor.capture(url, scenarios))
    for s in captured:
        print(f"  {s['name']:32} {sum(step[0] == 'sql' for step in s['steps']):3} statements captured", flush=True)
    if args.explain:
        print("  the pending-changes query:")
        asyncio.run(explain(url, floor._users["collector1"][0], decode_cursor(cursor, CURSOR_SORT, arity=6)))
    with tempfile.NamedTemporaryFile("wb", suffix=".pickle", delete=False) as f:
        pickle.dump({"scenarios": captured, "database_url": url, "pool_max": floor.POOL_MAX, "password": "",
                     "password_hash": ""}, f)
    results = {s.name: {"recourse": [], "bare": []} for s in scenarios}
    procs, bases = [], {}
    loads = [os.getloadavg()[0]]
    try:
        env = {"DATABASE_URL": url, "FLOOR_CAPTURE": f.name}
        for who, factory in (("recourse", "app.main:create_app"), ("bare", "scripts.bench.floor_bare:create_app")):
            proc, bases[who] = start_server(factory, env)
            procs.append(proc)
        for round_no in range(args.rounds):
            for scenario in scenarios:
                for who in ["recourse", "bare"] if round_no % 2 == 0 else ["bare", "recourse"]:
                    results[scenario.name][who].append(floor.run_wrk(
                        bases[who], scenario, floor.mint(scenario.user), args.duration, args.connections))
            loads.append(os.getloadavg()[0])
            print(f"  round {round_no + 1}/{args.rounds} done (load {os.getloadavg()[0]:.1f})", flush=True)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=20)
        os.unlink(f.name)
    print(f"\n{args.cases:,} cases, {args.logs:,} logs, {args.history:,} change-log rows; concurrency "
          f"{args.connections}, {args.duration}s x {args.rounds} rounds, interleaved, medians (req/s, p50 ms, "
          f"p99 ms); load average (1 min) {min(loads):.1f}-{max(loads):.1f}")
    print(f"{'scenario':34} {'Recourse':>24} {'bare':>24} {'ratio':>6}")
    totals = {"recourse": 0.0, "bare": 0.0}
    for scenario in scenarios:
        ours, bare = (floor.median_result(results[scenario.name][k]) for k in ("recourse", "bare"))
        if scenario.name.startswith("full"):
            totals["recourse"] += ours.p50
            totals["bare"] += bare.p50
        print(f"  {scenario.name:32} {floor.fmt(ours)} {floor.fmt(bare)} {ours.rps / bare.rps:6.2f}", flush=True)
    print(f"  full snapshot, all {len(paths)} pages: p50 sum {totals['recourse']:.1f} ms "
          f"(bare {totals['bare']:.1f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
