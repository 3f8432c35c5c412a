"""The embedded PostgreSQL (pgserver) used when no DATABASE_URL is given."""

import logging
import re
from pathlib import Path
from typing import Any

log = logging.getLogger("recourse.embedded_db")

DATABASE_NAME = "recourse"


def start(data_dir: Path, *, cleanup: str = "stop", database: str = DATABASE_NAME) -> tuple[Any, str]:
    """Start (or attach to) the embedded server in `data_dir`; return it and an asyncpg URL."""
    import pgserver  # noqa: PLC0415 - only needed without an external database

    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", database):
        raise ValueError(f"unsafe database name {database!r}")
    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(str(data_dir), cleanup_mode=cleanup)
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")  # noqa: S608 - checked above
    if "1 row" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    uri = server.get_uri(database)  # postgresql://postgres:@/recourse?host=<socket dir>
    return server, uri
