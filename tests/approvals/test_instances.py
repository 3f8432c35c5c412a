"""The life of an approval through the API: the acceptance lines of issue 4."""

from datetime import timedelta

from sqlalchemy import func, select, update

from app.approvals.models import ApprovalInstance
from app.core.audit import AuditEvent
from app.core.db import utcnow
from app.notifications.models import Notification
from app.org.models import Role
from tests.approvals.conftest import role_rule, seed_steps, users_rule


async def _audit_count(db, action: str, entity_id: str) -> int:
    return await db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == action, AuditEvent.entity_id == entity_id))


async def _inbox(client, auth, user: str) -> list[str]:
    response = await client.get("/api/v1/approvals", params={"waiting_on": "me"}, headers=auth(user))
    assert response.status_code == 200, response.text
    return [i["id"] for i in response.json()["items"]]


async def test_seed_example_reject_resubmit_approve_applies_the_effect_once(client, auth, org, db, make_flow,
                                                                           submit_expense, act):
    """Seed 000: submit → L1 rejects → revise, resubmit → L1 approves → L2 approves → final."""
    await make_flow(seed_steps(org))
    expense, approval = await submit_expense("2000.00")
    aid = approval["id"]
    assert aid in await _inbox(client, auth, "approver1")
    assert aid not in await _inbox(client, auth, "approver2")

    no_reason = await act("approver1", aid, "reject", {"comment": "  "})
    assert no_reason.status_code == 422
    rejected = await act("approver1", aid, "reject", {"comment": "缺少发票"})
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected" and rejected.json()["waiting_on"] == []
    e = (await client.get(f"/api/v1/expense-requests/{expense['id']}", headers=auth("sales1"))).json()
    assert e["status"] == "rejected"
    notes = (await client.get("/api/v1/notifications", headers=auth("sales1"))).json()["items"]
    assert any(n["kind"] == "approval.rejected" and n["body"] == "缺少发票" for n in notes)

    revised = await client.patch(f"/api/v1/expense-requests/{expense['id']}", headers=auth("sales1"),
                                 json={"amount": "1800.00"})
    assert revised.status_code == 200, revised.text
    resubmitted = await client.post(f"/api/v1/expense-requests/{expense['id']}/submit", headers=auth("sales1"))
    assert resubmitted.status_code == 200, resubmitted.text
    detail = (await client.get(f"/api/v1/approvals/{aid}", headers=auth("sales1"))).json()
    assert detail["status"] == "pending" and detail["round"] == 2
    assert detail["snapshot"]["amount"] == "1800.00"

    first = await act("approver1", aid, "approve", {"comment": "同意", "step_id": detail["current_step"]["id"]})
    assert first.status_code == 200, first.text
    assert first.json()["current_step"]["name"] == "L2"
    assert first.json()["waiting_on"] == [str(org.users["approver2"].id)]
    final = await act("approver2", aid, "approve")
    assert final.status_code == 200, final.text
    body = final.json()
    assert body["status"] == "approved" and body["current_step"] is None and body["decided_at"]

    # the whole record: both rounds, every step, who acted, with what comment, when
    assert [(s["round"], s["name"], s["status"]) for s in body["steps"]] == [
        (1, "L1", "rejected"), (1, "L2", "cancelled"), (1, "final", "skipped"),
        (2, "L1", "approved"), (2, "L2", "approved"), (2, "final", "skipped")]
    assert [a["action"] for a in body["actions"]] == ["submit", "reject", "submit", "approve", "approve"]
    assert body["actions"][1]["comment"] == "缺少发票" and body["actions"][3]["comment"] == "同意"
    assert all(a["created_at"] for a in body["actions"])

    e = (await client.get(f"/api/v1/expense-requests/{expense['id']}", headers=auth("sales1"))).json()
    assert e["status"] == "approved" and e["approved_at"]
    assert await _audit_count(db, "expense.approved", expense["id"]) == 1
    again = await act("approver2", aid, "approve")
    assert again.status_code == 409
    assert await _audit_count(db, "expense.approved", expense["id"]) == 1
    notes = (await client.get("/api/v1/notifications", headers=auth("sales1"))).json()["items"]
    assert any(n["kind"] == "approval.approved" for n in notes)


async def _levels(submit_expense, amount: str) -> list[str]:
    _, approval = await submit_expense(amount)
    return [s["name"] for s in approval["steps"] if s["status"] != "skipped"]


async def test_amount_conditions_select_the_levels(org, make_flow, submit_expense):
    await make_flow([
        {"name": "sales manager", "rule": role_rule(org, "approver_l1")},
        {"name": "vice GM", "rule": role_rule(org, "approver_l2"), "condition": "amount > 1000"},
        {"name": "GM", "rule": {"kind": "administrators"}, "condition": "amount > 5000"},
    ])
    assert await _levels(submit_expense, "800.00") == ["sales manager"]
    assert await _levels(submit_expense, "1000.00") == ["sales manager"]
    assert await _levels(submit_expense, "1000.01") == ["sales manager", "vice GM"]
    assert await _levels(submit_expense, "5000.00") == ["sales manager", "vice GM"]
    assert await _levels(submit_expense, "5000.01") == ["sales manager", "vice GM", "GM"]


async def test_three_levels_end_with_the_final_approver(org, make_flow, submit_expense, act):
    await make_flow(seed_steps(org))
    _, approval = await submit_expense("68000.00")
    for user in ("approver1", "approver2"):
        assert (await act(user, approval["id"], "approve")).json()["status"] == "pending"
    final = await act("admin", approval["id"], "approve")
    assert final.json()["status"] == "approved"


async def test_countersign_needs_every_approver(org, make_flow, submit_expense, act):
    await make_flow([{"name": "joint", "rule": users_rule(org, "approver1", "approver2"), "mode": "all"}])
    _, approval = await submit_expense()
    assert sorted(approval["waiting_on"]) == sorted([str(org.users["approver1"].id), str(org.users["approver2"].id)])
    one = await act("approver1", approval["id"], "approve")
    assert one.json()["status"] == "pending"
    assert one.json()["waiting_on"] == [str(org.users["approver2"].id)]
    assert (await act("approver1", approval["id"], "approve")).status_code == 409  # twice
    both = await act("approver2", approval["id"], "approve")
    assert both.json()["status"] == "approved"


async def test_any_mode_first_approver_decides_the_step(org, make_flow, submit_expense, act):
    await make_flow([{"name": "either", "rule": users_rule(org, "approver1", "approver2")},
                     {"name": "admin", "rule": {"kind": "administrators"}}])
    _, approval = await submit_expense()
    assert (await act("approver2", approval["id"], "approve")).status_code == 200
    late = await act("approver1", approval["id"], "approve")
    assert late.status_code == 409 and late.json()["code"] == "approval.step_moved_on"


async def test_the_submitter_never_approves_their_own_request(client, auth, org, db, make_flow, submit_expense, act):
    # approver1 submits; the L1 rule finds only approver1 → the step goes to their manager (approver2)
    await db.execute(update(Role).where(Role.id == org.roles["approver_l1"].id)
                     .values(permissions=Role.permissions + ["expense.create", "expense.read", "approval.submit"]))
    await make_flow(seed_steps(org))
    _, approval = await submit_expense("900.00", user="approver1")
    step = approval["steps"][0]
    assert step["assignments"][0]["origin"] == "manager"
    assert step["assignments"][0]["user_id"] == str(org.users["approver2"].id)
    assert str(org.users["approver1"].id) not in approval["waiting_on"]
    own = await act("approver1", approval["id"], "approve")
    assert own.status_code == 403 and own.json()["code"] == "approval.own_request"
    # the same person in consecutive steps approves each step explicitly
    first = await act("approver2", approval["id"], "approve")
    assert first.json()["status"] == "pending" and first.json()["current_step"]["name"] == "L2"
    second = await act("approver2", approval["id"], "approve")
    assert second.json()["status"] == "approved"


async def test_a_rule_that_finds_nobody_goes_to_the_administrators(client, auth, org, make_flow, submit_expense, act):
    # collector1's department head (dispatcher) may not approve: the administrators get the step
    await make_flow([{"name": "head", "rule": {"kind": "department_head"}}])
    _, approval = await submit_expense(user="collector1")
    assert approval["waiting_on"] == [str(org.users["admin"].id)]
    assert approval["steps"][0]["assignments"][0]["origin"] == "administrators"
    assert (await act("admin", approval["id"], "approve")).json()["status"] == "approved"


async def test_department_head_and_manager_rules(client, auth, org, make_flow, submit_expense):
    await make_flow([{"name": "head", "rule": {"kind": "department_head"}},
                     {"name": "boss", "rule": {"kind": "manager"}}])
    _, approval = await submit_expense(user="sales2")  # sales: head approver1; manager approver1
    assert approval["waiting_on"] == [str(org.users["approver1"].id)]


async def test_an_approver_whose_scope_lacks_the_company_is_refused(client, auth, org, db, make_flow, submit_expense,
                                                                     act):
    await make_flow([{"name": "L1", "rule": role_rule(org, "approver_l1")}])
    _, approval = await submit_expense()
    # at the moment they act, approver1's role no longer covers C01
    await db.execute(update(Role).where(Role.id == org.roles["approver_l1"].id).values(scope_kind="self"))
    refused = await act("approver1", approval["id"], "approve")
    assert refused.status_code == 403 and refused.json()["code"] == "approval.company_out_of_scope"


async def test_an_approver_who_lost_the_role_is_refused(client, auth, org, db, make_flow, submit_expense, act):
    await make_flow([{"name": "L1", "rule": role_rule(org, "approver_l1")}])
    _, approval = await submit_expense()
    await db.execute(update(Role).where(Role.id == org.roles["approver_l1"].id)
                     .values(permissions=[p for p in org.roles["approver_l1"].permissions if p != "approval.approve"]))
    assert (await act("approver1", approval["id"], "approve")).status_code == 403


async def test_someone_not_waited_on_is_refused(org, make_flow, submit_expense, act):
    await make_flow(seed_steps(org))
    _, approval = await submit_expense()
    early = await act("approver2", approval["id"], "approve")
    assert early.status_code == 403 and early.json()["code"] == "approval.not_an_approver"
    no_permission = await act("clerk1", approval["id"], "approve")
    assert no_permission.status_code == 403


async def test_withdraw_by_the_submitter_before_the_final_approval(client, auth, org, make_flow, submit_expense, act):
    await make_flow(seed_steps(org))
    expense, approval = await submit_expense()
    editing = await client.patch(f"/api/v1/expense-requests/{expense['id']}", headers=auth("sales1"),
                                 json={"amount": "1.00"})
    assert editing.status_code == 409 and editing.json()["code"] == "expense.not_editable"
    assert (await act("sales2", approval["id"], "withdraw")).status_code == 404  # not visible to a peer
    assert (await act("approver1", approval["id"], "withdraw")).status_code == 403  # no approval.submit
    withdrawn = await client.post(f"/api/v1/expense-requests/{expense['id']}/withdraw", headers=auth("sales1"))
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    detail = (await client.get(f"/api/v1/approvals/{approval['id']}", headers=auth("sales1"))).json()
    assert detail["status"] == "withdrawn" and detail["waiting_on"] == []
    assert approval["id"] not in await _inbox(client, auth, "approver1")
    assert (await act("approver1", approval["id"], "approve")).status_code == 409
    assert (await act("sales1", approval["id"], "withdraw")).status_code == 409
    # editable again, and resubmittable
    assert (await client.patch(f"/api/v1/expense-requests/{expense['id']}", headers=auth("sales1"),
                               json={"amount": "10.00"})).status_code == 200
    assert (await client.post(f"/api/v1/expense-requests/{expense['id']}/submit",
                              headers=auth("sales1"))).status_code == 200


async def test_withdraw_after_final_approval_is_refused(org, make_flow, submit_expense, act):
    await make_flow([{"name": "L1", "rule": role_rule(org, "approver_l1")}])
    _, approval = await submit_expense()
    await act("approver1", approval["id"], "approve")
    late = await act("sales1", approval["id"], "withdraw", {"reason": "too late"})
    assert late.status_code == 409 and late.json()["code"] == "approval.illegal_transition"


async def test_urge_notifies_the_current_approvers_at_most_once_an_hour(client, auth, org, db, make_flow,
                                                                        submit_expense, act):
    await make_flow(seed_steps(org))
    _, approval = await submit_expense()
    assert (await act("approver1", approval["id"], "urge")).status_code == 403  # no approval.submit
    urged = await act("sales1", approval["id"], "urge", {"comment": "客户急需"})
    assert urged.status_code == 200, urged.text
    count = await db.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == org.users["approver1"].id, Notification.kind == "approval.urged"))
    assert count == 1
    too_soon = await act("sales1", approval["id"], "urge")
    assert too_soon.status_code == 429 and too_soon.json()["code"] == "approval.urge_too_soon"
    assert int(too_soon.headers["retry-after"]) > 3500
    await db.execute(update(ApprovalInstance).where(ApprovalInstance.id == approval["id"])
                     .values(last_urged_at=utcnow() - timedelta(minutes=61)))
    assert (await act("sales1", approval["id"], "urge")).status_code == 200


async def test_transfer_hands_the_step_to_another_eligible_user(client, auth, org, make_flow, submit_expense, act):
    await make_flow([{"name": "L1", "rule": role_rule(org, "approver_l1")},
                     {"name": "L2", "rule": role_rule(org, "approver_l2")}])
    _, approval = await submit_expense()
    aid = approval["id"]
    no_reason = await act("approver1", aid, "transfer", {"to_user_id": str(org.users["admin"].id), "reason": ""})
    assert no_reason.status_code == 422
    ineligible = await act("approver1", aid, "transfer", {"to_user_id": str(org.users["clerk1"].id), "reason": "x"})
    assert ineligible.status_code == 422 and ineligible.json()["code"] == "approval.transfer_target_ineligible"
    to_submitter = await act("approver1", aid, "transfer", {"to_user_id": str(org.users["sales1"].id), "reason": "x"})
    assert to_submitter.status_code == 422
    moved = await act("approver1", aid, "transfer", {"to_user_id": str(org.users["admin"].id), "reason": "出差"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["waiting_on"] == [str(org.users["admin"].id)]
    assert aid in await _inbox(client, auth, "admin") and aid not in await _inbox(client, auth, "approver1")
    assert (await act("approver1", aid, "approve")).status_code == 409
    approved = await act("admin", aid, "approve")
    assert approved.json()["current_step"]["name"] == "L2"
    actions = [(a["action"], a["target_user_id"]) for a in approved.json()["actions"]]
    assert ("transfer", str(org.users["admin"].id)) in actions
    # the past approver still sees the record
    assert (await client.get(f"/api/v1/approvals/{aid}", headers=auth("approver1"))).status_code == 200


async def test_a_flow_edit_does_not_affect_a_running_instance(client, auth, org, make_flow, submit_expense, act):
    flow = await make_flow([{"name": "L1", "rule": role_rule(org, "approver_l1")}])
    _, running = await submit_expense()
    edited = await client.patch(f"/api/v1/approval-flows/{flow['id']}", headers=auth("admin"), json={"steps": [
        {"name": "L1", "rule": role_rule(org, "approver_l1")}, {"name": "L2", "rule": role_rule(org, "approver_l2")}]})
    assert edited.json()["current_version"] == 2
    done = await act("approver1", running["id"], "approve")
    assert done.json()["status"] == "approved"  # still the one-step version it started with
    _, later = await submit_expense()
    assert [s["name"] for s in later["steps"]] == ["L1", "L2"]
    assert later["flow_version_id"] != running["flow_version_id"]


async def test_a_company_flow_overrides_the_groups(org, make_flow, submit_expense):
    await make_flow(seed_steps(org))
    await make_flow([{"name": "C01 L2 only", "rule": role_rule(org, "approver_l2")}], company="C01")
    _, approval = await submit_expense()
    assert [s["name"] for s in approval["steps"]] == ["C01 L2 only"]


async def test_no_flow_configured(client, auth):
    created = await client.post("/api/v1/expense-requests", headers=auth("sales1"),
                                json={"title": "x", "amount": "5.00"})
    response = await client.post(f"/api/v1/expense-requests/{created.json()['id']}/submit", headers=auth("sales1"))
    assert response.status_code == 409 and response.json()["code"] == "approval.no_flow"


async def test_moved_on_step_stale_etag_and_double_action(client, auth, org, make_flow, submit_expense, act):
    await make_flow(seed_steps(org))
    _, approval = await submit_expense()
    aid, l1 = approval["id"], approval["current_step"]["id"]
    got = await client.get(f"/api/v1/approvals/{aid}", headers=auth("approver1"))
    etag = got.headers["etag"]
    assert (await act("approver1", aid, "approve", {"step_id": l1}, **{"If-Match": etag})).status_code == 200
    stale = await act("approver2", aid, "approve", None, **{"If-Match": etag})
    assert stale.status_code == 412
    moved = await act("approver2", aid, "approve", {"step_id": l1})
    assert moved.status_code == 409 and moved.json()["code"] == "approval.step_moved_on"
    twice = await act("approver1", aid, "approve")
    assert twice.status_code == 409
    twice_reject = await act("approver1", aid, "reject", {"comment": "x"})
    assert twice_reject.status_code == 409


async def test_who_sees_an_instance(client, auth, org, make_flow, submit_expense, act):
    await make_flow(seed_steps(org))
    _, approval = await submit_expense()
    url = f"/api/v1/approvals/{approval['id']}"
    seen = {u: (await client.get(url, headers=auth(u))).status_code
            for u in ("sales1", "approver1", "approver2", "leader", "admin", "sales2", "collector1",
                      "collector3", "investigator1", "other-admin")}
    assert seen == {"sales1": 200, "approver1": 200, "approver2": 200, "leader": 200, "admin": 200,
                    "sales2": 404, "collector1": 404, "collector3": 404, "investigator1": 404, "other-admin": 404}


async def test_cross_company_approval(client, auth, org, db, make_flow, submit_expense, act):
    # collectors get approval rights over C01; collector3 works for C02
    await db.execute(update(Role).where(Role.id == org.roles["collector"].id)
                     .values(permissions=Role.permissions + ["approval.approve"], scope_kind="companies",
                             scope_company_ids=[org.companies["C01"].id]))
    await make_flow([{"name": "in company", "rule": role_rule(org, "collector")},
                     {"name": "any company", "rule": role_rule(org, "collector", any_company=True)}])
    _, approval = await submit_expense()
    in_company = {str(org.users[u].id) for u in ("collector1", "collector2")}
    assert set(approval["waiting_on"]) == in_company
    assert (await act("collector3", approval["id"], "approve")).status_code == 403
    step2 = await act("collector1", approval["id"], "approve")
    assert set(step2.json()["waiting_on"]) == in_company | {str(org.users["collector3"].id)}
    assert (await act("collector3", approval["id"], "approve")).json()["status"] == "approved"


async def test_lists_filter_and_page(client, auth, org, db, make_flow, submit_expense, act):
    await make_flow(seed_steps(org))
    _, a = await submit_expense("100.00")
    _, b = await submit_expense("200.00")
    _, c = await submit_expense("300.00", user="sales2")
    await act("approver1", c["id"], "reject", {"comment": "no"})

    async def ids(user, **params):
        response = await client.get("/api/v1/approvals", params=params, headers=auth(user))
        assert response.status_code == 200, response.text
        return {i["id"] for i in response.json()["items"]}

    assert await ids("approver1", waiting_on="me") == {a["id"], b["id"]}
    assert await ids("sales1", submitted_by="me") == {a["id"], b["id"]}
    assert await ids("sales1") == {a["id"], b["id"]}
    assert await ids("approver1", status="rejected") == {c["id"]}
    assert await ids("approver1", type="expense") == {a["id"], b["id"], c["id"]}
    assert await ids("approver1", type="other") == set()
    assert await ids("approver1", overdue_hours=24) == set()
    await db.execute(update(ApprovalInstance).where(ApprovalInstance.id == a["id"])
                     .values(waiting_since=utcnow() - timedelta(hours=30)))
    assert await ids("approver1", overdue_hours=24) == {a["id"]}
    first = await client.get("/api/v1/approvals", params={"limit": 1}, headers=auth("approver1"))
    body = first.json()
    assert len(body["items"]) == 1 and body["next_cursor"]
    summary = body["items"][0]
    assert summary["waiting_seconds"] is not None or summary["status"] != "pending"
    second = await client.get("/api/v1/approvals", params={"limit": 1, "cursor": body["next_cursor"]},
                              headers=auth("approver1"))
    assert second.json()["items"][0]["id"] != summary["id"]


async def test_the_approver_on_the_road_uses_the_field_api(client, auth, org, make_flow, submit_expense):
    await make_flow(seed_steps(org))
    _, approval = await submit_expense()
    inbox = await client.get("/api/mobile/v1/approvals", params={"waiting_on": "me"}, headers=auth("approver1"))
    assert [i["id"] for i in inbox.json()["items"]] == [approval["id"]]
    approved = await client.post(f"/api/mobile/v1/approvals/{approval['id']}/approve", json={"comment": "路上批了"},
                                 headers=auth("approver1"))
    assert approved.status_code == 200
    rejected = await client.post(f"/api/mobile/v1/approvals/{approval['id']}/reject", json={"comment": "不行"},
                                 headers=auth("approver2"))
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"


async def test_a_retried_approval_with_the_same_idempotency_key_replays(org, make_flow, submit_expense, act):
    await make_flow(seed_steps(org))
    _, approval = await submit_expense()
    first = await act("approver1", approval["id"], "approve", {"comment": "ok"}, **{"Idempotency-Key": "k-1"})
    retry = await act("approver1", approval["id"], "approve", {"comment": "ok"}, **{"Idempotency-Key": "k-1"})
    assert (first.status_code, retry.status_code) == (200, 200)
    assert retry.headers.get("idempotent-replayed") == "true" and retry.json() == first.json()


async def test_the_inbox_costs_a_fixed_number_of_queries(client, auth, org, make_flow, submit_expense,
                                                         count_queries):
    await make_flow(seed_steps(org))

    async def inbox_queries() -> int:
        async with count_queries() as counted:
            response = await client.get("/api/v1/approvals", params={"waiting_on": "me"}, headers=auth("approver1"))
        assert response.status_code == 200
        return counted.n

    await submit_expense()
    await inbox_queries()  # the first request also loads approver1's principal into the cache
    one = await inbox_queries()
    for _ in range(5):
        await submit_expense()
    assert await inbox_queries() == one


async def test_resolving_a_steps_approvers_costs_the_same_however_many_candidates_the_rule_finds(
        client, auth, org, make_flow, submit_expense, count_queries):
    everyone = [u for u in org.users if org.users[u].group_id == org.users["admin"].group_id and u != "sales1"]
    counts = []
    await client.get("/api/v1/me", headers=auth("sales1"))  # sales1's principal into the cache
    for usernames in (["approver1", "approver2"], everyone):
        flow = await make_flow([{"name": "L1", "rule": users_rule(org, *usernames), "mode": "any"}])
        async with count_queries() as counted:
            _, approval = await submit_expense()
        counts.append(counted.n)
        # Only those who may approve are waited on, whoever else the rule names.
        # The leader approves shipments of his seven companies (seed 000), so holds approval.approve.
        may_approve = {"approver1", "approver2", "admin", "leader"} & set(usernames)
        assert set(approval["waiting_on"]) == {str(org.users[u].id) for u in may_approve}
        response = await client.patch(f"/api/v1/approval-flows/{flow['id']}", json={"is_active": False},
                                      headers=auth("admin"))
        assert response.status_code == 200, response.text
    assert len(everyone) > 8 and counts[0] == counts[1]


async def test_reject_takes_a_comment_like_approve_and_still_accepts_the_older_reason(org, make_flow,
                                                                                        submit_expense, act):
    await make_flow(seed_steps(org))
    _, approval = await submit_expense("2000.00")
    missing = await act("approver1", approval["id"], "reject", {})
    assert missing.status_code == 422
    assert any(e["pointer"] == "/body/comment" for e in missing.json()["errors"]), missing.text
    both = await act("approver1", approval["id"], "reject", {"comment": "a", "reason": "b"})
    assert both.status_code == 422
    rejected = await act("approver1", approval["id"], "reject", {"reason": "缺少发票"})
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected"
