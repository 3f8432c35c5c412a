"""Cursor pagination over a keyset (sort column, id): cost does not grow with the page number.

The cursor is opaque to clients: base64url JSON of the last row's key, the list it was issued by
(the route's path template, taken from the request by `page_params`) and the sort it belongs to,
followed by an HMAC-SHA256 tag keyed from the app's secret. A cursor that was not issued by us, or
was issued by another list or for another sort, or whose key has the wrong arity or types, is a 422
`pagination.invalid_cursor`: never a query with whatever a client wrote into it (a `/customers`
cursor's key would otherwise be read as a position in `/contracts`).
"""

import base64
import binascii
import functools
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

import asyncpg
from fastapi import Depends, Query, Request
from pydantic import BaseModel
from sqlalchemy import ColumnElement, Integer, Select, bindparam, literal_column, select, true, tuple_, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.visitors import replacement_traverse

from app.core import hotsql
from app.core.config import get_settings
from app.core.errors import InvalidInput
from app.core.scoping import SCOPE_PARAMETER, SCOPE_SPLIT, ScopeBranch, ScopeSplit, scope_eq
from app.core.types import Text

T = TypeVar("T")
MAX_LIMIT = 200
DEFAULT_LIMIT = 50


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


@dataclass(frozen=True)
class PageParams:
    limit: int
    cursor: str | None
    # The list the page belongs to (its route's path template): the cursors it issues and accepts
    # are bound to it. None only for pages built outside a request (tests, jobs).
    list_key: str | None = None


def _list_key(request: Request) -> str | None:
    # The matched route (Starlette and FastAPI put it in the ASGI scope): its path template names
    # the list on its surface whatever the ids in the path.
    route = request.scope.get("route")
    return getattr(route, "path_format", None) or getattr(route, "path", None)


async def page_params(  # async: FastAPI runs a plain def dependency in a worker thread
    request: Request,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size (max 200)")] = DEFAULT_LIMIT,
    cursor: Annotated[Text(1024) | None, Query(
        max_length=1024,
        description="Opaque, signed cursor: pass `next_cursor` from the previous page unchanged, with the same "
                    "`sort`. It is bound to this list and that sort; an edited, foreign or mismatched cursor "
                    "(one from another list included) answers 422 `pagination.invalid_cursor`.")] = None,
) -> PageParams:
    return PageParams(limit, cursor, _list_key(request))


# A list route's page parameters: `page: PageQuery`.
PageQuery = Annotated[PageParams, Depends(page_params)]


@dataclass(frozen=True)
class SortKey:
    """A documented sort: `name` as clients send it, the column, and direction."""

    name: str
    column: Any
    descending: bool = False


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"t": "dt", "v": value.isoformat()}
    if isinstance(value, date):
        return {"t": "d", "v": value.isoformat()}
    if isinstance(value, uuid.UUID):
        return {"t": "u", "v": str(value)}
    if isinstance(value, Decimal):
        return {"t": "n", "v": str(value)}
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        kind, raw = value.get("t"), value.get("v")
        if not isinstance(raw, str) or kind not in _DECODERS:
            raise ValueError("bad cursor value")
        return _DECODERS[kind](raw)
    if value is None or isinstance(value, bool | dict | list):
        raise ValueError("bad cursor value")
    return value


_DECODERS: dict[str, Any] = {"dt": datetime.fromisoformat, "d": date.fromisoformat, "u": uuid.UUID, "n": Decimal}
_TAG_BYTES = 16  # truncated HMAC-SHA256: 128 bits are plenty against forgery


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode())


def _cursor_key() -> bytes:
    return _derived_key(get_settings().signing_key())


@functools.lru_cache(maxsize=4)
def _derived_key(secret: str) -> bytes:
    # Derived, not the secret itself: a cursor tag never helps anybody forge a token.
    return hmac.new(secret.encode(), b"recourse/pagination-cursor/v1", hashlib.sha256).digest()


def _tag(payload: bytes) -> bytes:
    return hmac.digest(_cursor_key(), payload, "sha256")[:_TAG_BYTES]


def encode_cursor(sort: str, values: list[Any], list_key: str | None = None) -> str:
    """A signed cursor for `sort` (and, given one, the list `list_key`). Without a list the
    payload is what it always was, so cursors clients keep across releases (field sync) still read."""
    body: dict[str, Any] = {"s": sort, "k": [_encode_value(v) for v in values]}
    if list_key is not None:
        body["l"] = list_key
    raw = json.dumps(body, separators=(",", ":")).encode()
    return f"{_b64(raw)}.{_b64(_tag(raw))}"


def _invalid_cursor() -> InvalidInput:
    return InvalidInput("The cursor is not valid for this list.", code="pagination.invalid_cursor",
                        errors=[{"pointer": "/query/cursor", "message": "invalid cursor"}])


def decode_cursor(cursor: str, sort: str, arity: int = 2, list_key: str | None = None) -> list[Any]:
    """The key values of a cursor we issued for `sort` in the list `list_key`; 422 for anything else."""
    try:
        payload_text, _, tag_text = cursor.partition(".")
        payload = _unb64(payload_text)
        if not hmac.compare_digest(_unb64(tag_text), _tag(payload)):
            raise ValueError("cursor signature does not match")
        data = json.loads(payload)
        if not isinstance(data, dict) or data.get("s") != sort:
            raise ValueError("cursor belongs to another sort")
        if data.get("l") != list_key:
            raise ValueError("cursor belongs to another list")
        keys = data.get("k")
        if not isinstance(keys, list) or len(keys) != arity:
            raise ValueError("cursor key has the wrong arity")
        return [_decode_value(v) for v in keys]
    except (ValueError, KeyError, TypeError, binascii.Error, AttributeError, UnicodeError) as exc:
        raise _invalid_cursor() from exc


def _expected_type(column: Any) -> type | None:
    try:
        return column.type.python_type
    except (NotImplementedError, AttributeError):
        return None


def _check_types(values: list[Any], columns: list[Any]) -> None:
    for value, column in zip(values, columns, strict=True):
        expected = _expected_type(column)
        if expected is None:
            continue
        if isinstance(value, bool) or not isinstance(value, expected):
            raise _invalid_cursor()
        if isinstance(value, datetime) and value.tzinfo is None:
            raise _invalid_cursor()  # timestamptz columns: a naive value would not compare


def _after(params: PageParams, sort: SortKey, id_column: Any) -> tuple[Any, Any]:
    """The (sort value, id) a cursor says the page starts after; 422 for a cursor we did not issue."""
    last_value, last_id = decode_cursor(params.cursor or "", sort.name, list_key=params.list_key)
    _check_types([last_value, last_id], [sort.column, id_column])
    return last_value, last_id


def page_statement(stmt: Select[Any], params: PageParams, sort: SortKey, id_column: Any, *,
                   bound: bool = False) -> Select[Any]:
    """`stmt` limited to one page (after the cursor, ordered by (sort column, id), one row more
    than the page to tell whether there is a next). A statement from `readable()` whose scope has
    several branches (a company, the caller's own rows, the rows shared with them...) is paged
    branch by branch: see `_page_ids`.

    `bound`: the cursor's key is the parameters `page_after_value` and `page_after_id` instead of
    values, so one compiled statement serves every page of a list (`paginate_hot`). The limit is
    then written into the SQL: a parameter there would make PostgreSQL plan for a tenth of the
    table (its guess for an unknown LIMIT) and walk away from the index."""
    limit: Any = params.limit + 1
    if bound:
        limit = literal_column(str(int(limit)), Integer)
    if params.cursor:
        if bound:
            last_value = bindparam("page_after_value", None, type_=sort.column.type)
            last_id = bindparam("page_after_id", None, type_=id_column.type)
        else:
            last_value, last_id = _after(params, sort, id_column)
        if sort.column is id_column:
            stmt = stmt.where(id_column < last_id if sort.descending else id_column > last_id)
        elif sort.descending:
            stmt = stmt.where(tuple_(sort.column, id_column) < tuple_(last_value, last_id))
        else:
            stmt = stmt.where(tuple_(sort.column, id_column) > tuple_(last_value, last_id))
    split = stmt.get_execution_options().get(SCOPE_SPLIT)
    if split is not None and _walkable(split.branches, sort.column):
        stmt = stmt.where(id_column.in_(_page_ids(stmt, split, sort, id_column, limit)))
    return stmt.order_by(*_order_by(sort.column, id_column, sort.descending)).limit(limit)


# ORDER BY clauses per (sort column, id column, direction), built once: the columns are mapped
# attributes that live as long as the process (kept in the value, so an id is never reused).
_ORDERS: dict[tuple[int, int, bool], tuple[Any, Any, tuple[Any, ...]]] = {}


def _order_by(column: Any, id_column: Any, descending: bool) -> tuple[Any, ...]:
    known = _ORDERS.get((id(column), id(id_column), descending))
    if known is not None and known[0] is column and known[1] is id_column:
        return known[2]
    order = (column.desc(), id_column.desc()) if descending else (column.asc(), id_column.asc())
    if len(_ORDERS) < 1024:
        _ORDERS[(id(column), id(id_column), descending)] = (column, id_column, order)
    return order


async def paginate(
    session: AsyncSession,
    stmt: Select[Any],
    params: PageParams,
    sort: SortKey,
    id_column: Any,
    *,
    scalars: bool = True,
) -> tuple[list[Any], str | None]:
    """Run `stmt` one page at a time ordered by (sort column, id). Returns rows and next cursor.

    Rows whose sort value is NULL are not supported: sort columns must be NOT NULL.
    """
    result = await session.execute(page_statement(stmt, params, sort, id_column))
    rows = list(result.scalars().all() if scalars else result.all())
    next_cursor = None
    if len(rows) > params.limit:
        rows = rows[: params.limit]
        last = rows[-1]
        next_cursor = encode_cursor(sort.name, [_key_of(last, sort.column), _key_of(last, id_column)],
                                    params.list_key)
    return rows, next_cursor


# Hot pages' statements, compiled once per key. The caller's scope and the cursor are hidden from
# the planner (core/hotsql.py `opaque`); the filters' values are not.
_HOT_PAGES = hotsql.Statements(hide=(SCOPE_PARAMETER, "page_after_"))


async def paginate_hot(session: AsyncSession, key: Hashable, build: Callable[[], Select[Any]], params: PageParams,
                       sort: SortKey, id_column: Any) -> tuple[list[asyncpg.Record], str | None]:
    """`paginate` for the hottest lists: the page's statement (scope passes included) is compiled
    once per (key, sort, page size, first page or not) with the cursor as parameters, and runs on
    the session's asyncpg connection; rows are asyncpg records. The scope's and the cursor's
    values are hidden from the planner (`hotsql.opaque_parameters`), so without filters PostgreSQL
    keeps one plan for the list at any table size; a filter's value (a search) stays in view.

    `build()` makes the statement; `key` must name everything it bakes in (the principal, when it
    starts from `readable()`). It must select plain columns, including the sort and id columns
    under their own keys."""
    values: dict[str, Any] = {}
    if params.cursor:
        values["page_after_value"], values["page_after_id"] = _after(params, sort, id_column)
    prepared = _HOT_PAGES.get((key, sort.name, params.limit, bool(params.cursor)),
                              lambda: page_statement(build(), params, sort, id_column, bound=True))
    rows = await prepared.fetch(session, **values)
    next_cursor = None
    if len(rows) > params.limit:
        rows = rows[: params.limit]
        last = rows[-1]
        next_cursor = encode_cursor(sort.name, [last[sort.column.key], last[id_column.key]], params.list_key)
    return rows, next_cursor


def _walkable(branches: tuple[ScopeBranch, ...], sort_column: Any) -> bool:
    """Whether splitting pays: more than one pass, and every column branch has an index leading
    with (that column, the sort column) to walk. Without such an index a branch would scan its
    whole column (or the sort index) alone, so the plain OR stays the better plan."""
    passes = sum(len(b.values) if b.values is not None else 1 for b in branches)
    return passes > 1 and all(b.column is None or _ordered_index(b.column, sort_column) for b in branches)


def _ordered_index(column: Any, sort_column: Any) -> bool:
    table = getattr(column.expression, "table", None)
    leading = (getattr(column.expression, "name", None), getattr(sort_column.expression, "name", None))
    return table is not None and any(
        tuple(c.name for c in index.columns)[:2] == leading and index.dialect_options["postgresql"]["where"] is None
        for index in getattr(table, "indexes", ()))


def _page_ids(stmt: Select[Any], split: ScopeSplit, sort: SortKey, id_column: Any, limit: Any) -> Select[Any]:
    """The ids of the page: `stmt` with its scope OR replaced by each branch in turn, each pass
    ordered and limited along the branch's own index, merged, deduplicated, limited again.

    Every pass is the whole statement (tenant, filters, cursor) with one branch for the scope, so
    the union is exactly `stmt`: no row outside it, none of it missed. (Narrowing instead,
    `OR AND branch`, lets the planner turn the pass into a bitmap over every row of the branch.)
    One exception: a pass along a company's or a department's own index leaves the tenant
    condition out. Those ids are the tenant's own (the scope was resolved within it) and the
    outer statement still holds the condition; left in, a plan that does not see the values (a hot
    page's, see `paginate_hot`) walks the tenant's (group, sort) index filtering for the company,
    which for a company with 0.5% of the tenant's rows reads some 10,000 rows for a page.
    PostgreSQL merges the ordered passes (Merge Append, Unique, Limit) and stops after `limit`
    rows; a pass reads at most `limit` rows, so a page costs the same at any table size.
    """
    keys = [sort.column.label("sort_key")] if sort.column is not id_column else []
    keys.append(id_column.label("row_id"))
    order = (sort.column.desc(), id_column.desc()) if sort.descending else (sort.column.asc(), id_column.asc())
    table = id_column.expression.table
    # The WHERE criteria; the top-level AND may hold the scope OR in a grouping of its own.
    criteria = list(getattr(stmt.whereclause, "clauses", ()))
    scope_at = [i for i, c in enumerate(criteria) if split.either is c or split.either is getattr(c, "element", None)]
    tenant_at = [i for i, c in enumerate(criteria) if split.tenant is c]
    # A statement over the one table (no join: Select keeps none in `_setup_joins`, and nothing
    # but the table in `_from_obj`) is rebuilt from its criteria, which costs little; anything
    # else is deep-copied with the OR replaced (replacement_traverse: same result, ~10x the CPU).
    single = getattr(stmt, "_setup_joins", None) == () and all(
        f.compare(table) for f in getattr(stmt, "_from_obj", (stmt,)))

    def narrowed(condition: ColumnElement[bool], own_index: bool = False) -> Select[Any]:
        if scope_at and single:
            where = [condition if i in scope_at else c for i, c in enumerate(criteria)
                     if not (own_index and i in tenant_at)]
            return select(*keys).select_from(table).where(*where).order_by(*order).limit(limit)
        swap = {id(split.either): condition, **({id(split.tenant): true()} if own_index else {})}
        return replacement_traverse(stmt.with_only_columns(*keys).order_by(*order).limit(limit), {},
                                    lambda e: swap.get(id(e)))

    passes: list[Any] = []
    for branch in split.branches:
        if branch.members is not None:
            members = branch.members.subquery("scope_member")
            one = narrowed(branch.column == members.c[0], own_index=True).lateral("scope_pass")
            passes.append(select(*one.c).select_from(members).join(one, true()))
        elif branch.values is not None:
            passes.extend(narrowed(scope_eq(branch.column, value), own_index=True)
                          for value in sorted(branch.values, key=str))
        else:
            passes.append(narrowed(branch.condition))
    merged = union_all(*passes).subquery("scope_passes")
    merged_keys = [merged.c[k.name] for k in keys]
    merged_order = [c.desc() if sort.descending else c.asc() for c in merged_keys]
    page = select(*merged_keys).distinct().order_by(*merged_order).limit(limit).subquery("scope_page")
    return select(page.c.row_id)


def _key_of(row: Any, column: Any) -> Any:
    name = column.key
    if hasattr(row, name):
        return getattr(row, name)
    mapping = row._mapping  # a Row from a multi-entity select
    if column in mapping:
        return mapping[column]
    return getattr(mapping[column.class_], name)  # a column of an entity the row holds whole


def sort_param(choices: dict[str, SortKey], default: str) -> Any:
    """A `?sort=` query parameter restricted to the documented keys."""
    names = sorted(choices)

    async def dependency(  # async: FastAPI runs a plain def dependency in a worker thread
        sort: Annotated[str, Query(description=f"One of: {', '.join(names)} (prefix '-' for descending)",
                                   max_length=41, pattern=r"^-?[a-z_]{1,40}$",
                                   # The document names the exact keys; an unknown one still gets
                                   # its own problem code (pagination.invalid_sort) below.
                                   json_schema_extra={"pattern": f"^-?({'|'.join(names)})$"})] = default,
    ) -> SortKey:
        descending = sort.startswith("-")
        key = choices.get(sort.removeprefix("-"))
        if key is None:
            raise InvalidInput(f"Unknown sort {sort!r}; use one of {', '.join(names)}.", code="pagination.invalid_sort",
                               errors=[{"pointer": "/query/sort", "message": "unknown sort field"}])
        return SortKey(sort, key.column, descending)

    return dependency
