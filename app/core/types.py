"""Shared field types for request models, query, path, form and header parameters.

Every string the API reads goes through `Text` (single line) or `MultilineText`: a maximum length
always, and no NUL or other control characters (PostgreSQL refuses NUL; control characters break
the XML inside .xlsx exports and terminals). Integers and booleans in bodies are strict (JSON
`false` is not 0, `1` is not true); query parameters arrive as text and are parsed by FastAPI.
Money is a decimal string on input and always a two-decimal string on output.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Any
from zoneinfo import available_timezones

from pydantic import (
    AfterValidator,
    BeforeValidator,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    PlainSerializer,
    Strict,
    StringConstraints,
    WithJsonSchema,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

# C0 controls, DEL, lone surrogates (unencodable as UTF-8) and the two XML non-characters.
_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
# The same, but tab, line feed and carriage return are allowed in multi-line text.
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
# What the OpenAPI documents say (JSON Schema regexes; surrogates cannot be written there).
SINGLE_LINE_PATTERN = r"^[^\u0000-\u001F\u007F]*$"
MULTILINE_PATTERN = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*$"


def has_control_characters(value: str, *, multiline: bool = False) -> bool:
    return (_CONTROL_MULTILINE if multiline else _CONTROL).search(value) is not None


@dataclass(frozen=True)
class _NoControlCharacters:
    """Refuses control characters after the string constraints; documents it as a pattern."""

    multiline: bool = False

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        json_schema = handler(schema)
        # A field's own, stricter pattern (codes, identity numbers) already excludes them.
        json_schema.setdefault("pattern", MULTILINE_PATTERN if self.multiline else SINGLE_LINE_PATTERN)
        return json_schema

    def _check(self, value: str) -> str:
        if has_control_characters(value, multiline=self.multiline):
            raise PydanticCustomError(
                "string_control_characters",
                "Must not contain NUL or other control characters" + (
                    " (tab and line breaks are allowed)" if self.multiline else ""),
            )
        return value


def Text(max_length: int, *, min_length: int | None = None, pattern: str | None = None) -> Any:  # noqa: N802
    """A single-line string of at most `max_length` characters, without control characters."""
    return Annotated[str, StringConstraints(min_length=min_length, max_length=max_length, pattern=pattern),
                     _NoControlCharacters()]


def MultilineText(max_length: int, *, min_length: int | None = None) -> Any:  # noqa: N802
    """Free text (notes, comments, reasons): tab and line breaks allowed, other controls not."""
    return Annotated[str, StringConstraints(min_length=min_length, max_length=max_length),
                     _NoControlCharacters(multiline=True)]


Name = Text(200, min_length=1)
ShortName = Text(100, min_length=1)
Code = Text(40, min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
Search = Text(100, min_length=1)
"""A free-text search query parameter."""

def _whole_number(value: Any) -> Any:
    # JSON Schema's `integer` includes 6.0 (a number with no fractional part); a boolean never is.
    return int(value) if isinstance(value, float) and value.is_integer() else value


# Strict scalars for bodies: JSON `false` is not 0, "5" is not 5 and `1` is not true.
Int = Annotated[int, Strict(), BeforeValidator(_whole_number)]
Bool = Annotated[bool, Strict()]
Float = Annotated[float, Strict()]
"""A JSON number (an integer is one too); never `true` or `"5"`."""


# --- time zones ----------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _iana_zone(value: str) -> str:
    if value not in _zones():
        raise PydanticCustomError("time_zone", "Must be an IANA time zone such as Asia/Shanghai")
    return value


TimeZone = Annotated[str, StringConstraints(min_length=1, max_length=60), _NoControlCharacters(),
                     AfterValidator(_iana_zone)]

# --- money ---------------------------------------------------------------------------------------

MONEY_PATTERN = r"^-?\d{1,16}(\.\d{1,2})?$"
# More than zero: at least one non-zero digit, no sign. Sixteen integer digits fit Numeric(18, 2).
POSITIVE_MONEY_PATTERN = r"^(?=[0-9.]*[1-9])\d{1,16}(\.\d{1,2})?$"
# ASCII digits only: Python reads `\d` (and Decimal reads "１２") as any script's digits; JSON Schema does not.
_MONEY = re.compile(MONEY_PATTERN, re.ASCII)
_POSITIVE_MONEY = re.compile(POSITIVE_MONEY_PATTERN, re.ASCII)


def _decimal_text(pattern: re.Pattern[str], error: str, message: str) -> Any:
    def parse(value: Any) -> Any:
        # Decimals come from our own code and the ORM; clients send text only (no floats, no
        # exponents, no underscores, no whitespace).
        if isinstance(value, Decimal) and value.is_finite():
            if pattern.match(format(value, "f")):
                return value
        elif isinstance(value, str) and pattern.match(value):
            return Decimal(value)
        raise PydanticCustomError(error, message)

    return parse


def money_text(value: Decimal | None) -> str | None:
    """An amount as Money writes it out: two decimals (the hot paths serialise without models)."""
    return None if value is None else f"{value:.2f}"


def _money(pattern: re.Pattern[str], pattern_text: str, max_length: int, out_pattern: str, error: str,
           message: str, description: str) -> Any:
    """A money type: a decimal string in (`pattern`), a two-decimal string out (`out_pattern`)."""
    return Annotated[
        Decimal,
        BeforeValidator(_decimal_text(pattern, error, message)),
        PlainSerializer(money_text, return_type=str, when_used="json"),
        WithJsonSchema({"type": "string", "pattern": pattern_text, "maxLength": max_length, "examples": ["1234.50"],
                        "description": description}, mode="validation"),
        WithJsonSchema({"type": "string", "pattern": out_pattern, "examples": ["1234.50"],
                        "description": "Decimal string with exactly 2 decimals (CNY)"}, mode="serialization"),
    ]


Money = _money(_MONEY, MONEY_PATTERN, 20, r"^-?\d+\.\d{2}$", "money_format",
               "Must be a decimal string with at most two decimals, e.g. \"1234.50\"",
               "Decimal string, at most 2 decimals (CNY)")
"""An amount: a decimal string on input (`"1234.5"`), a two-decimal string on output (`"1234.50"`)."""

PositiveMoney = _money(_POSITIVE_MONEY, POSITIVE_MONEY_PATTERN, 19, r"^\d+\.\d{2}$", "money_positive",
                       "Must be a decimal string above 0, at most two decimals, e.g. \"1234.50\"",
                       "Decimal string greater than 0, at most 2 decimals (CNY)")
"""An amount that must be more than zero (an expense, a payment)."""

def rate_type(decimals: int) -> Any:
    """A rate with at most `decimals` decimals: finer input is refused (422 `rate_format` with its
    pointer), never rounded, so what is stored, echoed and computed with is what was sent."""
    pattern = rf"^\d{{1,3}}(\.\d{{1,{decimals}}})?$"
    return Annotated[
        Decimal,
        BeforeValidator(_decimal_text(re.compile(pattern, re.ASCII), "rate_format",
                                      f"Must be a non-negative decimal string with at most {decimals} decimals, "
                                      "e.g. \"0.0005\"")),
        PlainSerializer(lambda v: format(v.normalize(), "f"), return_type=str, when_used="json"),
        WithJsonSchema({"type": "string", "pattern": pattern, "maxLength": 4 + decimals, "examples": ["0.0005"]},
                       mode="validation"),
        WithJsonSchema({"type": "string", "examples": ["0.0005"]}, mode="serialization"),
    ]


Rate = rate_type(8)
"""A rate (a share, a score's points): a non-negative decimal string, never a float."""

StoredRate = rate_type(6)
"""A rate kept in a `Numeric(9, 6)` column (a contract's annual and daily penalty rates): at most 6
decimals. A finer one (`"0.0612345"`) would be stored rounded (0.061235) while the answer echoed it
and the preview computed with it."""

# --- time ----------------------------------------------------------------------------------------

_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([Zz]|[+-]\d{2}:\d{2})$", re.ASCII
)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)


def _rfc3339_only(value: Any) -> Any:
    # Pydantic's lax mode would read "0.5" or 1700000000 as Unix time; the API speaks RFC 3339 only.
    if not isinstance(value, datetime) and not (isinstance(value, str) and _RFC3339.match(value)):
        raise PydanticCustomError(
            "timestamp_format", "Expected an RFC 3339 timestamp with a time zone, e.g. 2026-11-23T08:00:00Z")
    return value


# The days this domain speaks of: contracts, payments and logs of a finance business. Outside them a
# date is a typo or an attack (year 1 with +14:00 overflows on the way to UTC; 9999 plus a term does).
DATE_MIN, DATE_MAX = date(1990, 1, 1), date(2100, 12, 31)


def _in_range(value: date) -> date:
    day = value.date() if isinstance(value, datetime) else value
    if not DATE_MIN <= day <= DATE_MAX:
        raise PydanticCustomError("date_range", "Expected a date from {low} to {high}",
                                  {"low": DATE_MIN.isoformat(), "high": DATE_MAX.isoformat()})
    return value


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise PydanticCustomError("timestamp_format", "The timestamp needs a time zone (Z or ±hh:mm)")
    return as_utc(_in_range(value))


def as_utc(value: datetime) -> datetime:
    """The same instant in UTC. Every answer writes instants in UTC (`Z`): what the database gives
    back is UTC, so a value kept with the client's (or a photo's) offset would read `+08:00` in the
    first answer and `Z` in the next one (a retry, a GET)."""
    return value.astimezone(UTC)


def _iso_date_only(value: Any) -> Any:
    # A number is not a date (pydantic's lax mode would read 0 as 1970-01-01).
    if isinstance(value, str | int | float) and not (isinstance(value, str) and _ISO_DATE.match(value)):
        raise PydanticCustomError("date_format", "Expected a date as YYYY-MM-DD")
    return value


# An instant from a client: RFC 3339 with a zone, held in UTC from the edge on.
Timestamp = Annotated[datetime, BeforeValidator(_rfc3339_only), AfterValidator(_aware)]
BusinessDate = Annotated[date, BeforeValidator(_iso_date_only), AfterValidator(_in_range)]
