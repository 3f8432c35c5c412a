"""A tow request comes once the contract is overdue beyond the company's minimum (seed 000:
"当客户逾期超过一定期限"): it keeps the contract's DPD, bucket and overdue amount, the flows route on
them, and below the minimum it is refused (409) unless the filer holds `tow.override_min_dpd` and
gives a reason. The case here is 10 days past due (M1, 34,588.67 overdue on 2026-02-10)."""

from decimal import Decimal

from sqlalchemy import update

from app.org.models import Company
from app.towing.approval import TOW
from tests.approvals.conftest import role_rule
from tests.towing.test_towing import REQUESTS, request_body


async def minimum(db, org, days: int | None) -> None:
    """C01's own minimum (None: the TOW_MIN_DPD setting, 60)."""
    await db.execute(update(Company).where(Company.id == org.companies["C01"].id).values(tow_min_dpd=days))
    await db.flush()


async def test_tow_declares_dpd_bucket_and_overdue_amount_as_condition_fields():
    fields = TOW.engine_type.condition_fields()
    assert {name: fields[name] for name in ("dpd", "bucket", "overdue_amount")} == {
        "dpd": "decimal", "bucket": "string", "overdue_amount": "decimal"}


async def test_a_tow_request_below_the_default_minimum_dpd_is_refused_even_with_a_reason(client, auth, db, org,
                                                                                        open_case, tow_flow):
    case = await open_case()
    await tow_flow()
    await minimum(db, org, None)
    for extra in ({}, {"override_reason": "客户正在转移设备"}):  # collector1 may not override
        refused = await client.post(REQUESTS, json=await request_body(client, auth, case, submit=True, **extra),
                                    headers=auth("collector1"))
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "tow.below_minimum_dpd"
        assert (refused.json()["dpd"], refused.json()["minimum_dpd"]) == (10, 60)
    assert (await client.get(REQUESTS, headers=auth("collector1"))).json()["items"] == []  # nothing kept


async def test_a_filer_holding_the_override_permission_files_below_the_minimum_only_with_a_reason(
        client, auth, db, org, open_case, tow_flow):
    case = await open_case()
    await tow_flow()
    await minimum(db, org, 30)
    granted = await client.put(f"/api/v1/users/{org.users['collector1'].id}/permissions/tow.override_min_dpd",
                               json={"granted": True}, headers=auth("admin"))
    assert granted.status_code == 204, granted.text
    bare = await client.post(REQUESTS, json=await request_body(client, auth, case, submit=True),
                             headers=auth("collector1"))
    assert bare.status_code == 409 and bare.json()["code"] == "tow.below_minimum_dpd"
    assert bare.json()["minimum_dpd"] == 30  # the company's own
    filed = await client.post(REQUESTS, headers=auth("collector1"), json=await request_body(
        client, auth, case, submit=True, override_reason="客户正在转移设备"))
    assert filed.status_code == 201, filed.text
    body = filed.json()
    assert (body["status"], body["dpd"], body["bucket"], body["min_dpd"]) == ("pending", 10, "M1", 30)
    assert Decimal(body["overdue_amount"]) == Decimal("34588.67")
    approval = (await client.get(f"/api/v1/approvals/{body['approval_id']}", headers=auth("collector1"))).json()
    assert {k: approval["snapshot"][k] for k in ("dpd", "bucket", "overdue_amount", "min_dpd")} == {
        "dpd": 10, "bucket": "M1", "overdue_amount": "34588.67", "min_dpd": 30}


async def test_a_draft_is_judged_again_when_submitted_against_the_minimum_then(client, auth, db, org, open_case,
                                                                              tow_flow):
    case = await open_case()
    await tow_flow()
    await minimum(db, org, 10)  # the case is 10 days past due: at the minimum
    draft = await client.post(REQUESTS, json=await request_body(client, auth, case), headers=auth("collector1"))
    assert draft.status_code == 201, draft.text
    await minimum(db, org, 11)
    submitted = await client.post(f"{REQUESTS}/{draft.json()['id']}/submit", headers=auth("collector1"))
    assert submitted.status_code == 409, submitted.text
    assert (submitted.json()["code"], submitted.json()["minimum_dpd"]) == ("tow.below_minimum_dpd", 11)
    await minimum(db, org, 10)
    submitted = await client.post(f"{REQUESTS}/{draft.json()['id']}/submit", headers=auth("collector1"))
    assert submitted.status_code == 200, submitted.text
    assert (submitted.json()["status"], submitted.json()["min_dpd"]) == ("pending", 10)


async def test_a_flow_routes_tow_requests_on_their_dpd_bucket_and_overdue_amount(client, auth, org, open_case,
                                                                                make_flow):
    case = await open_case()
    # L2 only for M3 and later or very large debts: a 10-day M1 case of 34,588.67 goes to L1 alone.
    await make_flow([{"name": "L1", "rule": role_rule(org, "approver_l1"), "condition": "dpd > 5"},
                     {"name": "L2", "rule": role_rule(org, "approver_l2"), "condition": "overdue_amount > 100000"},
                     {"name": "M3", "rule": role_rule(org, "approver_l2"), "condition": "bucket == 'M3'"}],
                    request_type="tow")
    filed = await client.post(REQUESTS, json=await request_body(client, auth, case, submit=True),
                              headers=auth("collector1"))
    assert filed.status_code == 201, filed.text
    approval = (await client.get(f"/api/v1/approvals/{filed.json()['approval_id']}", headers=auth("collector1"))).json()
    assert approval["current_step"]["name"] == "L1"
    assert {s["name"]: s["status"] for s in approval["steps"]} == {"L1": "active", "L2": "skipped", "M3": "skipped"}
