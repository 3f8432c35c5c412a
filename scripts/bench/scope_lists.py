"""Scoped-list benchmark: GET /api/v1/customers for every scope kind, at demo size and at scale.

    .venv/bin/python scripts/bench/scope_lists.py --customers 1000000 --requests 300 --concurrency 4

Steps (dupcheck.py's helpers): a fresh embedded PostgreSQL in a temporary directory with two
databases, each migrated and seeded with the demo organisation, its 200 customers and the
principals of scope_lists_data.sql (a department tree, a department, 297 salespeople); then
set-based customers from the same file: `--demo-customers` (12,000) in one, `--customers` (1M) in
the other, VACUUM ANALYZE; one uvicorn per database on 127.0.0.1. Per scope kind, the first page
and a deep page (the cursor `--depth` pages in, or the last page when the list is shorter), over
HTTP and as the same page's SQL through bare asyncpg, the two sizes taking turns batch by batch.
The table gives p50 and req/s per size and the ratio of the p50s (scale / demo; for a deep page
whose demo-size list is shorter than the depth, scale / the demo's first page, a full page);
`--explain` prints each first page's plan at scale.
"""

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import asyncpg  # noqa: E402
import httpx  # noqa: E402
from dupcheck import percentiles, run_http, seed, serve, sign_in  # noqa: E402

DATA_SQL = Path(__file__).parent / "scope_lists_data.sql"
# scope kind → user: all, companies (seven), company, department tree, department, self (owning
# many / a few with shares / nothing).
SCOPES = {
    "all (admin)": "admin",
    "companies (leader)": "leader",
    "company (clerk1)": "clerk1",
    "small company (bench_clerk9)": "bench_clerk9",
    "department tree (bench_depthead)": "bench_depthead",
    "department (bench_deptmgr)": "bench_deptmgr",
    "self, owns 10% of C01 (sales1)": "sales1",
    "self + shares (sales2)": "sales2",
    "sees nothing (collector3)": "collector3",
}
PATH = "/api/v1/customers"
LIMIT = 50


async def run_steps(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        for step in sql.split("-- step\n"):
            if step.strip():
                await conn.execute(step)
    finally:
        await conn.close()


async def load(url: str, customers: int) -> None:
    started = time.perf_counter()
    conn = await asyncpg.connect(url)
    try:
        # A bulk load goes through GIN's pending list; the app's index has it off for steady reads.
        await conn.execute("ALTER INDEX ix_customer_name_norm_trgm SET (fastupdate = on)")
        await conn.close()
        await run_steps(url, DATA_SQL.read_text().split("-- load\n")[1].replace(":customers", str(customers)))
        conn = await asyncpg.connect(url)
        await conn.execute("ALTER INDEX ix_customer_name_norm_trgm SET (fastupdate = off)")
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    print(f"generated {customers:,} customers in {time.perf_counter() - started:.1f}s", flush=True)


def cursor_at(base: str, token: str, depth: int) -> tuple[str | None, int]:
    """The cursor of page `depth + 1` (or of the last page), and how deep that is."""
    cursor, reached = None, 0
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        for _ in range(depth):
            params: dict[str, Any] = {"limit": LIMIT, **({"cursor": cursor} if cursor else {})}
            following = client.get(PATH, params=params).json()["next_cursor"]
            if following is None:
                break
            cursor, reached = following, reached + 1
    return cursor, reached


async def page_sql(url: str, username: str, cursor: str | None) -> str:
    """The SQL the list issues for this user and cursor (app.customers.router.list_customers)."""
    from sqlalchemy import select
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

    import app.domains  # noqa: F401 - every model mapped
    from app.core.db import to_async_url
    from app.core.pagination import PageParams, SortKey, page_statement
    from app.customers import repository as repo
    from app.customers.models import Customer
    from app.customers.router import CustomerFilters
    from app.org.models import User
    from app.org.repository import load_principals

    engine = create_async_engine(to_async_url(url))
    try:
        async with AsyncSession(engine) as session:
            user_id = await session.scalar(select(User.id).where(User.username == username))
            principal = (await load_principals(session, [user_id]))[user_id]
    finally:
        await engine.dispose()
    sort = SortKey("-created_at", Customer.created_at, True)  # the list's default
    stmt = page_statement(repo.filter_customers(repo.readable_customers(principal), CustomerFilters()),
                          PageParams(LIMIT, cursor), sort, Customer.id)
    return str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))


async def run_sql(url: str, sql: str, n: int, concurrency: int) -> tuple[list[float], float]:
    pool = await asyncpg.create_pool(url, min_size=concurrency, max_size=concurrency)
    latencies: list[float] = []
    left = [n]

    async def worker() -> None:
        async with pool.acquire() as conn:
            while left[0] > 0:
                left[0] -= 1
                t0 = time.perf_counter()
                await conn.fetch(sql)
                latencies.append((time.perf_counter() - t0) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    await pool.close()
    return latencies, n / elapsed


def measure(sizes: dict[str, tuple[str, str, dict[str, str]]], args: argparse.Namespace
            ) -> dict[tuple[str, str, str, str], tuple[float, float, int]]:
    """(size, scope, page, http|sql) → (p50 ms, req/s, depth). `sizes`: size → (database url,
    server base, tokens). The sizes take turns, batch by batch, so drift on a shared machine
    falls on both alike."""
    out: dict[tuple[str, str, str, str], tuple[float, float, int]] = {}
    for label, username in SCOPES.items():
        for page in ("first", "deep"):
            work: dict[str, tuple[list[dict[str, str]], str, int]] = {}
            for size, (url, base, tokens) in sizes.items():
                cursor, at = cursor_at(base, tokens[username], args.depth) if page == "deep" else (None, 0)
                work[size] = ([{"limit": str(LIMIT), **({"cursor": cursor} if cursor else {})}],
                              asyncio.run(page_sql(url, username, cursor)), at)
            samples = {(size, via): ([], 0.0) for size in sizes for via in ("http", "sql")}
            batch = max(1, args.requests // args.rounds)

            async def one_round(warm: bool = False, work: Any = work, username: str = username,
                                samples: Any = samples, batch: int = batch) -> None:
                n = max(1, batch // 5) if warm else batch
                for size, (url, base, tokens) in sizes.items():
                    params, sql, _ = work[size]
                    for via, run in (("http", run_http(base, tokens[username], PATH, params * n, args.concurrency)),
                                     ("sql", run_sql(url, sql, n, args.concurrency))):
                        latencies, rate = await run
                        if not warm:
                            kept, elapsed = samples[(size, via)]
                            samples[(size, via)] = (kept + latencies, elapsed + n / rate)

            asyncio.run(one_round(warm=True))
            for _ in range(args.rounds):
                asyncio.run(one_round())
            for (size, via), (latencies, elapsed) in samples.items():
                out[(size, label, page, via)] = (percentiles(latencies)["p50"], len(latencies) / elapsed,
                                                 work[size][2])
    return out


async def explain(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        for label, username in SCOPES.items():
            plan = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, SUMMARY ON) " + await page_sql(
                url, username, None))
            print(f"\n--- {label}: first page, newest first")
            for row in plan:
                line = row[0]
                if any(k in line for k in ("Scan", "Merge Append", "Limit", "Nested Loop", "Sort  ", "Unique",
                                           "Rows Removed", "Execution Time", "Planning Time", "Buffers: shared")):
                    print(line)
    finally:
        await conn.close()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; `argv` as on the command line (floor.py --customers passes its own)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000, help="customers to generate (default 1M)")
    parser.add_argument("--demo-customers", type=int, default=12_000,
                        help="generated customers at demo size, beside the demo's 200 (default 12,000), so that "
                             "every scope but collector3's has a full first page at both sizes (C09, the smallest "
                             "company, holds 0.5 %%: 60)")
    parser.add_argument("--requests", type=int, default=300, help="requests per scenario, size and way")
    parser.add_argument("--rounds", type=int, default=3, help="alternating batches per scenario (default 3)")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--depth", type=int, default=21, help="cursor pages for the deep page (default 21)")
    parser.add_argument("--explain", action="store_true", help="print each scope's first-page plan at scale")
    args = parser.parse_args(argv)

    from app import embedded_db
    from app.cli import migrate

    data_dir = Path(tempfile.mkdtemp(prefix="recourse-bench-")) / "pg"
    urls: dict[str, str] = {}
    keep: list[object] = []
    for size, customers in (("demo", args.demo_customers), ("scale", args.customers)):
        server, urls[size] = embedded_db.start(data_dir, cleanup="delete", database=f"bench_{size}")
        keep.append(server)
        migrate(urls[size])
        asyncio.run(seed(urls[size], demo_customers=True))
        asyncio.run(run_steps(urls[size], DATA_SQL.read_text().split("-- load\n")[0]))
        asyncio.run(load(urls[size], customers))
    with serve(urls["demo"]) as demo_base, serve(urls["scale"]) as scale_base:
        sizes = {size: (urls[size], base, {u: sign_in(base, u) for u in SCOPES.values()})
                 for size, base in (("demo", demo_base), ("scale", scale_base))}
        results = measure(sizes, args)
    if args.explain:
        asyncio.run(explain(urls["scale"]))

    print(f"\nGET {PATH}?limit={LIMIT} (newest first): demo size (200 + {args.demo_customers:,} customers) vs "
          f"{args.customers:,}; {args.requests} requests per line in {args.rounds} alternating rounds, concurrency "
          f"{args.concurrency}; http = uvicorn over loopback, sql = the same page's SQL through bare asyncpg")
    print(f"{'scope':34} {'page':10} {'via':4} {'demo ms':>8} {'req/s':>7} {'scale ms':>9} {'req/s':>7} "
          f"{'ratio':>6}")
    worst = 0.0
    for label in SCOPES:
        for page in ("first", "deep"):
            for via in ("http", "sql"):
                ms, rate, at = results[("demo", label, page, via)]
                big_ms, big_rate, big_at = results[("scale", label, page, via)]
                # A demo-size list shorter than the depth has no such page: its deep page is the
                # last, partly empty one; the reference for a full deep page is then the first.
                ref = ms if at == big_at else results[("demo", label, "first", via)][0]
                ratio = big_ms / ref
                if via == "http":
                    worst = max(worst, ratio)
                where = page if page == "first" else f"{page} {at}/{big_at}"
                print(f"{label:34} {where:10} {via:4} {ms:8.2f} {rate:7.0f} {big_ms:9.2f} {big_rate:7.0f} "
                      f"{ratio:6.2f}{'' if ref is ms else ' (vs demo first page)'}")
    print(f"\nworst http ratio (scale / demo p50): {worst:.2f} (acceptance: <= 1.2)")
    return 0 if worst <= 1.2 else 1


if __name__ == "__main__":
    sys.exit(main())
