"""Seed 000's example for waivers (利息减免) through the engine end to end, on the demo's default flows
(app/devices/demo.py): ≤ ¥1 000 L1; ≤ ¥10 000 L1 + L2; above, the leader as well. The steps that do
not apply to an amount are skipped; each waiver is approved by whoever it waits on, then posted."""

from datetime import date
from decimal import Decimal

from app.devices.demo import default_flows
from app.org.repository import load_principal
from tests.collection.conftest import overdue_case  # noqa: F401 - the overdue contract's fixture

WAIVERS = "/api/v1/interest-waivers"
SKIPPED = {"800.00": ["skipped", "skipped"], "5000.00": ["approved", "skipped"], "12000.00": ["approved", "approved"]}


async def test_the_seed_example_waivers_pass_the_default_flows_amount_tiers(client, auth, db, org, act,
                                                                             overdue_case):  # noqa: F811
    await default_flows(db, org, await load_principal(db, org.users["admin"].id))
    case = await overdue_case(on=date(2026, 12, 31))
    names = {str(org.users[u].id): u for u in ("approver1", "approver2", "leader")}
    penalty = (await client.get(f"/api/v1/contracts/{case.contract_id}/interest-waiver-form",
                                headers=auth("clerk1"))).json()["unpaid_penalty"]
    for amount, later_steps in SKIPPED.items():
        waiver = (await client.post(WAIVERS, headers=auth("clerk1"), json={
            "contract_id": str(case.contract_id), "amount": amount, "reason": "罚息减免", "submit": True})).json()
        deciders = []
        while (approval := (await client.get(f"/api/v1/approvals/{waiver['approval_id']}",
                                             headers=auth("admin"))).json())["status"] == "pending":
            deciders.append(names[approval["waiting_on"][0]])
            assert (await act(deciders[-1], approval["id"], "approve", {})).status_code == 200
        assert approval["status"] == "approved" and deciders[0] == "approver1", (amount, deciders)
        assert [s["status"] for s in approval["steps"]][1:] == later_steps, amount
        assert (await client.get(f"{WAIVERS}/{waiver['id']}", headers=auth("clerk1"))).json()["status"] == "approved"
    after = (await client.get(f"/api/v1/contracts/{case.contract_id}/interest-waiver-form",
                              headers=auth("clerk1"))).json()
    assert Decimal(after["unpaid_penalty"]) == Decimal(penalty) - Decimal("17800.00")
