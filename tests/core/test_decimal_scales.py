"""A decimal a body accepts is never finer than the column that keeps it: a finer value would be
stored rounded while the answer echoed it as sent (`annual_rate "0.0612345"` stored as 0.061235, its
schedule then differing from the preview's). Checked over both documents against every Numeric
column of the same name, so a new field inherits the rule."""

import re

import pytest
from sqlalchemy import Numeric

from app.core.db import Base
from app.main import create_app

# A decimal string's pattern ends with its fraction: `(\.\d{1,N})?$`.
_FRACTION = re.compile(r"\\d\{1,(\d+)\}\)\?\$$")


def _column_scales() -> dict[str, int]:
    scales: dict[str, int] = {}
    for table in Base.metadata.tables.values():
        for column in table.columns:
            if isinstance(column.type, Numeric) and column.type.scale is not None:
                scales[column.name] = min(scales.get(column.name, column.type.scale), column.type.scale)
    return scales


def _accepted_decimals(document: dict) -> list[tuple[str, str, int]]:
    found = []
    for name, schema in document["components"]["schemas"].items():
        for prop, spec in (schema.get("properties") or {}).items():
            for option in (spec, *spec.get("anyOf", ())):
                match = _FRACTION.search(option.get("pattern", ""))
                if match:
                    found.append((name, prop, int(match.group(1))))
    return found


@pytest.mark.parametrize("surface", ["v1", "mobile-v1"])
def test_no_body_accepts_more_decimals_than_its_column_keeps(surface):
    scales = _column_scales()
    accepted = _accepted_decimals(create_app().state.openapi_document(surface))
    assert any(prop == "amount" for _, prop, _ in accepted)  # the walk sees the decimal fields
    finer = [(schema, prop, decimals, scales[prop]) for schema, prop, decimals in accepted
             if prop in scales and decimals > scales[prop]]
    assert finer == []
