"""The embedded PostgreSQL (pgserver) used when no DATABASE_URL is given.

Its superuser (`postgres`) owns the tables and runs migrations; the app connects as the app role
(DATABASE_APP_ROLE), created here with LOGIN and no password: pgserver's initdb sets `trust`
authentication on its unix socket, and the server listens on no TCP address.
"""

import logging
import re
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


def start(data_dir: Path, *, cleanup: str = "stop", database: str = DATABASE_NAME,
          app_role: str | None = None) -> tuple[Any, str]:
    """Start (or attach to) the embedded server in `data_dir`, creating `app_role` if given;
    return it and the owner's asyncpg URL (the app's is `with_user(url, app_role)`)."""
    import pgserver  # noqa: PLC0415 - only needed without an external database

    if not re.fullmatch(_IDENTIFIER, database):
        raise ValueError(f"unsafe database name {database!r}")
    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(str(data_dir), cleanup_mode=cleanup)
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")  # noqa: S608 - checked above
    if "1 row" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    if app_role:
        server.psql(create_role_sql(app_role))
    uri = server.get_uri(database)  # postgresql://postgres:@/recourse?host=<socket dir>
    return server, uri
