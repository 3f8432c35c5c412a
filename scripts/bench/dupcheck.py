"""Duplicate-check benchmark: GET /api/v1/customers/duplicates against a real server over loopback.

    .venv/bin/python scripts/bench/dupcheck.py --customers 1000000 --requests 2000 --concurrency 4

Steps: a fresh embedded PostgreSQL in a temporary directory (or --database-url, which must be a
scratch database), migrations, the demo organisation, `--customers` generated in SQL with
generate_series (dupcheck_data.sql), ANALYZE; then uvicorn on 127.0.0.1 and the scenario. Every
figure is printed beside baselines measured in the same run: the same SQL through bare asyncpg
(what the endpoint adds on top of the query), and an authenticated no-op endpoint (what any
request costs: HTTP, JSON, token, principal).
"""

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("JWT_SECRET", "bench-secret-" + "x" * 32)

import asyncpg  # noqa: E402
import httpx  # noqa: E402

# The statements app/customers/repository.py issues (customers_by_name, customers_by phone).
NAME_SQL = """
SELECT id, name, status, category, secured_at, company_id, former_owner_id, pooled_at,
       word_similarity($2, name_norm) AS score
FROM customer
WHERE group_id = $1 AND deleted_at IS NULL AND ($2 <% name_norm OR name_norm LIKE $3)
ORDER BY score DESC, similarity(name_norm, $2) DESC, id LIMIT 20
"""
PHONE_SQL = """
SELECT id, name, status FROM customer
WHERE group_id = $1 AND deleted_at IS NULL AND phones @> ARRAY[$2]::varchar[] LIMIT 20
"""


def percentiles(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {"p50": float("nan"), "p95": float("nan"), "p99": float("nan")}
    q = statistics.quantiles(samples, n=100, method="inclusive")
    return {"p50": statistics.median(samples), "p95": q[94], "p99": q[98]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_embedded(keep: list[object]) -> str:
    """A fresh embedded PostgreSQL in a temporary directory, deleted at exit; returns its URL."""
    from app import embedded_db

    server, url = embedded_db.start(Path(tempfile.mkdtemp(prefix="recourse-bench-")) / "pg", cleanup="delete")
    keep.append(server)
    return url


def start_server(factory: str, env: dict[str, str], workers: int = 1, ready_path: str = "/readyz",
                 timeout: float = 60) -> tuple[subprocess.Popen, str]:
    """uvicorn serving `factory` (module:function) on a free loopback port, once it answers
    `ready_path`; returns (process, base url). The caller terminates the process."""
    port = free_port()
    env = {**os.environ, "ENVIRONMENT": "development", "RUN_SCHEDULER": "false", "LOG_LEVEL": "WARNING", **env}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", factory, "--factory", "--host", "127.0.0.1",
                             "--port", str(port), "--log-level", "warning", "--no-access-log",
                             "--workers", str(workers)], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{base}{ready_path}", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.terminate()
            raise SystemExit(f"{factory} did not start")
        time.sleep(0.3)


async def existing(url: str) -> tuple[str, list[str]]:
    conn = await asyncpg.connect(url)
    try:
        group_id = str(await conn.fetchval("SELECT id FROM org_group WHERE code = 'demo'"))
        sample = [r["name"] for r in await conn.fetch("SELECT name FROM customer TABLESAMPLE SYSTEM (1) LIMIT 200")]
    finally:
        await conn.close()
    return group_id, sample


def database(url: str | None, keep: list[object]) -> str:
    """`url`, or a fresh embedded PostgreSQL in a temporary directory (kept alive through `keep`)."""
    return url or start_embedded(keep)


async def seed(url: str, *, demo_customers: bool = False) -> Any:
    """The demo organisation (cheap argon2 parameters: the bench measures lists, not hashing),
    with the demo's 200 customers when asked; the DemoOrg."""
    from passlib.context import CryptContext
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    from app.core import db as core_db
    from app.core.db import to_async_url
    from app.customers.demo import seed_customers
    from app.demo.seed import DEMO_PASSWORD, seed_org

    engine = create_async_engine(to_async_url(url))
    fast = CryptContext(schemes=["argon2"], argon2__type="ID", argon2__memory_cost=1024, argon2__rounds=1)
    async with async_sessionmaker(engine, expire_on_commit=False)() as session:
        org = await seed_org(session, fast.hash(DEMO_PASSWORD))
        if demo_customers:
            await seed_customers(session, org)
        await core_db.commit(session)
    await engine.dispose()
    return org


@contextmanager
def serve(url: str) -> Iterator[str]:
    """uvicorn on a free loopback port against `url`, ready; yields its base URL."""
    proc, base = start_server("app.main:create_app", {"DATABASE_URL": url})
    try:
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def sign_in(base: str, username: str) -> str:
    from app.demo.seed import DEMO_PASSWORD

    return httpx.post(f"{base}/api/v1/auth/token", data={"username": username, "password": DEMO_PASSWORD}
                      ).json()["access_token"]


async def prepare(url: str, customers: int) -> tuple[str, list[str]]:
    org = await seed(url)
    group_id = str(org.group.id)
    conn = await asyncpg.connect(url)
    try:
        started = time.perf_counter()
        sql = (Path(__file__).parent / "dupcheck_data.sql").read_text()
        # A bulk load goes through GIN's pending list; the app's index has it off for steady reads.
        await conn.execute("ALTER INDEX ix_customer_name_norm_trgm SET (fastupdate = on)")
        await conn.execute(sql, org.group.id, org.companies["C01"].id, org.users["sales1"].id, customers)
        await conn.execute("ALTER INDEX ix_customer_name_norm_trgm SET (fastupdate = off)")
        await conn.execute("VACUUM ANALYZE customer")
        print(f"generated {customers:,} customers in {time.perf_counter() - started:.1f}s", flush=True)
        sample = [r["name"] for r in await conn.fetch(
            "SELECT name FROM customer TABLESAMPLE SYSTEM (1) LIMIT 200")]
        if not sample:
            sample = [r["name"] for r in await conn.fetch("SELECT name FROM customer LIMIT 200")]
    finally:
        await conn.close()
    return group_id, sample


def queries(sample: list[str], n: int, seed: int = 7) -> list[dict[str, str]]:
    """A mix like people type it: full names, names with spaces, shortened names, phones."""
    rng = random.Random(seed)
    out: list[dict[str, str]] = []
    for i in range(n):
        name = rng.choice(sample)
        kind = i % 4
        if kind == 0:
            out.append({"name": name})
        elif kind == 1:
            out.append({"name": name[:2] + " " + name[2:-4]})
        elif kind == 2:
            out.append({"name": name[2:-4]})
        else:
            out.append({"phone": f"139-{rng.randrange(0, 10000):04d}-{rng.randrange(0, 10000):04d}"})
    return out


async def run_http(base: str, token: str, path: str, params: list[dict[str, str]], concurrency: int
                   ) -> tuple[list[float], float]:
    latencies: list[float] = []
    queue: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    for p in params:
        queue.put_nowait(p)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        async def worker() -> None:
            while not queue.empty():
                p = queue.get_nowait()
                t0 = time.perf_counter()
                response = await client.get(path, params=p)
                latencies.append((time.perf_counter() - t0) * 1000)
                if response.status_code != 200:
                    raise SystemExit(f"{path} {p}: {response.status_code} {response.text[:200]}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return latencies, len(params) / elapsed


async def run_sql(url: str, group_id: str, params: list[dict[str, str]], concurrency: int
                  ) -> tuple[list[float], float]:
    from app.customers.normalize import normalize_name, normalize_phone

    pool = await asyncpg.create_pool(url, min_size=concurrency, max_size=concurrency)
    latencies: list[float] = []
    queue: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    for p in params:
        queue.put_nowait(p)

    async def worker() -> None:
        async with pool.acquire() as conn:
            while not queue.empty():
                p = queue.get_nowait()
                t0 = time.perf_counter()
                if "name" in p:
                    norm = normalize_name(p["name"])
                    await conn.fetch(NAME_SQL, group_id, norm, f"%{norm}%")
                else:
                    await conn.fetch(PHONE_SQL, group_id, normalize_phone(p["phone"]))
                latencies.append((time.perf_counter() - t0) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    await pool.close()
    return latencies, len(params) / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000, help="customers to generate (default 1M)")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--database-url", help="a scratch database (default: a fresh embedded PostgreSQL)")
    parser.add_argument("--skip-load", action="store_true",
                        help="with --database-url: reuse the data a previous run loaded there")
    args = parser.parse_args()

    keep: list[object] = []
    url = database(args.database_url, keep)
    if args.skip_load:
        group_id, sample = asyncio.run(existing(url))
    else:
        from app.cli import migrate

        migrate(url)
        group_id, sample = asyncio.run(prepare(url, args.customers))

    with serve(url) as base:
        token = sign_in(base, "sales2")
        work = queries(sample, args.requests)
        warm = queries(sample, args.warmup, seed=1)

        async def scenario() -> dict[str, tuple[list[float], float]]:
            await run_http(base, token, "/api/v1/customers/duplicates", warm, args.concurrency)
            await run_sql(url, group_id, warm, args.concurrency)
            return {
                "API GET /customers/duplicates": await run_http(base, token, "/api/v1/customers/duplicates", work,
                                                                args.concurrency),
                "baseline: same SQL, bare asyncpg": await run_sql(url, group_id, work, args.concurrency),
                "baseline: API GET /notifications (no-op)": await run_http(
                    base, token, "/api/v1/notifications", [{"limit": "1"}] * args.requests, args.concurrency),
            }

        results = asyncio.run(scenario())

    print(f"\nduplicate check, {args.customers:,} customers, {args.requests} requests, concurrency "
          f"{args.concurrency}, loopback {base}")
    print(f"{'scenario':44} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'req/s':>8}")
    for label, (latencies, rate) in results.items():
        p = percentiles(latencies)
        print(f"{label:44} {p['p50']:8.1f} {p['p95']:8.1f} {p['p99']:8.1f} {rate:8.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
