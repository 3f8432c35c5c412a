"""Cursor pagination over a keyset (sort column, id): cost does not grow with the page number.

The cursor is opaque to clients (base64url JSON of the last row's key and the sort it belongs to).
"""

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import InvalidInput

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


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size (max 200)")] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=1024, description="Opaque cursor from next_cursor")] = None,
) -> PageParams:
    return PageParams(limit, cursor)


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
        if not isinstance(raw, str):
            raise ValueError("bad cursor value")
        return {"dt": datetime.fromisoformat, "d": date.fromisoformat, "u": uuid.UUID, "n": Decimal}[kind](raw)
    return value


def encode_cursor(sort: str, values: list[Any]) -> str:
    raw = json.dumps({"s": sort, "k": [_encode_value(v) for v in values]}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if data.get("s") != sort or not isinstance(data.get("k"), list):
            raise ValueError("cursor belongs to another sort")
        return [_decode_value(v) for v in data["k"]]
    except (ValueError, KeyError, TypeError, binascii.Error, AttributeError) as exc:
        raise InvalidInput("The cursor is not valid for this list.", code="pagination.invalid_cursor",
                           errors=[{"pointer": "/query/cursor", "message": "invalid cursor"}]) from exc


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
    if params.cursor:
        last_value, last_id = decode_cursor(params.cursor, sort.name)
        if sort.column is id_column:
            stmt = stmt.where(id_column < last_id if sort.descending else id_column > last_id)
        elif sort.descending:
            stmt = stmt.where(tuple_(sort.column, id_column) < tuple_(last_value, last_id))
        else:
            stmt = stmt.where(tuple_(sort.column, id_column) > tuple_(last_value, last_id))
    order = (sort.column.desc(), id_column.desc()) if sort.descending else (sort.column.asc(), id_column.asc())
    stmt = stmt.order_by(*order).limit(params.limit + 1)
    result = await session.execute(stmt)
    rows = list(result.scalars().all() if scalars else result.all())
    next_cursor = None
    if len(rows) > params.limit:
        rows = rows[: params.limit]
        last = rows[-1]
        next_cursor = encode_cursor(sort.name, [_key_of(last, sort.column), _key_of(last, id_column)])
    return rows, next_cursor


def _key_of(row: Any, column: Any) -> Any:
    name = column.key
    if hasattr(row, name):
        return getattr(row, name)
    return row._mapping[column]  # a Row from a multi-entity select


def sort_param(choices: dict[str, SortKey], default: str) -> Any:
    """A `?sort=` query parameter restricted to the documented keys."""
    names = sorted(choices)

    def dependency(
        sort: Annotated[str, Query(description=f"One of: {', '.join(names)} (prefix '-' for descending)",
                                   pattern=r"^-?[a-z_]{1,40}$")] = default,
    ) -> SortKey:
        descending = sort.startswith("-")
        key = choices.get(sort.removeprefix("-"))
        if key is None:
            raise InvalidInput(f"Unknown sort {sort!r}; use one of {', '.join(names)}.", code="pagination.invalid_sort",
                               errors=[{"pointer": "/query/sort", "message": "unknown sort field"}])
        return SortKey(sort, key.column, descending)

    return dependency
