"""A leaver's place on waiting steps moves with the handover, so no approval stalls on them."""

from sqlalchemy import select

from app.core.audit import AuditEvent
from tests.approvals.conftest import users_rule


async def _hand_over(client, auth, org, leaver: str, receiver: str, *, lock: bool = True):
    response = await client.post("/api/v1/handovers", headers=auth("admin"), json={
        "from_user_id": str(org.users[leaver].id), "to_user_id": str(org.users[receiver].id),
        "lock_from_user": lock})
    assert response.status_code == 201, response.text
    return response


async def _approval(client, auth, approval_id: str, user: str = "admin") -> dict:
    response = await client.get(f"/api/v1/approvals/{approval_id}", headers=auth(user))
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_step_waiting_on_the_leaver_waits_on_the_receiver(client, auth, org, db, make_flow,
                                                                  submit_expense, act):
    await make_flow([{"name": "L1", "rule": users_rule(org, "approver1")},
                     {"name": "L2", "rule": users_rule(org, "admin")}])
    _, approval = await submit_expense()
    response = await _hand_over(client, auth, org, "approver1", "approver2")
    assert response.json()["moved"]["approvals"] == 1
    assert (await _approval(client, auth, approval["id"]))["waiting_on"] == [str(org.users["approver2"].id)]
    approved = await act("approver2", approval["id"], "approve")
    assert approved.status_code == 200, approved.text
    assert approved.json()["waiting_on"] == [str(org.users["admin"].id)]
    # The handover stays one audit event; the instance's own history shows the transfer.
    events = (await db.scalars(select(AuditEvent.action).where(
        AuditEvent.request_id == response.headers["x-request-id"]))).all()
    assert events == ["user.handed_over"]
    history = (await _approval(client, auth, approval["id"]))["actions"]
    assert any(a["action"] == "transfer" and a["comment"] == "handover" for a in history)


async def test_a_receiver_who_may_not_approve_leaves_the_step_to_the_administrators(client, auth, org, make_flow,
                                                                                    submit_expense, act):
    await make_flow([{"name": "L1", "rule": users_rule(org, "approver1")}])
    _, approval = await submit_expense()
    response = await _hand_over(client, auth, org, "approver1", "sales2")  # sales2 lacks approval.approve
    assert response.json()["moved"]["approvals"] == 0
    assert (await _approval(client, auth, approval["id"]))["waiting_on"] == [str(org.users["admin"].id)]
    assert (await act("sales2", approval["id"], "approve")).status_code == 403
    assert (await act("admin", approval["id"], "approve")).json()["status"] == "approved"


async def test_a_countersign_does_not_stall_when_one_signer_leaves(client, auth, org, make_flow, submit_expense, act):
    await make_flow([{"name": "joint", "rule": users_rule(org, "approver1", "approver2"), "mode": "all"}])
    _, approval = await submit_expense()
    # approver2 already signs this step: approver1's place is dropped, not doubled.
    response = await _hand_over(client, auth, org, "approver1", "approver2")
    assert response.json()["moved"]["approvals"] == 0
    assert (await _approval(client, auth, approval["id"]))["waiting_on"] == [str(org.users["approver2"].id)]
    assert (await act("approver2", approval["id"], "approve")).json()["status"] == "approved"


async def test_the_receiver_never_takes_over_a_step_of_their_own_request(client, auth, org, make_flow,
                                                                        submit_expense):
    await make_flow([{"name": "L1", "rule": users_rule(org, "approver1")}])
    _, approval = await submit_expense(user="clerk1")
    granted = await client.put(f"/api/v1/users/{org.users['clerk1'].id}/permissions/approval.approve",
                               json={"granted": True}, headers=auth("admin"))
    assert granted.status_code == 204, granted.text  # clerk1 may approve, just not their own request
    await _hand_over(client, auth, org, "approver1", "clerk1", lock=False)
    waiting = (await _approval(client, auth, approval["id"]))["waiting_on"]
    assert str(org.users["clerk1"].id) not in waiting and waiting == [str(org.users["admin"].id)]


async def test_the_leavers_pending_request_names_the_receiver_who_then_never_approves_it(client, auth, org,
                                                                                        make_flow, submit_expense, act):
    await make_flow([{"name": "L1", "rule": users_rule(org, "approver1")}])
    expense, approval = await submit_expense(user="sales1")
    response = await _hand_over(client, auth, org, "sales1", "approver1")
    assert response.json()["moved"]["requests"] == 1
    after = await _approval(client, auth, approval["id"])
    # approver1 now submits it: their place on its step is cancelled and the administrators decide.
    assert after["submitter_id"] == str(org.users["approver1"].id)
    assert after["waiting_on"] == [str(org.users["admin"].id)]
    assert (await act("approver1", approval["id"], "approve")).status_code in (403, 409)
    request = await client.get(f"/api/v1/expense-requests/{expense['id']}", headers=auth("admin"))
    assert request.status_code == 200 and request.json()["requester_id"] == str(org.users["approver1"].id)
    assert (await act("admin", approval["id"], "approve")).json()["status"] == "approved"
