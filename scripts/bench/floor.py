"""The per-request floor: Recourse against a bare ASGI + asyncpg app running the same SQL (issue 16).

    .venv/bin/python scripts/bench/floor.py [--workers 1 2] [--duration 10] [--rounds 3] [--customers 1000000]

Needs `wrk` (a compiled load generator; `apt-get install -y wrk`, or build it from
https://github.com/wg/wrk). Steps:

1. A fresh embedded PostgreSQL in a temporary directory (or --database-url, a scratch database),
   migrations, the demo data (what `./scripts/run` serves).
2. Capture: each scenario's request is sent in-process three times (one warm-up, two captured)
   with SQLAlchemy's `before_cursor_execute` and asyncpg's query logger recording every statement
   and its parameters, BEGIN/COMMIT/ROLLBACK and pre-pings, pool checkouts and checkins and the
   password hash of a login. Values that differ between the two captures (new ids, timestamps,
   keys) are marked fresh, so the baseline's INSERTs do not collide.
3. Recourse (`app.main:create_app`) and the bare app (`floor_bare.py`, replaying the capture) under
   uvicorn with the same number of workers; both driven by the same wrk command (1 thread,
   `--connections` connections, a Lua script for bodies and headers), in interleaved rounds
   (Recourse first in even rounds, the baseline first in odd ones); medians over rounds.
4. No-op throughput while logins run: 8 logins a second, then 24 concurrent login loops; the
   logins' answers (200, 429 busy, 503) and wrk's errors and timeouts are reported.
5. With `--customers N`: scope_lists.py's benchmark (called, not copied): every scope kind's list
   page at demo size and at N customers, with the plans; exits 1 when a page's p50 at N is more
   than 1.2x its demo-size p50.

Figures from a machine shared with other work drift; compare each ratio within one run.
"""

import argparse
import asyncio
import collections
import os
import pickle
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import httpx  # noqa: E402
import scope_lists  # noqa: E402
from dupcheck import ROOT, start_embedded, start_server  # noqa: E402, F401 - ROOT also puts the app on the path

CREATORS = ["sales1", "sales2", "clerk1", "collector1", "collector2", "dispatcher", "investigator1", "approver1"]
POOL_MAX = 20  # the app's pool_size + max_overflow defaults; the baseline's pool gets the same


@dataclass
class Scenario:
    name: str
    method: str
    path: str  # with the query string; `{customer_id}` filled in after seeding
    user: str
    body: str | None = None  # "customer" (JSON, unique per request) or "login" (form)
    expect: int = 200


SCENARIOS = [
    Scenario("GET /notifications?limit=1 (no-op)", "GET", "/api/v1/notifications?limit=1", "admin"),
    Scenario("GET /me", "GET", "/api/v1/me", "admin"),
    Scenario("GET /customers/{id} (admin)", "GET", "/api/v1/customers/{customer_id}", "admin"),
    Scenario("GET /customers?limit=50 (clerk1)", "GET", "/api/v1/customers?limit=50", "clerk1"),
    Scenario("POST /customers", "POST", "/api/v1/customers", "sales1", body="customer", expect=201),
    Scenario("POST /auth/token", "POST", "/api/v1/auth/token", "clerk1", body="login"),
    # The debt core's hottest read. Its log create (a new phone id and a case per request) and both
    # at 10 M logs are measured by collection.py beside the same baseline.
    Scenario("GET /collection-cases?assigned_to=me&limit=50 (worklist)", "GET",
             "/api/v1/collection-cases?assigned_to=me&limit=50", "collector1"),
    # The same worklist as the phone asks for it (the hot path: core/hotsql.py).
    Scenario("GET mobile /worklist?limit=50", "GET", "/api/mobile/v1/worklist?limit=50", "collector1"),
]


# ---------------------------------------------------------------------------------------------
# Capture


@dataclass
class Recorder:
    steps: list[tuple] = field(default_factory=list)
    on: bool = False

    def add(self, step: tuple) -> None:
        if self.on:
            self.steps.append(step)


def install_recorder(engine, recorder: Recorder) -> None:  # noqa: ANN001
    import asyncpg
    from passlib.context import CryptContext
    from sqlalchemy import event
    from sqlalchemy.engine.interfaces import ExecuteStyle

    from app.core import security

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def before(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        # A batch of "insertmanyvalues" (several rows in one INSERT) is one execute of flat parameters.
        many = executemany and context is not None and context.execute_style is ExecuteStyle.EXECUTEMANY
        params = [tuple(p) for p in parameters] if many else tuple(parameters or ())
        recorder.add(("sql", statement, params, many))

    from app.core import hotsql

    # The hot path's statements (core/hotsql.py) run on the driver: as prepared statements like the rest.
    hotsql.listen(lambda statement, arguments: recorder.add(("sql", statement, tuple(arguments), False)))

    # What asyncpg sends outside prepared statements (BEGIN, COMMIT, ROLLBACK, the pre-ping's ";"),
    # recorded when called: its query logger reports later, through call_soon, out of order.
    def recording(original: Any) -> Any:
        async def wrapper(self, query: str, *args: Any, **kwargs: Any) -> Any:  # noqa: ANN001
            step = ("simple", query, tuple(args))
            steps = recorder.steps
            if recorder.on and query.startswith("BEGIN") and steps and steps[-1][0] == "sql":
                steps.insert(len(steps) - 1, step)  # SQLAlchemy begins lazily, after before_cursor_execute
            else:
                recorder.add(step)
            return await original(self, query, *args, **kwargs)

        return wrapper

    asyncpg.Connection.execute = recording(asyncpg.Connection.execute)
    asyncpg.Connection.fetchrow = recording(asyncpg.Connection.fetchrow)

    @event.listens_for(engine.sync_engine.pool, "checkout")
    def checkout(*_args: Any) -> None:
        recorder.add(("checkout",))

    @event.listens_for(engine.sync_engine.pool, "checkin")
    def checkin(*_args: Any) -> None:
        recorder.add(("checkin",))

    original = CryptContext.verify

    def verify(self, *args: Any, **kwargs: Any) -> bool:
        recorder.add(("verify",))
        return original(self, *args, **kwargs)

    context = security.password_context()
    context.verify = verify.__get__(context)  # type: ignore[method-assign]


def mark_fresh(first: Any, second: Any, token: str) -> Any:
    """`second` with every value that differs from `first` wrapped in Fresh (replaced per request)."""
    from scripts.bench.floor_bare import Fresh

    if isinstance(second, tuple) and isinstance(first, tuple) and len(first) == len(second):
        return tuple(mark_fresh(a, b, token) for a, b in zip(first, second, strict=True))
    if isinstance(second, list) and isinstance(first, list) and len(first) == len(second):
        return [mark_fresh(a, b, token) for a, b in zip(first, second, strict=True)]
    if first != second and isinstance(second, uuid.UUID | datetime | str):
        return Fresh(second, token if isinstance(second, str) and token in second else None)
    return second


def unshared_quota_lock(step: tuple) -> tuple:
    """The baseline replays one creator's requests: its quota lock key is made fresh per request,
    as Recourse's creates are spread over CREATORS and rarely wait for each other's lock."""
    from scripts.bench.floor_bare import Fresh

    if step[0] == "sql" and "advisory_xact_lock" in step[1] and str(step[2][0]).startswith("pool-quota:"):
        return (*step[:2], (Fresh(step[2][0], None), *step[2][1:]), *step[3:])
    return step


def request_kwargs(scenario: Scenario, token: str, access: str | None) -> dict[str, Any]:
    from app.demo.seed import DEMO_PASSWORD

    headers = {"Authorization": f"Bearer {access}"} if access else {}
    if scenario.body == "customer":
        headers["Idempotency-Key"] = f"bench-{token}"
        return {"headers": headers, "json": {"name": f"基准客户{token}", "confirm_duplicate": True}}
    if scenario.body == "login":
        return {"headers": headers, "data": {"username": scenario.user, "password": DEMO_PASSWORD}}
    return {"headers": headers}


async def capture(url: str, scenarios: list[Scenario], kwargs_for: Any = None) -> list[dict[str, Any]]:
    """`kwargs_for(scenario, token, access)`: the request's httpx arguments (default `request_kwargs`)."""
    from app.core import db
    from app.main import create_app

    engine = db.configure_engine(url)
    recorder = Recorder()
    install_recorder(engine, recorder)
    app = create_app()
    out = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        for scenario in scenarios:
            access = None if scenario.body == "login" else mint(scenario.user)
            runs, tokens = [], []
            for i in range(3):
                token = f"{secrets.randbelow(10**6):06d}{i:08d}"
                recorder.steps, recorder.on = [], i > 0
                response = await client.request(scenario.method, scenario.path,
                                                **(kwargs_for or request_kwargs)(scenario, token, access))
                recorder.on = False
                if response.status_code != scenario.expect:
                    raise SystemExit(f"{scenario.name}: {response.status_code} {response.text[:300]}")
                runs.append(recorder.steps)
                tokens.append(token)
            first, second = runs[1], runs[2]
            if [s[:2] for s in first] != [s[:2] for s in second]:
                raise SystemExit(f"{scenario.name}: two captures of the same request differ in their statements")
            steps = [unshared_quota_lock(mark_fresh(a, b, tokens[2]))
                     for a, b in zip(first, second, strict=True)]
            out.append({"name": scenario.name, "method": scenario.method, "path": scenario.path,
                        "status": scenario.expect, "steps": steps})
    await engine.dispose()
    return out


def describe(step: tuple) -> str:
    kind = step[0]
    if kind in ("sql", "simple"):
        text = " ".join(str(step[1]).split())
        return f"{kind:6} {text[:110]}"
    return kind


# ---------------------------------------------------------------------------------------------
# Load


def mint(username: str) -> str:
    """A fresh access token for a demo user (the server shares JWT_SECRET with this process)."""
    return _mint(username)


_users: dict[str, tuple[uuid.UUID, uuid.UUID]] = {}


def _mint(username: str) -> str:
    from app.core.security import create_access_token

    user_id, group_id = _users[username]
    return create_access_token(user_id=user_id, group_id=group_id)[0]


def lua_script(scenario: Scenario, access: str | None) -> str:
    from app.demo.seed import DEMO_PASSWORD

    lines = [f'wrk.method = "{scenario.method}"']
    if access and scenario.body != "customer":
        lines.append(f'wrk.headers["Authorization"] = "Bearer {access}"')
    if scenario.body == "login":
        lines += ['wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"',
                  f'wrk.body = "username={scenario.user}&password={DEMO_PASSWORD}"']
    if scenario.body == "customer":
        prefix = f"{secrets.randbelow(10**6):06d}"
        tokens = ", ".join(f'"Bearer {mint(user)}"' for user in CREATORS)
        lines += ['wrk.headers["Content-Type"] = "application/json"',
                  f"local tokens = {{{tokens}}}",
                  "local n = 0",
                  "request = function()",
                  "  n = n + 1",
                  '  wrk.headers["Authorization"] = tokens[(n % #tokens) + 1]',
                  f'  local token = string.format("{prefix}%08d", n)',
                  '  wrk.headers["Idempotency-Key"] = "bench-" .. token',
                  "  return wrk.format(nil, nil, nil,",
                  '    \'{"name":"基准客户\' .. token .. \'","confirm_duplicate":true}\')',
                  "end"]
    return "\n".join(lines) + "\n"


@dataclass
class WrkResult:
    rps: float
    p50: float  # ms
    p99: float
    non_2xx: int = 0
    socket_errors: int = 0
    timeouts: int = 0


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run_wrk(base: str, scenario: Scenario, access: str | None, duration: int, connections: int,
            script: str | None = None) -> WrkResult:
    """wrk against `base` + the scenario's path; `script`: the Lua script (default `lua_script`)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script or lua_script(scenario, access))
    try:
        out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "5s",
                              "-s", f.name, base + scenario.path], capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(f.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    non_2xx = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    socket_errors = sum(int(x) for x in errors.groups()[:3]) if errors else 0
    timeouts = int(errors.group(4)) if errors else 0
    return WrkResult(rps, p50, p99, non_2xx, socket_errors, timeouts)


class LoginLoad:
    """Logins beside the measured traffic: `rate` per second, or `concurrent` loops back to back."""

    def __init__(self, base: str, *, rate: float = 0, concurrent: int = 0) -> None:
        self.base, self.rate, self.concurrent = base, rate, concurrent
        self.statuses: collections.Counter[str] = collections.Counter()
        self.latencies: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def __enter__(self) -> "LoginLoad":
        self._thread.start()
        time.sleep(1)  # let it reach its rate before measuring
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    async def _login(self, client: httpx.AsyncClient, username: str) -> None:
        from app.demo.seed import DEMO_PASSWORD

        started = time.perf_counter()
        try:
            response = await client.post("/api/v1/auth/token", data={"username": username, "password": DEMO_PASSWORD})
            self.statuses[str(response.status_code)] += 1
        except httpx.HTTPError as exc:
            self.statuses[type(exc).__name__] += 1
        self.latencies.append((time.perf_counter() - started) * 1000)

    async def _run(self) -> None:
        users = ["clerk1", "sales1", "sales2", "collector1", "collector2", "dispatcher", "leader", "investigator1"]
        limits = httpx.Limits(max_connections=max(self.concurrent, 64))
        async with httpx.AsyncClient(base_url=self.base, timeout=10, limits=limits) as client:
            if self.rate:
                tasks = set()
                n = 0
                next_at = time.monotonic()
                while not self._stop.is_set():
                    task = asyncio.create_task(self._login(client, users[n % len(users)]))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                    n += 1
                    next_at += 1 / self.rate
                    await asyncio.sleep(max(0.0, next_at - time.monotonic()))
                await asyncio.gather(*tasks)
            else:
                async def loop(i: int) -> None:
                    while not self._stop.is_set():
                        await self._login(client, users[i % len(users)])

                await asyncio.gather(*(loop(i) for i in range(self.concurrent)))

    def summary(self) -> str:
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items()))
        p50 = statistics.median(self.latencies) if self.latencies else float("nan")
        return f"logins {sum(self.statuses.values())} ({statuses}), login p50 {p50:.0f} ms"


# ---------------------------------------------------------------------------------------------


def prepare_database(url: str) -> None:
    from app.cli import _seed, migrate

    migrate(url)
    asyncio.run(_seed(url, only_if_empty=True))


async def demo_facts(url: str) -> str:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        # The daily cap on new customers (20 a user) would turn the create scenario into 409s.
        await conn.execute("""
            INSERT INTO pool_rule (id, group_id, company_id, protection_days, reminder_days, extension_days,
                                   max_extensions_per_month, daily_claim_cap, daily_reminder_floor, count_weekends,
                                   reclaim_cooldown_days)
            SELECT gen_random_uuid(), group_id, id, 15, 5, 1, 5, 1000000000, 12, true, 7 FROM company
            ON CONFLICT (company_id) DO UPDATE SET daily_claim_cap = excluded.daily_claim_cap""")
        # One user's creates serialise on their quota lock until COMMIT (by design): spread the create
        # scenario over CREATORS, each given the salesperson role, so it measures the request instead.
        await conn.execute("""
            INSERT INTO user_role (user_id, role_id)
            SELECT u.id, r.id FROM app_user u JOIN role r ON r.group_id = u.group_id AND r.code = 'salesperson'
            WHERE u.username = ANY($1::text[]) ON CONFLICT DO NOTHING""", CREATORS)
        for row in await conn.fetch("SELECT id, group_id, username FROM app_user"):
            _users[row["username"]] = (row["id"], row["group_id"])
        return str(await conn.fetchval("SELECT id FROM customer WHERE deleted_at IS NULL ORDER BY created_at LIMIT 1"))
    finally:
        await conn.close()


def fmt(r: WrkResult) -> str:
    return f"{r.rps:8.0f} {r.p50:7.1f} {r.p99:7.1f}"


def median_result(results: list[WrkResult]) -> WrkResult:
    return WrkResult(statistics.median(r.rps for r in results), statistics.median(r.p50 for r in results),
                     statistics.median(r.p99 for r in results), sum(r.non_2xx for r in results),
                     sum(r.socket_errors for r in results), sum(r.timeouts for r in results))


def measure(workers: int, url: str, capture_file: str, args: argparse.Namespace) -> None:
    env = {"DATABASE_URL": url, "FLOOR_CAPTURE": capture_file}
    recourse, recourse_base = start_server("app.main:create_app", env, workers=workers)
    bare, bare_base = start_server("scripts.bench.floor_bare:create_app", env, workers=workers)
    try:
        results: dict[str, dict[str, list[WrkResult]]] = {s.name: {"recourse": [], "bare": []} for s in SCENARIOS}
        for round_no in range(args.rounds):
            for scenario in SCENARIOS:
                order = [("recourse", recourse_base), ("bare", bare_base)]
                for label, base in order if round_no % 2 == 0 else reversed(order):
                    access = None if scenario.body == "login" else mint(scenario.user)
                    duration = args.duration * 2 if scenario.body == "login" else args.duration
                    results[scenario.name][label].append(run_wrk(base, scenario, access, duration, args.connections))
            print(f"  round {round_no + 1}/{args.rounds} done", flush=True)

        print(f"\n{workers} worker(s), concurrency {args.connections}, {args.duration}s x {args.rounds} rounds, "
              "medians (req/s, p50 ms, p99 ms)")
        print(f"{'scenario':38} {'Recourse':>24} {'bare':>24} {'ratio':>6}  errors")
        for scenario in SCENARIOS:
            ours, base = (median_result(results[scenario.name][k]) for k in ("recourse", "bare"))
            errors = f"{ours.non_2xx} non-2xx, {ours.socket_errors + ours.timeouts} socket/timeouts"
            print(f"{scenario.name:38} {fmt(ours)} {fmt(base)} {ours.rps / base.rps:6.2f}  {errors}")

        noop = SCENARIOS[0]
        print("\nno-op throughput while logins run (Recourse):")
        alone = run_wrk(recourse_base, noop, mint(noop.user), args.duration, args.connections)
        print(f"  {'no logins':30} {fmt(alone)}")
        for label, load in (("8 logins/s", {"rate": 8}), ("24 concurrent logins", {"concurrent": 24})):
            with LoginLoad(recourse_base, **load) as logins:
                busy = run_wrk(recourse_base, noop, mint(noop.user), args.duration, args.connections)
            print(f"  {label:30} {fmt(busy)}  x{busy.rps / alone.rps:.2f} of alone; no-op {busy.non_2xx} non-2xx, "
                  f"{busy.socket_errors} socket errors, {busy.timeouts} timeouts; {logins.summary()}")
    finally:
        for proc in (recourse, bare):
            proc.terminate()
            proc.wait(timeout=20)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, nargs="+", default=[1], help="worker counts to run, e.g. 1 2")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (logins: twice that)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--database-url", help="a scratch database (default: a fresh embedded PostgreSQL)")
    parser.add_argument("--show-capture", action="store_true", help="print each scenario's captured steps")
    parser.add_argument("--customers", type=int, metavar="N",
                        help="then the scoped-list benchmark (scope_lists.py): every scope kind's list page with N "
                             "customers against demo size, acceptance: within 1.2x")
    parser.add_argument("--scope-requests", type=int, default=300, help="requests per scope-list line (default 300)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the clean-ups below and the database's
    if shutil.which("wrk") is None:
        print("wrk is not installed: `apt-get install -y wrk` (Debian/Ubuntu), `brew install wrk`, or build "
              "https://github.com/wg/wrk", file=sys.stderr)
        return 2

    os.environ.setdefault("JWT_SECRET", "bench-secret-" + secrets.token_hex(24))
    os.environ.update({"ENVIRONMENT": "development", "RUN_SCHEDULER": "false", "LOG_LEVEL": "WARNING"})
    keep: list[object] = []
    url = args.database_url or start_embedded(keep)
    os.environ["DATABASE_URL"] = url
    prepare_database(url)
    customer_id = asyncio.run(demo_facts(url))
    for scenario in SCENARIOS:
        scenario.path = scenario.path.replace("{customer_id}", customer_id)

    scenarios = asyncio.run(capture(url, SCENARIOS))
    from app.core.security import password_context
    from app.demo.seed import DEMO_PASSWORD

    print("statements per request (captured; pre-ping and BEGIN/COMMIT included):")
    for s in scenarios:
        kinds = collections.Counter(step[0] for step in s["steps"])
        print(f"  {s['name']:38} {kinds['sql']:3} statements, {kinds['simple']:3} simple (BEGIN/COMMIT/ping), "
              f"{kinds['checkout']} checkouts")
        if args.show_capture:
            for step in s["steps"]:
                print("      " + describe(step))
    with tempfile.NamedTemporaryFile("wb", suffix=".pickle", delete=False) as f:
        pickle.dump({"scenarios": scenarios, "database_url": url, "pool_max": POOL_MAX, "password": DEMO_PASSWORD,
                     "password_hash": password_context().hash(DEMO_PASSWORD)}, f)
    try:
        for workers in args.workers:
            measure(workers, url, f.name, args)
    finally:
        os.unlink(f.name)
    if args.customers:
        # Its own two databases (demo size and N customers) on its own embedded PostgreSQL.
        print(f"\nscoped lists at {args.customers:,} customers (scope_lists.py):", flush=True)
        return scope_lists.main(["--customers", str(args.customers), "--requests", str(args.scope_requests),
                                 "--rounds", str(args.rounds), "--explain"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
