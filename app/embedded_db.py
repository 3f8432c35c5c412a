"""The embedded PostgreSQL (pgserver) used when no DATABASE_URL is given.

Its superuser (`postgres`) owns the tables and runs migrations; the app connects as the app role
(DATABASE_APP_ROLE), created here with LOGIN and no password: pgserver's initdb sets `trust`
authentication on its unix socket, and the server listens on no TCP address.

The server is stopped when its owner exits (`./scripts/run` on Ctrl-C or SIGTERM) through
`release`, which stops whatever postmaster runs on the data directory *now*, read from its
postmaster.pid: pgserver's own exit hook stops only the process it started itself and only when
no pid it ever registered remains, so a server restarted under the app (an outage drill, another
command that attached and died) was left running.
"""

import atexit
import contextlib
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

log = logging.getLogger("recourse.embedded_db")

DATABASE_NAME = "recourse"
_IDENTIFIER = r"[a-z_][a-z0-9_]{0,62}"


def create_role_sql(role: str) -> str:
    """Creates the login role if it does not exist (roles are cluster-wide: once per server)."""
    if not re.fullmatch(_IDENTIFIER, role):
        raise ValueError(f"unsafe role name {role!r}")
    return (f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') "
            f'THEN CREATE ROLE "{role}" LOGIN; END IF; END $$;')


def with_user(url: str, user: str) -> str:
    """The same server and database, logged in as `user` (no password)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}@{host}"))


def postmaster_pid(data_dir: Path) -> int | None:
    """The pid of the postmaster running on `data_dir` now (its postmaster.pid), or None."""
    try:
        pid = int((data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None  # a stale file: the server died without removing it
    except PermissionError:
        pass  # alive, owned by another user (pgserver's own when run as root)
    return pid


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop(data_dir: Path, *, system_user: str | None = None, timeout: float = 60) -> bool:
    """Stop the postmaster running on `data_dir` now, whoever started it (fast shutdown: open
    sessions are ended); answers whether one was running."""
    from pgserver._commands import pg_ctl  # noqa: PLC0415 - only needed without an external database

    pid = postmaster_pid(data_dir)
    if pid is None:
        return False
    try:
        pg_ctl(["-w", "-m", "fast", "-t", str(int(timeout)), "stop"], pgdata=data_dir, user=system_user,
               timeout=timeout + 5)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
        # pg_ctl could not do it (a broken data directory?): signal the postmaster itself, fast
        # shutdown first, then immediate.
        log.warning("pg_ctl stop failed on %s; signalling postmaster %s", data_dir, pid)
        for sig, wait in ((signal.SIGINT, 10.0), (signal.SIGQUIT, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
            deadline = time.monotonic() + wait
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if not _alive(pid):
                break
    return True


def release(server: Any) -> None:
    """This process lets go of `server`: unless another live process still holds it, the server
    running on its data directory now is stopped (and the directory deleted in "delete" mode).
    Idempotent; run at exit by the process that started or attached to it."""
    if not server.pgdata.exists():
        return  # deleted already (a test's temporary server): nothing runs on it
    handles = server.global_process_id_list
    with server._lock:  # pgserver's inter-process lock over its handle list
        # Handles of processes that died without letting go (killed, crashed) hold nothing.
        held = handles.get()
        others = [pid for pid in held if pid != os.getpid() and _alive(pid)]
        if others != held:
            handles.put(others)
    if others or server.cleanup_mode is None:
        return
    stop(server.pgdata, system_user=server.system_user)
    if server.cleanup_mode == "delete":
        shutil.rmtree(server.pgdata, ignore_errors=True)


_released_at_exit: set[Path] = set()


def exit_on_termination() -> None:
    """SIGTERM and SIGHUP end this process through SystemExit, so that its exit hooks (`release`)
    run; Python's default for them kills it outright. Handlers set by others are kept."""
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) is signal.SIG_DFL:
            signal.signal(sig, lambda signum, _frame: sys.exit(128 + signum))


def start(data_dir: Path, *, cleanup: str = "stop", database: str = DATABASE_NAME,
          app_role: str | None = None) -> tuple[Any, str]:
    """Start (or attach to) the embedded server in `data_dir`, creating `app_role` if given;
    return it and the owner's asyncpg URL (the app's is `with_user(url, app_role)`)."""
    import pgserver  # noqa: PLC0415 - only needed without an external database

    if not re.fullmatch(_IDENTIFIER, database):
        raise ValueError(f"unsafe database name {database!r}")
    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(str(data_dir), cleanup_mode=cleanup)
    if server.pgdata not in _released_at_exit:
        # Registered after pgserver's own hook, so it runs first (atexit is last in, first out)
        # and leaves pgserver's hook nothing to do: this process's handle is gone by then.
        _released_at_exit.add(server.pgdata)
        atexit.register(release, server)
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")  # noqa: S608 - checked above
    if "1 row" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    if app_role:
        server.psql(create_role_sql(app_role))
    uri = server.get_uri(database)  # postgresql://postgres:@/recourse?host=<socket dir>
    return server, uri
