"""Bodies for filing every request kind on the case of tests/collection/log_fixtures.py, keyed by the
create operations of both documents that take a `client_ref` (a new kind's operation shows up in
`OPERATIONS` and fails tests/field/test_client_ref_retries.py until it has a body here)."""

import json
from pathlib import Path
from typing import Any

from tests.approvals.conftest import role_rule
from tests.contracts.conftest import ANNUITY_TERMS, create_machine
from tests.customers.helpers import create_contact, create_customer

DOCUMENTS = Path(__file__).parents[2] / "openapi"


def operations_taking_a_client_ref() -> dict[str, str]:
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


OPERATIONS = operations_taking_a_client_ref()
# The kinds whose filing submits at once (the phone's) or that a test submits: a one-step flow each
# (contracts and shipments have the seed's, made by the `shipped` fixture).
FLOW_KINDS = ("interest_waiver", "tow", "settlement_request", "lock", "unlock", "gps_fee", "expense")


async def contract_body(client, auth) -> dict[str, Any]:
    customer = await create_customer(client, auth, "sales1")
    contact = await create_contact(client, auth, "sales1")
    machine = await create_machine(client, auth)
    return {"customer_id": customer["id"], "terms": ANNUITY_TERMS, "machine_ids": [machine["id"]],
            "contacts": [{"contact_id": contact["id"], "relation": "legal_representative"}], "notes": "第一次"}


def bodies(contract: str, machine: str) -> dict[str, tuple[str, dict[str, Any], str]]:
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


def other(field: str, value: str) -> str:
    return "2.00" if field == "amount" else f"{value} (改)"


async def prepared(client, auth, org, make_flow, case, operation: str,
                   *, flows: bool = True) -> tuple[str, str, dict[str, Any], str]:
    """(url, who files it, a valid body, the field another body changes) for `operation` on `case`;
    with `flows`, a one-step flow (L1) for each of FLOW_KINDS."""
    for name in FLOW_KINDS if flows else ():
        await make_flow([{"name": "L1", "rule": role_rule(org, "approver_l1")}], request_type=name)
    if operation == "create_contract":
        return OPERATIONS[operation], "sales1", await contract_body(client, auth), "notes"
    contract = (await client.get(f"/api/v1/contracts/{case.contract_id}", headers=auth("clerk1"))).json()
    return OPERATIONS[operation], *bodies(str(case.contract_id), contract["machines"][0]["id"])[operation]
