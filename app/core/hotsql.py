"""Hot reads: statements compiled once, run on the request's own asyncpg connection.

Why: SQLAlchemy's async session costs far more per statement than the statement itself. Measured on
the 2-core machine (`scripts/bench/stack_ceiling.py`), a FastAPI route running two small SELECTs
answers about 2,400 req/s through `AsyncSession.execute` and about 4,100 req/s running the same SQL
on the session's asyncpg connection (a bare asyncpg app: 10,000): statement building, the cache
key, the greenlet hop and result processing are per statement. The requests every user makes all day (the principal
check on every request, notifications, the worklist) take this path; everything else keeps the
ORM.

- `Prepared(stmt)`: a Core statement compiled once for asyncpg. Values that change per request are
  `bindparam("name")` in the statement and passed by name to `fetch`; anything else (a principal's
  ids from `readable()`) is baked in when it is compiled, so the cache key must name whatever shaped
  the statement (see `Statements`).
- Rows come back as asyncpg `Record`s (by name or position) with asyncpg's own types (UUID, Decimal,
  datetime, date; JSON decoded by the codec SQLAlchemy installs on its connections).
- The statement runs on the same connection as the request's session, so it sees what the session
  sees (the request's writes, a test's rolled-back transaction). One exception: SQLAlchemy begins a
  transaction lazily, at its own first statement, so a hot statement that comes first in a writing
  request (the principal stamp) reads just before that transaction begins, in its own snapshot.
  Reads only: a write here would bypass the unit of work.
"""

import re
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import asyncpg
import pydantic_core
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable
from starlette.responses import Response

_DIALECT = asyncpg_dialect()


# A parameter as the asyncpg dialect writes it: `$n`, with the cast SQLAlchemy adds for its type
# (`$1::UUID`, `$2::VARCHAR(40)`, `$3::TIMESTAMP WITH TIME ZONE`, `$4::UUID[]`).
_PARAMETER = re.compile(
    r"\$(\d+)(?!\d)(?:::(?:(?:TIMESTAMP|TIME)(?: WITH(?:OUT)? TIME ZONE)?|DOUBLE PRECISION"
    r"|[A-Z_]+(?:\(\d+(?:, ?\d+)?\))?)(?:\[\])*)?")
# A string literal ('' inside it is a quote): left as it is, whatever `$n` it holds.
_QUOTED = re.compile(r"('(?:[^']|'')*')")


def opaque_parameters(sql: str, hidden: Callable[[int], bool]) -> str:
    """`sql` with each parameter `$n` for which `hidden(n)` holds read through a one-row sub-select:
    `(SELECT $1::UUID)`. String literals are left as they are.

    Why: PostgreSQL plans a prepared statement for its values five times, then keeps one generic
    plan only if that plan's estimated cost is no higher than the custom plans' average. For a page
    of a scoped list the custom plans (which see the caller's company or user id, and the cursor)
    are estimated a few per cent cheaper, so at 1M rows PostgreSQL re-planned on every execution,
    while at demo size it kept the generic plan: `scripts/bench/scope_lists.py` measured 1.2-1.4x
    growth from that alone. A sub-select's value is unknown to every plan, custom or generic, so
    both are estimated alike and the generic plan (the same index walk: who asks and where in the
    list do not change the best plan) is kept after five runs, at any size. Each sub-select runs
    once per execution (an InitPlan): microseconds. A value that does change the best plan (what a
    user searches for) must stay in view: hidden, a rare name's search walked the whole table."""
    def hide(match: re.Match[str]) -> str:
        return f"(SELECT {match.group(0)})" if hidden(int(match.group(1))) else match.group(0)

    parts = _QUOTED.split(sql)
    parts[::2] = [_PARAMETER.sub(hide, part) for part in parts[::2]]
    return "".join(parts)



class Prepared:
    """A statement compiled once: its SQL, its parameters in order and how to bind each.

    `hide`: the parameters whose names start with one of these are hidden from the planner
    (`opaque_parameters`): values that do not change the best plan (the pages of `paginate_hot`
    hide the caller's scope and the cursor)."""

    __slots__ = ("sql", "_order", "_fixed", "_process")

    def __init__(self, stmt: Executable, *, hide: tuple[str, ...] = ()) -> None:
        compiled = stmt.compile(dialect=_DIALECT, compile_kwargs={"render_postcompile": True})
        self._order: tuple[str, ...] = tuple(compiled.positiontup or ())
        self.sql: str = compiled.string
        if hide:
            self.sql = opaque_parameters(self.sql, lambda n: self._order[n - 1].startswith(hide))
        self._fixed: dict[str, Any] = dict(compiled.params)
        self._process = {name: processor for name in self._order
                         if (processor := _bind_type(compiled, name)._cached_bind_processor(_DIALECT)) is not None}

    def arguments(self, values: dict[str, Any]) -> list[Any]:
        """The positional arguments: named values given now, the compiled-in ones otherwise."""
        out = []
        for name in self._order:
            value = values[name] if name in values else self._fixed[name]
            processor = self._process.get(name)
            out.append(value if processor is None or value is None else processor(value))
        return out

    async def fetch(self, session: AsyncSession, **values: Any) -> list[asyncpg.Record]:
        connection, arguments = await driver(session), self.arguments(values)
        for listener in _listeners:
            listener(self.sql, arguments)
        try:
            return await connection.fetch(self.sql, *arguments)
        except Exception as exc:
            if connection.is_closed():
                await _lost(session, exc)
                raise ConnectionLost(f"the database connection was lost: {exc}") from exc
            raise

    async def fetchrow(self, session: AsyncSession, **values: Any) -> asyncpg.Record | None:
        rows = await self.fetch(session, **values)
        return rows[0] if rows else None


# Called with (sql, arguments) before each statement: the query-count fixture and the floor
# benchmark's capture count these beside SQLAlchemy's `before_cursor_execute`.
StatementListener = Callable[[str, list[Any]], None]
_listeners: list[StatementListener] = []


def listen(listener: StatementListener) -> None:
    _listeners.append(listener)


def unlisten(listener: StatementListener) -> None:
    _listeners.remove(listener)


def _bind_type(compiled: Any, name: str) -> Any:
    """The type of a parameter; an IN list expanded at compile time names each value `<key>_<n>`."""
    bind = compiled.binds[name] if name in compiled.binds else compiled.binds[name.rsplit("_", 1)[0]]
    return bind.type


class Statements:
    """Prepared statements by key, built on first use; a bounded LRU (one per worker)."""

    def __init__(self, size: int = 4096, *, hide: tuple[str, ...] = ()) -> None:
        self._size = size
        self._hide = hide
        self._entries: OrderedDict[Hashable, Prepared] = OrderedDict()

    def get(self, key: Hashable, build: Callable[[], Executable]) -> Prepared:
        prepared = self._entries.get(key)
        if prepared is None:
            prepared = self._entries[key] = Prepared(build(), hide=self._hide)
            if len(self._entries) > self._size:
                self._entries.popitem(last=False)
        else:
            self._entries.move_to_end(key)
        return prepared

    def __len__(self) -> int:
        return len(self._entries)


class ConnectionLost(ConnectionError):
    """The connection died under a hot statement (the database restarted or went away). A
    ConnectionError, so the middleware answers 503 with Retry-After, as for SQLAlchemy's own."""


async def _lost(session: AsyncSession, exc: BaseException) -> None:
    """What SQLAlchemy does when a statement of its own meets a dead connection
    (`Connection._handle_dbapi_exception`): this connection is invalidated, and so is every one the
    pool made before it (they died with it), so the next checkouts reconnect instead of failing."""
    session.info.pop(_DRIVER, None)
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    connection.sync_engine.pool._invalidate(raw, exc)  # the pool-wide half has no public name
    await connection.invalidate(exc)


_DRIVER = "hotsql_driver"


async def driver(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection beneath the session (checked out now if it was not yet), remembered in
    the session's info with the transaction it belongs to: after a commit or a rollback the session
    may hold another connection, and the one remembered may already serve somebody else."""
    transaction = session.get_transaction()
    found = session.info.get(_DRIVER)
    if found is not None and transaction is not None and found[0] is transaction:
        return found[1]
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    session.info[_DRIVER] = (session.get_transaction(), raw.driver_connection)
    return raw.driver_connection


def records(rows: Sequence[asyncpg.Record]) -> list[dict[str, Any]]:
    return [dict(r) for r in rows]


def json_response(content: Any, status_code: int = 200) -> Response:
    """`content` (dicts, lists, records' values) as JSON, written by pydantic's serialiser: the same
    text the route's response model would give (UUIDs, ISO datetimes with `Z`, dates, Decimals as
    strings) without building the models. The route keeps its `response_model` for the document."""
    return Response(pydantic_core.to_json(content), status_code=status_code, media_type="application/json")
