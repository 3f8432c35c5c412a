"""Dates at the edges (issue 25, item 10): one date type and one timestamp type, bounded to the
domain's days (1990-01-01 to 2100-12-31), at the edge for bodies, queries and paths. Every query
parameter of both documents that takes a date or a timestamp answers 422 for year 1 and year 9999,
never a 500; so do the bodies that once answered 500."""

import json
import re
import uuid

from app.core.config import PROJECT_ROOT
from app.core.types import DATE_MAX, DATE_MIN

EDGES = {"date": ("0001-01-01", "9999-12-31", "1989-12-31", "2101-01-01"),
         "date-time": ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "2101-01-01T00:00:00Z")}


def _date_query_parameters() -> list[tuple[str, str, str]]:
    found = []
    for name in ("v1.json", "mobile-v1.json"):
        document = json.loads((PROJECT_ROOT / "openapi" / name).read_text())
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                for parameter in operation.get("parameters", []):
                    schema = parameter.get("schema", {})
                    formats = {schema.get("format"), *(s.get("format") for s in schema.get("anyOf", []))}
                    for fmt in ("date", "date-time"):
                        if parameter.get("in") == "query" and fmt in formats and method == "get":
                            found.append((path, parameter["name"], fmt))
    return found


def test_the_range_is_the_domains():
    assert (DATE_MIN.isoformat(), DATE_MAX.isoformat()) == ("1990-01-01", "2100-12-31")


async def test_every_date_query_parameter_refuses_the_edges_with_422(client, auth):
    parameters = _date_query_parameters()
    assert len(parameters) >= 10
    wrong = []
    for path, name, fmt in parameters:
        concrete = re.sub(r"\{\w+\}", str(uuid.uuid4()), path)
        for value in EDGES[fmt]:
            answer = await client.get(concrete, params={name: value}, headers=auth("admin"))
            if answer.status_code != 422:
                wrong.append(f"{path}?{name}={value}: {answer.status_code}")
    assert not wrong, "\n".join(wrong)


async def test_bodies_that_once_answered_500_refuse_the_edges_with_422(client, auth):
    for first_due, months in (("9999-12-31", 12), ("9998-01-31", 120), ("0001-01-01", 12)):
        answer = await client.post("/api/v1/contracts/schedule-preview", headers=auth("sales1"), json={
            "price": "400000.00", "annual_rate": "0.06", "term_months": months, "first_due_date": first_due})
        assert answer.status_code == 422, answer.text
        assert answer.json()["errors"][0]["pointer"].endswith("/first_due_date")
    fee = await client.post("/api/v1/gps-fees", headers=auth("clerk1"), json={
        "contract_id": str(uuid.uuid4()), "amount": "100.00", "period_from": "0001-01-01",
        "period_to": "2026-12-31"})
    assert fee.status_code == 422, fee.text
