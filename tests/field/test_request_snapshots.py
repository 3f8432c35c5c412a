"""What an approval shows of its request (`snapshot`) keeps JSON's types (issue 25, item 5): lists stay
lists, null stays null, counts stay numbers and money is a two-decimal string; never a Python repr
such as "['penalty', 'fee', 'interest', 'principal']", "None" or "0". Over every kind filed on the
platform (tests/field/request_bodies.py)."""

import re
from typing import Any

import pytest

from tests.contracts.conftest import ANNUITY_TERMS
from tests.field.request_bodies import OPERATIONS, prepared

PLATFORM = sorted(op for op, path in OPERATIONS.items() if path.startswith("/api/v1/"))
REPR = re.compile(r"^(None|True|False|-?\d+|[\[{(].*[\]})])$", re.DOTALL)  # a value written as text


def _texts(value: Any, at: str = "") -> list[tuple[str, str]]:
    """Every string in `value` with its JSON path."""
    if isinstance(value, dict):
        return [found for key, item in value.items() for found in _texts(item, f"{at}/{key}")]
    if isinstance(value, list):
        return [found for index, item in enumerate(value) for found in _texts(item, f"{at}/{index}")]
    return [(at, value)] if isinstance(value, str) else []


@pytest.fixture
def submitted_snapshot(client, auth, org, make_flow, open_case):
    """submitted_snapshot(operation) → the snapshot of the approval of a request filed and submitted."""

    made: list[str] = []

    async def make(operation: str) -> dict[str, Any]:
        url, user, body, _ = await prepared(client, auth, org, make_flow, await open_case(), operation,
                                            flows=not made)
        made.append(operation)
        created = await client.post(url, headers=auth(user), json=body)
        assert created.status_code == 201, created.text
        submitter = "clerk1" if operation == "create_contract" else user  # the clerk submits a contract
        submitted = await client.post(f"{url}/{created.json()['id']}/submit", headers=auth(submitter))
        assert submitted.status_code == 200, submitted.text
        request = (await client.get(f"{url}/{created.json()['id']}", headers=auth(submitter))).json()
        approval = await client.get(f"/api/v1/approvals/{request['approval_id']}", headers=auth("approver1"))
        assert approval.status_code == 200, approval.text
        assert approval.json()["rounds"][-1]["snapshot"] == approval.json()["snapshot"]
        return approval.json()["snapshot"]

    return make


@pytest.mark.parametrize("operation", PLATFORM)
async def test_a_snapshot_holds_no_value_written_as_python_text(submitted_snapshot, operation):
    snapshot = await submitted_snapshot(operation)
    assert [(at, text) for at, text in _texts(snapshot) if REPR.match(text)] == []


async def test_a_contracts_terms_keep_their_types(submitted_snapshot):
    terms = (await submitted_snapshot("create_contract"))["terms"]
    assert terms["allocation_order"] == ["penalty", "fee", "interest", "principal"]
    assert terms["grace_days"] == 0 and terms["term_months"] == 12
    assert terms["monthly_rent"] is None and terms["custom_rows"] is None
    assert terms["price"] == "500000.00" and terms["down_payment"] == "100000.00"
    assert terms["first_due_date"] == ANNUITY_TERMS["first_due_date"] and isinstance(terms["annual_rate"], str)


async def test_a_waivers_and_a_tows_snapshot_keep_their_types(submitted_snapshot):
    waiver = await submitted_snapshot("create_interest_waiver")
    assert waiver["amount"] == "1.00" and isinstance(waiver["dpd"], int) and waiver["attachment_ids"] == []
    assert re.fullmatch(r"\d+\.\d{2}", waiver["unpaid_penalty"]) and isinstance(waiver["version"], int)
    tow = await submitted_snapshot("create_tow_request")
    assert tow["override_reason"] is None and tow["location"] == "工地"
