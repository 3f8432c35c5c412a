"""Issue 9, item 13: a request is refused at submission when a step that applies to it could be
approved by nobody but its submitter (instead of sitting forever at the step before)."""

from decimal import Decimal

import pytest
from sqlalchemy import select

from app.approvals.demo import seed_approvals
from app.approvals.models import ApprovalInstance
from app.core.errors import DomainError
from app.expenses import service as expenses
from app.expenses.schemas import ExpenseCreate
from app.org.models import UserRole
from tests.approvals.conftest import role_rule, seed_steps


async def _create(client, auth, user: str, amount: str) -> str:
    created = await client.post("/api/v1/expense-requests", headers=auth(user),
                                json={"title": "设备巡检", "amount": amount, "category": "repair"})
    assert created.status_code == 201, created.text
    return created.json()["id"]


async def test_the_only_administrator_submitting_above_the_final_threshold_is_refused_naming_the_step(
        client, auth, org, db, make_flow):
    await make_flow(seed_steps(org))
    expense_id = await _create(client, auth, "admin", "68000.00")
    refused = await client.post(f"/api/v1/expense-requests/{expense_id}/submit", headers=auth("admin"))
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["code"] == "approval.step_without_approver"
    assert problem["step"] == {"position": 2, "name": "final"} and "final" in problem["detail"]
    assert refused.headers["content-type"].startswith("application/problem+json")
    # nothing was started: the request is still a draft, no approval exists
    expense = (await client.get(f"/api/v1/expense-requests/{expense_id}", headers=auth("admin"))).json()
    assert expense["status"] == "draft" and expense["approval_id"] is None
    assert await db.scalar(select(ApprovalInstance.id).where(ApprovalInstance.request_id == expense_id)) is None


async def test_the_check_evaluates_conditions_on_the_submitted_values(client, auth, org, make_flow, act):
    # below the final threshold the administrators' step does not apply: the admin may submit
    await make_flow(seed_steps(org))
    expense_id = await _create(client, auth, "admin", "50000.00")
    submitted = await client.post(f"/api/v1/expense-requests/{expense_id}/submit", headers=auth("admin"))
    assert submitted.status_code == 200, submitted.text
    approval_id = submitted.json()["approval_id"]
    assert (await act("approver1", approval_id, "approve")).json()["status"] == "pending"
    assert (await act("approver2", approval_id, "approve")).json()["status"] == "approved"


async def test_a_resubmission_raised_above_the_threshold_is_refused(client, auth, org, make_flow, act):
    await make_flow(seed_steps(org))
    expense_id = await _create(client, auth, "admin", "900.00")
    submitted = await client.post(f"/api/v1/expense-requests/{expense_id}/submit", headers=auth("admin"))
    assert (await act("approver1", submitted.json()["approval_id"], "reject", {"comment": "补充"})).status_code == 200
    raised = await client.patch(f"/api/v1/expense-requests/{expense_id}", headers=auth("admin"),
                                json={"amount": "90000.00"})
    assert raised.status_code == 200, raised.text
    refused = await client.post(f"/api/v1/expense-requests/{expense_id}/submit", headers=auth("admin"))
    assert refused.status_code == 409 and refused.json()["code"] == "approval.step_without_approver"
    expense = (await client.get(f"/api/v1/expense-requests/{expense_id}", headers=auth("admin"))).json()
    assert expense["status"] == "rejected"


async def test_the_demo_flow_refuses_what_only_its_submitter_could_finally_approve(db, org, principal_of):
    await seed_approvals(db, org)
    admin = await principal_of("admin")
    big, _ = await expenses.create(db, admin, ExpenseCreate(title="年度设备采购", amount=Decimal("120000.00"),
                                                             category="repair"))  # type: ignore[arg-type]
    with pytest.raises(DomainError) as refused:
        await expenses.submit(db, admin, big)
    assert refused.value.status == 409 and refused.value.code == "approval.step_without_approver"
    assert refused.value.extra["step"]["name"] == "终审 (5万元以上)"
    # the salesperson's large request of the demo is unaffected: the administrator approves it
    sales1 = await principal_of("sales1")
    other, _ = await expenses.create(db, sales1, ExpenseCreate(title="大额", amount=Decimal("80000.00"),
                                                                category="repair"))  # type: ignore[arg-type]
    await expenses.submit(db, sales1, other)
    db.info.pop("audit_pending", None)


async def test_a_second_administrator_makes_the_submission_possible(client, auth, org, db, make_flow, act):
    db.add(UserRole(user_id=org.users["leader"].id, role_id=org.roles["sysadmin"].id))
    await db.flush()
    await make_flow(seed_steps(org))
    expense_id = await _create(client, auth, "admin", "68000.00")
    submitted = await client.post(f"/api/v1/expense-requests/{expense_id}/submit", headers=auth("admin"))
    assert submitted.status_code == 200, submitted.text
    approval_id = submitted.json()["approval_id"]
    await act("approver1", approval_id, "approve")
    at_final = await act("approver2", approval_id, "approve")
    assert at_final.status_code == 200, at_final.text
    assert at_final.json()["waiting_on"] == [str(org.users["leader"].id)]


async def test_checking_every_step_costs_the_same_however_many_steps_apply(client, auth, org, make_flow,
                                                                            count_queries):
    counts = []
    for n in (2, 8):
        steps = [{"name": f"L{i}", "rule": role_rule(org, "approver_l1" if i % 2 else "approver_l2")}
                 for i in range(n)]
        flow = await make_flow(steps)
        expense_id = await _create(client, auth, "sales1", "100.00")
        async with count_queries() as counted:
            submitted = await client.post(f"/api/v1/expense-requests/{expense_id}/submit", headers=auth("sales1"))
        assert submitted.status_code == 200, submitted.text
        counts.append(counted.n)
        assert (await client.patch(f"/api/v1/approval-flows/{flow['id']}", json={"is_active": False},
                                   headers=auth("admin"))).status_code == 200
    assert counts[0] == counts[1]
