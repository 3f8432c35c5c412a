"""Instants are answered in UTC (`Z`) whatever offset they came with: the database gives them back
in UTC, so one kept with its offset would read `+08:00` in a first answer and `Z` in the next."""

from datetime import UTC, datetime

import pytest
from pydantic import BaseModel, TypeAdapter

from app.core.types import Timestamp


@pytest.mark.parametrize("text", ["2026-02-10T10:00:00+08:00", "2026-02-10T02:00:00Z", "2026-02-09T21:00:00-05:00"])
def test_a_client_timestamp_is_held_in_utc_from_the_edge_on(text):
    value = TypeAdapter(Timestamp).validate_python(text)
    assert value == datetime(2026, 2, 10, 2, tzinfo=UTC) and value.utcoffset().total_seconds() == 0

    class Echo(BaseModel):
        at: Timestamp

    assert Echo(at=text).model_dump_json() == '{"at":"2026-02-10T02:00:00Z"}'
