"""Approval flow configuration: validation, versions, company overrides, permissions."""

from tests.approvals.conftest import role_rule, seed_steps, users_rule


async def test_admin_creates_reads_and_lists_a_flow(client, auth, org, make_flow):
    flow = await make_flow(seed_steps(org))
    assert flow["current_version"] == 1 and len(flow["steps"]) == 3
    assert flow["steps"][2]["condition"] == "amount > 50000"
    got = await client.get(f"/api/v1/approval-flows/{flow['id']}", headers=auth("admin"))
    assert got.status_code == 200 and got.headers["etag"]
    listed = await client.get("/api/v1/approval-flows", params={"request_type": "expense"}, headers=auth("admin"))
    assert [f["id"] for f in listed.json()["items"]] == [flow["id"]]


async def test_request_types_name_their_condition_fields(client, auth):
    response = await client.get("/api/v1/approval-request-types", headers=auth("admin", **{"Accept-Language": "en"}))
    assert response.status_code == 200
    expense = next(t for t in response.json() if t["name"] == "expense")
    assert expense["fields"] == {"amount": "decimal", "category": "string", "company": "string"}


async def test_only_flow_managers_configure(client, auth, org):
    body = {"request_type": "expense", "name": "x", "steps": seed_steps(org)}
    assert (await client.post("/api/v1/approval-flows", json=body, headers=auth("approver1"))).status_code == 403
    assert (await client.get("/api/v1/approval-flows", headers=auth("sales1"))).status_code == 403


async def _refused(client, auth, steps, request_type="expense"):
    response = await client.post("/api/v1/approval-flows", headers=auth("admin"),
                                 json={"request_type": request_type, "name": "bad", "steps": steps})
    assert response.status_code == 422, response.text
    return response.json()


async def test_a_step_whose_rule_can_never_match_is_refused(client, auth, org):
    # salespeople do not hold approval.approve: the role can never approve
    problem = await _refused(client, auth, [{"name": "x", "rule": role_rule(org, "salesperson")}])
    assert problem["code"] == "approval_flow.invalid"
    assert problem["errors"][0]["pointer"] == "/body/steps/0/rule/role_id"
    # given users who cannot approve
    problem = await _refused(client, auth, [{"name": "ok", "rule": role_rule(org, "approver_l1")},
                                            {"name": "x", "rule": users_rule(org, "sales1")}])
    assert problem["errors"][0]["pointer"] == "/body/steps/1/rule"
    # a user of another group
    problem = await _refused(client, auth, [{"name": "x", "rule": users_rule(org, "other-admin")}])
    assert problem["errors"][0]["pointer"] == "/body/steps/0/rule/user_ids"


async def test_role_in_company_needs_a_holder_in_that_company(client, auth, org):
    response = await client.post("/api/v1/approval-flows", headers=auth("admin"), json={
        "request_type": "expense", "name": "C05", "company_id": str(org.companies["C05"].id),
        "steps": [{"name": "L1", "rule": role_rule(org, "approver_l1")}]})
    assert response.status_code == 422
    assert "finds no user" in response.json()["errors"][0]["message"]


async def test_bad_conditions_are_refused_with_a_pointer(client, auth, org):
    problem = await _refused(client, auth, [{"name": "L1", "rule": role_rule(org, "approver_l1"),
                                             "condition": "colour == red"}])
    assert problem["errors"][0]["pointer"] == "/body/steps/0/condition"
    assert "Unknown field" in problem["errors"][0]["message"]


async def test_unknown_request_type_is_refused(client, auth, org):
    problem = await _refused(client, auth, seed_steps(org), request_type="no_such_type")
    assert problem["code"] == "approval_flow.unknown_request_type"


async def test_one_active_flow_per_type_and_company(client, auth, org, make_flow):
    await make_flow(seed_steps(org))
    again = await client.post("/api/v1/approval-flows", headers=auth("admin"),
                              json={"request_type": "expense", "name": "dup", "steps": seed_steps(org)})
    assert again.status_code == 409
    # a company's own flow is allowed beside the group's
    await make_flow([{"name": "L2 only", "rule": role_rule(org, "approver_l2")}], company="C01")


async def test_editing_steps_creates_a_new_version(client, auth, org, make_flow):
    flow = await make_flow(seed_steps(org))
    stale = await client.patch(f"/api/v1/approval-flows/{flow['id']}", headers=auth("admin", **{"If-Match": 'W/"99"'}),
                               json={"name": "x"})
    assert stale.status_code == 412
    edited = await client.patch(f"/api/v1/approval-flows/{flow['id']}", headers=auth("admin"),
                                json={"steps": seed_steps(org)[:1]})
    assert edited.status_code == 200, edited.text
    assert edited.json()["current_version"] == 2 and len(edited.json()["steps"]) == 1
    versions = await client.get(f"/api/v1/approval-flows/{flow['id']}/versions", headers=auth("admin"))
    assert [v["number"] for v in versions.json()] == [2, 1]
    assert len(versions.json()[1]["steps"]) == 3
    renamed = await client.patch(f"/api/v1/approval-flows/{flow['id']}", headers=auth("admin"), json={"name": "n"})
    assert renamed.json()["current_version"] == 2  # no step change: no new version


async def test_other_group_cannot_see_a_flow(client, auth, org, make_flow):
    flow = await make_flow(seed_steps(org))
    response = await client.get(f"/api/v1/approval-flows/{flow['id']}", headers=auth("other-admin"))
    assert response.status_code == 404
