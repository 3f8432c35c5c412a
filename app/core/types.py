"""Shared field types for request models and query parameters."""

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([Zz]|[+-]\d{2}:\d{2})$"
)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _rfc3339_only(value: Any) -> Any:
    # Pydantic's lax mode would read "0.5" or "1700000000" as Unix time; the API speaks RFC 3339 only.
    if isinstance(value, str) and not _RFC3339.match(value):
        raise ValueError("expected an RFC 3339 timestamp with a time zone, e.g. 2026-11-23T08:00:00Z")
    return value


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("the timestamp needs a time zone (Z or ±hh:mm)")
    return value


def _iso_date_only(value: Any) -> Any:
    if isinstance(value, str) and not _ISO_DATE.match(value):
        raise ValueError("expected a date as YYYY-MM-DD")
    return value


Timestamp = Annotated[datetime, BeforeValidator(_rfc3339_only), AfterValidator(_aware)]
BusinessDate = Annotated[date, BeforeValidator(_iso_date_only)]
