"""Stopping `./scripts/run` (Ctrl-C or SIGTERM) stops the embedded PostgreSQL it started, even when
that server was restarted under it in between (an outage drill from another process that then
died): the owner stops whatever postmaster runs on its data directory now, not the process it
remembers from the start, and a dead process's handle does not keep the server alive."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil
import pytest

from app import embedded_db

DRILL = """
import os, sys
from pathlib import Path
import pgserver
from pgserver._commands import pg_ctl
server = pgserver.get_server(Path(sys.argv[1]), cleanup_mode="stop")
pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user)
server.ensure_postgres_running()
os._exit(0)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _postmasters_on(pgdata: Path) -> list[psutil.Process]:
    """Every postgres process whose command line names this data directory (the postmaster)."""
    found = []
    for proc in psutil.process_iter(attrs=["name", "cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if proc.info["name"] == "postgres" and str(pgdata) in cmdline:
            found.append(proc)
    return found


def _wait_ready(base: str, owner: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 180  # migrating a fresh database on a loaded 2-core machine
    while time.monotonic() < deadline and owner.poll() is None:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError("./scripts/run's server did not start: " + log.read_text(errors="replace")[-3000:])


@pytest.mark.fault
@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_stopping_run_stops_the_embedded_postgres_even_after_it_was_restarted_under_it(stop_signal):
    root = Path(tempfile.mkdtemp(prefix="recourse-run-stop-"))
    pgdata = (root / "pg").resolve()
    port = _free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "DATABASE_OWNER_URL", "TEST_DATABASE_URL")}
    env.update(DATA_DIR=str(root), ENVIRONMENT="test", RUN_SCHEDULER="false", LOG_LEVEL="WARNING")
    log_path = root / "run.log"
    # What ./scripts/run execs, on a data directory of its own.
    with log_path.open("wb") as log:
        owner = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--no-seed", "--workers", "1",
                                  "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_ready(f"http://127.0.0.1:{port}", owner, log_path)
        first = embedded_db.postmaster_pid(pgdata)
        assert first is not None
        # The outage drill, as tests/core/test_db_outage.py does it, from another process: attach to
        # the server, stop it under the app, start it again; the drill is then killed (no clean exit).
        # A new postmaster the owner never started, and a handle left behind by a dead process.
        subprocess.run([sys.executable, "-c", DRILL, str(pgdata)], env=env, check=True, timeout=120)
        second = embedded_db.postmaster_pid(pgdata)
        assert second is not None and second != first

        owner.send_signal(stop_signal)
        owner.wait(timeout=60)

        deadline = time.monotonic() + 10
        while _postmasters_on(pgdata) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _postmasters_on(pgdata) == [], log_path.read_text(errors="replace")[-3000:]
        assert embedded_db.postmaster_pid(pgdata) is None
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()
        for proc in _postmasters_on(pgdata):  # never leave one behind, whatever the outcome
            proc.kill()
        shutil.rmtree(root, ignore_errors=True)
