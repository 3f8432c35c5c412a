"""Issue 9, items 11 and 12: an approval names everyone it shows (for readers who cannot look users
up), and keeps every round's snapshot and outcome across resubmissions."""

import asyncio
import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.core.db import to_async_url
from tests.approvals.conftest import seed_steps
from tests.contract.conftest import _create_database, _with_database
from tests.test_migrations import _alembic

APPROVER1 = {"display_name": "赵主管 (一级审核)", "role_titles": ["一级审核人"], "department_name": "财务部",
             "company_name": "华东机械上海公司"}
SALES1 = {"display_name": "钱业务", "role_titles": ["业务员"], "department_name": "销售部",
          "company_name": "华东机械上海公司"}
ADMIN = {"display_name": "系统管理员", "role_titles": ["系统管理员"], "department_name": None,
         "company_name": "华东机械上海公司"}


def _named(org, username: str, card: dict) -> dict:
    return {"id": str(org.users[username].id), **card}


# --- item 11: who acted -----------------------------------------------------------------------------


async def test_a_submitter_sees_by_name_whom_the_approval_waits_on_and_who_acted(client, auth, org, make_flow,
                                                                                  submit_expense, act):
    await make_flow(seed_steps(org))
    _, approval = await submit_expense()
    # the submitter cannot look users up, so the approval itself names them
    lookup = await client.get(f"/api/v1/users/{org.users['approver1'].id}", headers=auth("sales1"))
    assert lookup.status_code == 403
    assert approval["waiting_on"] == [str(org.users["approver1"].id)]
    assert approval["waiting_on_users"] == [_named(org, "approver1", APPROVER1)]
    assert approval["submitter"] == _named(org, "sales1", SALES1)
    assert approval["steps"][0]["assignments"][0]["user"] == _named(org, "approver1", APPROVER1)

    moved = await act("approver1", approval["id"], "transfer",
                      {"to_user_id": str(org.users["admin"].id), "reason": "出差"})
    assert moved.status_code == 200, moved.text
    seen = (await client.get(f"/api/v1/approvals/{approval['id']}", headers=auth("sales1"))).json()
    transfer = next(a for a in seen["actions"] if a["action"] == "transfer")
    assert transfer["actor_id"] == str(org.users["approver1"].id)  # the ids stay
    assert transfer["actor"] == _named(org, "approver1", APPROVER1)
    assert transfer["target_user"] == _named(org, "admin", ADMIN)
    submit = next(a for a in seen["actions"] if a["action"] == "submit")
    assert submit["actor"]["display_name"] == "钱业务" and submit["target_user"] is None
    handed = [a for a in seen["steps"][0]["assignments"] if a["origin"] == "transfer"][0]
    assert handed["user"]["display_name"] == "系统管理员"
    assert handed["transferred_from"] == _named(org, "approver1", APPROVER1)
    assert seen["waiting_on_users"] == [_named(org, "admin", ADMIN)]


async def test_both_inboxes_name_the_submitter_and_the_approvers(client, auth, org, make_flow, submit_expense):
    await make_flow(seed_steps(org))
    _, approval = await submit_expense()
    for url in ("/api/v1/approvals", "/api/mobile/v1/approvals"):
        inbox = await client.get(url, params={"waiting_on": "me"}, headers=auth("approver1"))
        assert inbox.status_code == 200, inbox.text
        item = inbox.json()["items"][0]
        assert item["id"] == approval["id"]
        assert item["submitter"] == _named(org, "sales1", SALES1)
        assert item["waiting_on_users"] == [_named(org, "approver1", APPROVER1)]
    mobile = await client.get(f"/api/mobile/v1/approvals/{approval['id']}", headers=auth("approver1"))
    assert mobile.json()["actions"][0]["actor"]["display_name"] == "钱业务"


async def test_a_page_names_everyone_at_a_fixed_number_of_queries(client, auth, org, make_flow, submit_expense,
                                                                  count_queries):
    await make_flow(seed_steps(org))

    async def page_queries() -> int:
        async with count_queries() as counted:
            response = await client.get("/api/v1/approvals", headers=auth("admin"))
        assert response.status_code == 200
        assert all(i["submitter"]["display_name"] for i in response.json()["items"])
        return counted.n

    await submit_expense()
    one = await page_queries()
    for user in ("sales2", "clerk1", "collector1", "sales1"):
        await submit_expense(user=user)
    assert await page_queries() == one


# --- item 12: rounds ----------------------------------------------------------------------------------


async def test_a_resubmission_keeps_what_the_rejected_round_submitted(client, auth, org, make_flow, submit_expense,
                                                                      act):
    await make_flow(seed_steps(org))
    expense, approval = await submit_expense("2000.00")
    aid = approval["id"]
    assert [(r["round"], r["outcome"], r["snapshot"]["amount"]) for r in approval["rounds"]] == [
        (1, "pending", "2000.00")]
    await act("approver1", aid, "reject", {"comment": "缺少发票"})
    await client.patch(f"/api/v1/expense-requests/{expense['id']}", headers=auth("sales1"), json={"amount": "1800.00"})
    resubmitted = await client.post(f"/api/v1/expense-requests/{expense['id']}/submit", headers=auth("sales1"))
    assert resubmitted.status_code == 200, resubmitted.text

    detail = (await client.get(f"/api/v1/approvals/{aid}", headers=auth("sales1"))).json()
    first, second = detail["rounds"]
    assert (first["round"], first["outcome"], first["snapshot"]["amount"]) == (1, "rejected", "2000.00")
    assert first["decided_at"] and first["submitted_at"] < second["submitted_at"]
    assert (second["round"], second["outcome"], second["snapshot"]["amount"]) == (2, "pending", "1800.00")
    assert second["decided_at"] is None and detail["snapshot"] == second["snapshot"]
    assert first["flow_version_id"] == second["flow_version_id"] == detail["flow_version_id"]
    # each action says which round it belongs to: the rejection stays with what was rejected
    assert [(a["round"], a["action"]) for a in detail["actions"]] == [(1, "submit"), (1, "reject"), (2, "submit")]

    await act("approver1", aid, "approve")
    done = (await act("approver2", aid, "approve")).json()
    assert [r["outcome"] for r in done["rounds"]] == ["rejected", "approved"]
    assert done["rounds"][1]["decided_at"] == done["decided_at"]


async def test_a_withdrawn_round_is_kept_with_its_outcome(client, auth, org, make_flow, submit_expense):
    await make_flow(seed_steps(org))
    expense, approval = await submit_expense("300.00")
    await client.post(f"/api/v1/expense-requests/{expense['id']}/withdraw", headers=auth("sales1"))
    await client.patch(f"/api/v1/expense-requests/{expense['id']}", headers=auth("sales1"), json={"amount": "350.00"})
    await client.post(f"/api/v1/expense-requests/{expense['id']}/submit", headers=auth("sales1"))
    detail = (await client.get(f"/api/v1/approvals/{approval['id']}", headers=auth("sales1"))).json()
    assert [(r["outcome"], r["snapshot"]["amount"]) for r in detail["rounds"]] == [
        ("withdrawn", "300.00"), ("pending", "350.00")]


async def test_the_detail_costs_the_same_however_many_rounds_and_people(client, auth, org, make_flow,
                                                                        submit_expense, act, count_queries):
    await make_flow(seed_steps(org))
    expense, approval = await submit_expense("2000.00")
    url = f"/api/v1/approvals/{approval['id']}"

    async def detail_queries() -> int:
        async with count_queries() as counted:
            response = await client.get(url, headers=auth("sales1"))
        assert response.status_code == 200
        return counted.n

    one = await detail_queries()
    for _ in range(3):
        await act("approver1", approval["id"], "transfer", {"to_user_id": str(org.users["admin"].id), "reason": "x"})
        await act("admin", approval["id"], "reject", {"comment": "again"})
        await client.post(f"/api/v1/expense-requests/{expense['id']}/submit", headers=auth("sales1"))
    assert len((await client.get(url, headers=auth("sales1"))).json()["rounds"]) == 4
    assert await detail_queries() == one


def test_the_migration_backfills_every_round_from_the_submit_actions(database_url):
    """An instance rejected and resubmitted before the round table existed gets both rounds."""
    name = f"recourse_rounds_{uuid.uuid4().hex[:8]}"
    asyncio.run(_create_database(database_url, name))
    url = _with_database(database_url, name)
    _alembic(url, ("upgrade", "0003"))
    ids = {k: str(uuid.uuid4()) for k in ("group", "company", "user", "flow", "v1", "v2", "instance", "plain")}

    async def seed() -> None:
        engine = create_async_engine(to_async_url(url))
        async with engine.begin() as conn:
            for sql in SEED_BEFORE_ROUNDS:
                await conn.execute(text(sql), ids)
        await engine.dispose()

    async def rounds() -> list[tuple]:
        engine = create_async_engine(to_async_url(url))
        async with engine.connect() as conn:
            rows = (await conn.execute(text(
                "SELECT instance_id::text, round, snapshot ->> 'amount', outcome, flow_version_id::text,"
                " decided_at IS NOT NULL FROM approval_round ORDER BY instance_id = :plain, round"), ids)).all()
        await engine.dispose()
        return [tuple(r) for r in rows]

    asyncio.run(seed())
    _alembic(url, ("upgrade", "head"))
    assert asyncio.run(rounds()) == [
        (ids["instance"], 1, "2000.00", "rejected", ids["v1"], True),
        (ids["instance"], 2, "1800.00", "pending", ids["v2"], False),
        (ids["plain"], 1, "5.00", "approved", ids["v1"], False),
    ]


# An organisation, a flow with two versions, an instance rejected in round 1 and resubmitted (round
# 2, a new flow version) and an approved single-round instance, as revision 0003 stored them.
SEED_BEFORE_ROUNDS = (
    "INSERT INTO org_group (id, code, name, timezone) VALUES (:group, 'g', 'g', 'UTC')",
    "INSERT INTO company (id, group_id, code, name, timezone) VALUES (:company, :group, 'C', 'C', 'UTC')",
    "INSERT INTO app_user (id, group_id, company_id, username, display_name, password_hash, is_active,"
    " failed_login_count) VALUES (:user, :group, :company, 'u', 'U', 'x', true, 0)",
    "INSERT INTO approval_flow (id, group_id, request_type, name, is_active, current_version)"
    " VALUES (:flow, :group, 'expense', 'f', true, 2)",
    "INSERT INTO approval_flow_version (id, flow_id, number, steps, created_at)"
    " VALUES (:v1, :flow, 1, '[]', now()), (:v2, :flow, 2, '[]', now())",
    "INSERT INTO approval_instance (id, group_id, company_id, request_type, request_id, title,"
    " submitter_id, flow_id, flow_version_id, status, round, snapshot, submitted_at)"
    " VALUES (:instance, :group, :company, 'expense', gen_random_uuid(), 't', :user, :flow, :v2,"
    " 'pending', 2, '{\"amount\": \"1800.00\"}', '2026-11-02'),"
    " (:plain, :group, :company, 'expense', gen_random_uuid(), 't', :user, :flow, :v1,"
    " 'approved', 1, '{\"amount\": \"5.00\"}', '2026-11-03')",
    "INSERT INTO approval_action (id, instance_id, round, actor_id, action, data, created_at) VALUES"
    " (gen_random_uuid(), :instance, 1, :user, 'submit',"
    "  '{\"snapshot\": {\"amount\": \"2000.00\"}, \"flow_version\": 1}', '2026-11-01'),"
    " (gen_random_uuid(), :instance, 1, :user, 'reject', null, '2026-11-01 12:00'),"
    " (gen_random_uuid(), :instance, 2, :user, 'submit',"
    "  '{\"snapshot\": {\"amount\": \"1800.00\"}, \"flow_version\": 2}', '2026-11-02')",
)
