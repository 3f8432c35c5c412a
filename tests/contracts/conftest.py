"""Helpers for the sales-area tests: the seed's flows, machines, customers, contacts and contracts
created through the API by the demo users."""

from itertools import count
from typing import Any

import pytest

from tests.approvals.conftest import act, make_flow, role_rule, users_rule  # noqa: F401 - the engine's fixtures
from tests.customers.helpers import create_contact, create_customer

_serial = count(1)

ANNUITY_TERMS = {"price": "500000.00", "down_payment": "100000.00", "annual_rate": "0.06", "term_months": 12,
                 "first_due_date": "2099-01-31", "schedule_kind": "annuity"}


@pytest.fixture
def flows(make_flow, org):  # noqa: F811 - the engine's fixture, imported above
    """Seed 000's flows: contracts L1 → L2 → the leader above ¥300 000 financed; shipments by the leader."""

    async def make() -> None:
        await make_flow([{"name": "L1", "rule": role_rule(org, "approver_l1")},
                         {"name": "L2", "rule": role_rule(org, "approver_l2")},
                         {"name": "final", "rule": users_rule(org, "leader"), "condition": "financed > 300000"}],
                        request_type="contract")
        await make_flow([{"name": "risk", "rule": users_rule(org, "leader")}], request_type="shipment")

    return make


async def create_machine(client, auth, user: str = "clerk1", **fields: Any) -> dict:
    n = next(_serial)
    body = {"model": "SY215C", "category": "excavator", "serial_number": f"SY215C-T{n:05d}",
            "gps_device_id": f"GPS-T{n:05d}", **fields}
    response = await client.post("/api/v1/machines", json=body, headers=auth(user))
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def new_contract(client, auth):
    """A draft by sales1 on a new customer of theirs, with a legal representative and one machine."""

    async def make(terms: dict | None = None, *, machine: bool = True, **fields: Any) -> dict:
        customer = await create_customer(client, auth, "sales1")
        contact = await create_contact(client, auth, "sales1")
        machine_ids = [(await create_machine(client, auth))["id"]] if machine else []
        body = {"customer_id": customer["id"], "terms": terms or ANNUITY_TERMS, "machine_ids": machine_ids,
                "contacts": [{"contact_id": contact["id"], "relation": "legal_representative"}], **fields}
        response = await client.post("/api/v1/contracts", json=body, headers=auth("sales1"))
        assert response.status_code == 201, response.text
        return response.json()

    return make


@pytest.fixture
def approval_of(client, auth):
    async def get(contract_id: str, user: str = "clerk1") -> dict:
        contract = (await client.get(f"/api/v1/contracts/{contract_id}", headers=auth(user))).json()
        response = await client.get(f"/api/v1/approvals/{contract['approval_id']}", headers=auth(user))
        assert response.status_code == 200, response.text
        return response.json()

    return get
