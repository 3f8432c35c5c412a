"""A client_ref names one upload: the same reference with the same body answers the stored record
(200), with another body 409 `request.conflicting_retry` naming the stored record (issue 25, item
7: the phone believed a 2.00 waiver was filed when 1.00 was). Over every create operation of both
documents that takes a `client_ref`, so a new request kind is refused here until it has a body."""

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from app.approvals.requests import kinds
from tests.approvals.conftest import role_rule
from tests.contracts.conftest import ANNUITY_TERMS, create_machine
from tests.customers.helpers import create_contact, create_customer

DOCUMENTS = Path(__file__).parents[2] / "openapi"


def _operations_taking_a_client_ref() -> dict[str, str]:
    """operation id → path, for every POST whose JSON body declares `client_ref`, in both documents."""
    found: dict[str, str] = {}
    for name in ("v1.json", "mobile-v1.json"):
        document = json.loads((DOCUMENTS / name).read_text(encoding="utf-8"))
        schemas = document["components"]["schemas"]
        for path, item in document["paths"].items():
            post = item.get("post", {})
            body = post.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            ref = body.get("$ref", "").rsplit("/", 1)[-1]
            if "client_ref" in schemas.get(ref, {}).get("properties", {}):
                found[post["operationId"]] = path
    return found


OPERATIONS = _operations_taking_a_client_ref()
PHONE = {"interest_waiver": "waiver", "tow": "tow", "settlement_request": "settlement", "lock": "machine",
         "unlock": "machine"}


async def _contract_body(client, auth) -> dict[str, Any]:
    customer = await create_customer(client, auth, "sales1")
    contact = await create_contact(client, auth, "sales1")
    machine = await create_machine(client, auth)
    return {"customer_id": customer["id"], "terms": ANNUITY_TERMS, "machine_ids": [machine["id"]],
            "contacts": [{"contact_id": contact["id"], "relation": "legal_representative"}], "notes": "第一次"}


def _bodies(contract: str, machine: str) -> dict[str, tuple[str, dict[str, Any], str]]:
    """operation id → (who files it, a valid body, the field another body changes); the contract's
    body is built apart (it needs a customer, a contact and a machine of its own)."""
    waiver = ("collector1", {"contract_id": contract, "amount": "1.00", "reason": "客户困难"}, "amount")
    tow = ("collector1", {"contract_id": contract, "machine_id": machine, "reason": "失联", "location": "工地"},
           "location")
    device = ("collector1", {"contract_id": contract, "machine_id": machine, "reason": "失联"}, "reason")
    settlement = ("collector1", {"contract_id": contract, "notes": "已结清"}, "notes")
    gps_fee = ("clerk1", {"contract_id": contract, "machine_id": machine, "kind": "renewal", "amount": "1.00",
                          "period_from": "2026-02-01", "period_to": "2027-01-31"}, "amount")
    return {
        "create_expense_request": ("collector1", {"title": "拖车费", "amount": "1.00"}, "amount"),
        "create_interest_waiver": waiver, "create_field_request_interest_waiver": waiver,
        "create_settlement_request": settlement, "create_field_request_settlement": settlement,
        "create_gps_fee": gps_fee,
        "create_tow_request": tow, "create_field_request_tow": tow,
        "create_lock_request": device, "mobile_create_lock_request": device, "create_field_request_lock": device,
        "create_unlock_request": device, "mobile_create_unlock_request": device,
        "create_field_request_unlock": device,
    }


def _other(field: str, value: str) -> str:
    return "2.00" if field == "amount" else f"{value} (改)"


def test_every_create_operation_taking_a_client_ref_has_a_body_here():
    assert set(OPERATIONS) == {"create_contract", *_bodies("", "")}


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
async def test_a_client_ref_sent_again_answers_its_record_with_the_same_body_and_409_with_another(
        client, auth, org, make_flow, open_case, operation):
    case = await open_case()
    for name in PHONE:  # the phone submits at once: a flow for each of its kinds
        assert name in kinds()
        await make_flow([{"name": "L1", "rule": role_rule(org, "approver_l1")}], request_type=name)
    contract = (await client.get(f"/api/v1/contracts/{case.contract_id}", headers=auth("clerk1"))).json()
    if operation == "create_contract":
        user, body, field = "sales1", await _contract_body(client, auth), "notes"
    else:
        user, body, field = _bodies(str(case.contract_id), contract["machines"][0]["id"])[operation]
    url = OPERATIONS[operation]
    body = {**body, "client_ref": str(uuid.uuid4())}

    first = await client.post(url, headers=auth(user), json=body)
    again = await client.post(url, headers=auth(user), json=body)
    changed = await client.post(url, headers=auth(user), json={**body, field: _other(field, body[field])})

    assert first.status_code == 201, first.text
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"], again.text
    assert changed.status_code == 409, changed.text
    assert changed.json()["code"] == "request.conflicting_retry" and changed.json()["id"] == first.json()["id"]
    # The refused upload changed nothing: the first body still finds its record.
    last = await client.post(url, headers=auth(user), json=body)
    assert last.status_code == 200 and last.json()["id"] == first.json()["id"], last.text
