"""The driver behind scripts/fuzz (see its header): a throwaway server, fuzz principals, schemathesis
over each OpenAPI document, and a one-line summary per failing check."""

import argparse
import collections
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "Demo@12345"  # the demo password (app.demo.seed.DEMO_PASSWORD); fuzz users get it too

# surface → (document, token endpoint, the user the fuzzer runs as)
DOCUMENTS = {
    "v1": ("openapi/v1.json", "/api/v1/auth/token", "fuzz-admin"),
    "mobile-v1": ("openapi/mobile-v1.json", "/api/mobile/v1/auth/token", "fuzz-field"),
}
PHASES = "examples,coverage,fuzzing,stateful"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/fuzz", description=__doc__)
    parser.add_argument("--max-time", type=int, default=int(os.environ.get("FUZZ_MAX_TIME", "600")),
                        help="seconds per document (default 600, or FUZZ_MAX_TIME)")
    parser.add_argument("--documents", default="v1,mobile-v1", help="comma-separated: v1, mobile-v1")
    parser.add_argument("--workers", default="2", help="schemathesis workers (default 2; 'auto' allowed)")
    parser.add_argument("--phases", default=PHASES, help=f"schemathesis phases (default {PHASES})")
    parser.add_argument("--checks", default="all", help="schemathesis checks (default all)")
    parser.add_argument("--seed", type=int, help="schemathesis seed, to replay a run")
    parser.add_argument("--port", type=int, help="server port (default: a free one)")
    parser.add_argument("--report-dir", type=Path, default=ROOT / ".data" / "fuzz",
                        help="reports (JUnit, NDJSON) and the server log go here (default .data/fuzz/)")
    parser.add_argument("--all-refusals", action="store_true",
                        help="also report refusals listed as business rules in scripts/fuzz_hooks.py")
    parser.add_argument("--keep-database", action="store_true", help="do not delete the throwaway database")
    args, extra = parser.parse_known_args(argv)
    args.extra = [a for a in extra if a != "--"]  # anything else goes to `schemathesis run` as is
    unknown = set(args.documents.split(",")) - set(DOCUMENTS)
    if unknown:
        parser.error(f"unknown documents: {', '.join(sorted(unknown))}")
    return args


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, data_dir: Path, log_path: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATA_DIR": str(data_dir),
        "ENVIRONMENT": "development",
        "LOG_LEVEL": "WARNING",
        "RUN_SCHEDULER": "false",
        # Fuzzed logins with wrong passwords must neither lock anybody the run depends on nor
        # throttle the fuzzer's own logins from 127.0.0.1 (names as in app/core/config.py; unknown
        # names are ignored, so the throttle settings are harmless before the throttle exists).
        "LOGIN_MAX_FAILURES_PER_DAY": "1000000000",
        "LOGIN_MAX_FAILURES_PER_ADDRESS": "1000000000",
        "LOGIN_MAX_FAILURES_PER_USERNAME": "1000000000",
        "LOGIN_MAX_FAILURES_PER_USERNAME_ADDRESS": "1000000000",
    }
    env.pop("DATABASE_URL", None)  # always the throwaway embedded database, never a configured one
    log = log_path.open("wb")
    return subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_ready(base: str, proc: subprocess.Popen, log_path: Path, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit("the fuzz server did not start:\n" + log_path.read_text(errors="replace")[-3000:])


def stop_server(proc: subprocess.Popen, data_dir: Path) -> None:
    if proc.poll() is None:
        proc.terminate()  # uvicorn shuts down; the CLI's exit handler stops the embedded PostgreSQL
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    pid_file = data_dir / "pg" / "postmaster.pid"
    if pid_file.exists():  # the server died without stopping its database
        from pgserver._commands import pg_ctl

        user = "pgserver" if os.geteuid() == 0 else None
        try:
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=data_dir / "pg", user=user)
        except Exception as exc:  # noqa: BLE001 - best effort, and say so
            print(f"could not stop the fuzz database in {data_dir}: {exc}", file=sys.stderr)


class Api:
    def __init__(self, base: str) -> None:
        self.client = httpx.Client(base_url=base, timeout=30)

    def login(self, username: str) -> None:
        response = self.client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
        response.raise_for_status()
        self.client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    def get(self, path: str) -> dict:
        response = self.client.get(path)
        response.raise_for_status()
        return response.json()

    def post(self, path: str, body: dict) -> dict:
        response = self.client.post(path, json=body)
        if response.status_code >= 400:
            raise SystemExit(f"setup failed: POST {path}: {response.status_code} {response.text}")
        return response.json()


def create_principals(base: str) -> dict[str, str]:
    """Dedicated users for the fuzzer, a decoy user and role, and what must stay untouched (as env)."""
    api = Api(base)
    api.login("admin")
    users = {u["username"]: u for u in api.get("/api/v1/users?limit=200")["items"]}
    roles = {r["code"]: r for r in api.get("/api/v1/roles?limit=200")["items"]}

    def mirror(username: str, like: str, role_codes: list[str]) -> dict:
        model = users[like]
        return api.post("/api/v1/users", {
            "username": username, "display_name": f"{username} (scripts/fuzz)", "password": PASSWORD,
            "company_id": model["company_id"], "department_id": model["department_id"],
            "role_ids": [roles[code]["id"] for code in role_codes],
        })

    admin_roles = [r["code"] for r in users["admin"]["roles"]]
    field_roles = sorted({r["code"] for r in users["approver1"]["roles"]} | {"collector"})
    fuzz_admin = mirror("fuzz-admin", "admin", admin_roles)
    fuzz_field = mirror("fuzz-field", "approver1", field_roles)
    decoy = mirror("fuzz-decoy", "clerk1", [r["code"] for r in users["clerk1"]["roles"]])
    decoy_role = api.post("/api/v1/roles", {"code": "fuzz_decoy", "name": "fuzz decoy", "permissions": [],
                                            "scope_kind": "self"})
    protected_users = [users["admin"], fuzz_admin, fuzz_field]
    return {
        "FUZZ_PROTECTED_USER_IDS": ",".join(u["id"] for u in protected_users),
        "FUZZ_PROTECTED_USERNAMES": ",".join([u["username"] for u in protected_users] + ["other-admin"]),
        "FUZZ_PROTECTED_ROLE_IDS": ",".join(sorted({roles[c]["id"] for c in admin_roles + field_roles})),
        "FUZZ_DECOY_USER_ID": decoy["id"],
        "FUZZ_DECOY_USERNAME": decoy["username"],
        "FUZZ_DECOY_ROLE_ID": decoy_role["id"],
        "FUZZ_PASSWORD": PASSWORD,
    }


def run_schemathesis(args: argparse.Namespace, surface: str, base: str, env: dict[str, str], out: Path) -> int:
    document, token_path, username = DOCUMENTS[surface]
    out.mkdir(parents=True, exist_ok=True)
    command = [
        str(Path(sys.executable).parent / "schemathesis"), "run", str(ROOT / document),
        "--url", base,
        "--checks", args.checks,
        "--phases", args.phases,
        "--max-time", str(args.max_time),
        "--workers", str(args.workers),
        "--continue-on-failure",
        "--suppress-health-check", "all",
        "--request-timeout", "30",
        "--generation-database", "none",
        "--report", "junit,ndjson",
        "--report-dir", str(out),
        "--no-color",
        # A throwaway server with demo credentials: show the whole request, so curl lines reproduce.
        "--output-sanitize", "false",
    ]
    if args.seed is not None:
        command += ["--seed", str(args.seed)]
    command += args.extra
    run_env = {**os.environ, **env, "SCHEMATHESIS_HOOKS": str(ROOT / "scripts" / "fuzz_hooks.py"),
               "FUZZ_BASE_URL": base, "FUZZ_TOKEN_PATH": token_path, "FUZZ_USERNAME": username,
               "FUZZ_KEEP_REFUSALS": "1" if args.all_refusals else "0"}
    print(f"\n=== scripts/fuzz: {document} as {username}, {args.max_time}s, phases {args.phases}\n", flush=True)
    # Run from the report directory: schemathesis keeps its crash cache (for `st replay <id>`) in
    # ./.schemathesis, which belongs there rather than in the work tree.
    return subprocess.run(command, cwd=out.parent, env=run_env, check=False).returncode


def failures_by_check(report_dir: Path) -> dict[str, set[str]]:
    """check name → the distinct operations that failed it, from the NDJSON event stream
    (failures a `filter_failure` hook dropped are not among the recorded checks)."""
    found: dict[str, set[str]] = collections.defaultdict(set)
    for path in report_dir.glob("*.ndjson"):
        for line in path.read_text(errors="replace").splitlines():
            recorder = json.loads(line).get("ScenarioFinished", {}).get("recorder", {})
            for checks in recorder.get("checks", {}).values():
                for check in checks:
                    if check.get("status") == "failure":
                        failure = (check.get("failure_info") or {}).get("failure") or {}
                        found[check["name"]].add(failure.get("operation") or recorder.get("label", "?"))
    return found


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    port = args.port or free_port()
    base = f"http://127.0.0.1:{port}"
    args.report_dir.mkdir(parents=True, exist_ok=True)
    data_dir = Path(tempfile.mkdtemp(prefix="recourse-fuzz-"))
    log_path = args.report_dir / "server.log"
    print(f"scripts/fuzz: starting a server on {base} with a throwaway database in {data_dir}", flush=True)
    proc = start_server(port, data_dir, log_path)
    results: dict[str, tuple[int, dict[str, set[str]]]] = {}
    try:
        wait_ready(base, proc, log_path)
        env = create_principals(base)
        for surface in args.documents.split(","):
            out = args.report_dir / surface
            shutil.rmtree(out, ignore_errors=True)
            code = run_schemathesis(args, surface, base, env, out)
            results[surface] = (code, failures_by_check(out))
    finally:
        stop_server(proc, data_dir)
        if not args.keep_database:
            shutil.rmtree(data_dir, ignore_errors=True)

    print("\n=== scripts/fuzz summary", flush=True)
    failed = False
    for surface, (code, by_check) in results.items():
        if not by_check:
            print(f"{surface}: no failures (schemathesis exit {code})")
        for check, operations in sorted(by_check.items()):
            print(f"{surface}: {check}: {len(operations)} operation(s): {', '.join(sorted(operations))}")
        failed = failed or code != 0 or bool(by_check)
    print(f"reports: {args.report_dir}/<document>/ (JUnit, NDJSON); server log: {log_path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
