"""Bad input never answers 500: NUL and control characters, oversized strings and lists, booleans
for integers, loose money and time zones are refused as 4xx problems at the schema layer, in every
area, for bodies, query, path, form and header parameters. Exports survive whatever is stored."""

import csv
import io
import uuid

import pytest
from openpyxl import load_workbook

from app.customers.importexport import XLSX_MEDIA_TYPE
from tests.customers.helpers import insert_customer

PROBLEM = "application/problem+json"
HUGE = "x" * 40_000
U = str(uuid.UUID(int=1))

# (id, method, path, user, json body or None, query params or None)
BODY_CASES = [
    # customers
    ("customer-name-nul", "POST", "/api/v1/customers", "sales1", {"name": "坏\x00名"}),
    ("customer-name-ctrl", "POST", "/api/v1/customers", "sales1", {"name": "坏\x01名"}),
    ("customer-name-del", "POST", "/api/v1/customers", "sales1", {"name": "坏\x7f名"}),
    ("customer-address-40k", "POST", "/api/v1/customers", "sales1", {"name": "长地址公司", "addresses": [HUGE]}),
    ("customer-tag-40k", "POST", "/api/v1/customers", "sales1", {"name": "长标签公司", "tags": [HUGE]}),
    ("customer-notes-nul", "POST", "/api/v1/customers", "sales1", {"name": "备注公司", "notes": "a\x00b"}),
    ("customer-score-bool", "POST", "/api/v1/customers", "sales1", {"name": "信用分公司", "credit_score": False}),
    ("customer-confirm-int", "POST", "/api/v1/customers", "sales1", {"name": "确认公司", "confirm_duplicate": 1}),
    ("customer-industry-40k", "POST", "/api/v1/customers", "sales1", {"name": "行业公司", "industry": HUGE}),
    ("customer-too-many-tags", "POST", "/api/v1/customers", "sales1", {"name": "标签公司", "tags": ["t"] * 1000}),
    # contacts
    ("contact-name-nul", "POST", "/api/v1/contacts", "sales1", {"name": "张\x00三"}),
    ("contact-position-ctrl", "POST", "/api/v1/contacts", "sales1", {"name": "张三", "position": "经\x1b理"}),
    ("contact-notes-40k", "POST", "/api/v1/contacts", "sales1", {"name": "张三", "notes": HUGE}),
    # org: companies, roles, users
    ("company-name-nul", "POST", "/api/v1/companies", "admin", {"code": "C90", "name": "坏\x00公司"}),
    ("company-timezone-bogus", "POST", "/api/v1/companies", "admin",
     {"code": "C91", "name": "时区公司", "timezone": "Not/AZone"}),
    ("company-timezone-empty", "POST", "/api/v1/companies", "admin",
     {"code": "C92", "name": "时区公司", "timezone": ""}),
    ("company-timezone-path", "POST", "/api/v1/companies", "admin",
     {"code": "C93", "name": "时区公司", "timezone": "../../etc/passwd"}),
    ("role-rank-bool", "POST", "/api/v1/roles", "admin",
     {"code": "r_bool", "name": "布尔", "scope_kind": "self", "rank": False}),
    ("role-rank-string", "POST", "/api/v1/roles", "admin",
     {"code": "r_str", "name": "字符串", "scope_kind": "self", "rank": "5"}),
    ("role-name-ctrl", "POST", "/api/v1/roles", "admin", {"code": "r_ctrl", "name": "坏\x07", "scope_kind": "self"}),
    ("role-permission-nul", "POST", "/api/v1/roles", "admin",
     {"code": "r_perm", "name": "权限", "scope_kind": "self", "permissions": ["customer.read\x00"]}),
    ("user-display-nul", "POST", "/api/v1/users", "admin",
     {"username": "nul_user", "display_name": "坏\x00", "password": "long-enough-1", "company_id": U}),
    ("user-password-ctrl", "POST", "/api/v1/users", "admin",
     {"username": "ctrl_user", "display_name": "x", "password": "long\x01enough", "company_id": U}),
    ("user-phone-40k", "POST", "/api/v1/users", "admin",
     {"username": "long_user", "display_name": "x", "password": "long-enough-1", "company_id": U, "phone": HUGE}),
    ("handover-reason-nul", "POST", "/api/v1/handovers", "admin",
     {"from_user_id": U, "to_user_id": U, "reason": "\x00"}),
    # expenses: money is a decimal string, nothing looser
    ("expense-money-underscore", "POST", "/api/v1/expense-requests", "sales1", {"title": "x", "amount": "1_000"}),
    ("expense-money-spaces", "POST", "/api/v1/expense-requests", "sales1", {"title": "x", "amount": " 5 "}),
    ("expense-money-exponent", "POST", "/api/v1/expense-requests", "sales1", {"title": "x", "amount": "1e3"}),
    ("expense-money-number", "POST", "/api/v1/expense-requests", "sales1", {"title": "x", "amount": 5}),
    ("expense-money-float", "POST", "/api/v1/expense-requests", "sales1", {"title": "x", "amount": 5.5}),
    ("expense-money-bool", "POST", "/api/v1/expense-requests", "sales1", {"title": "x", "amount": True}),
    ("expense-money-nan", "POST", "/api/v1/expense-requests", "sales1", {"title": "x", "amount": "NaN"}),
    ("expense-money-huge", "POST", "/api/v1/expense-requests", "sales1", {"title": "x", "amount": "1" * 40}),
    ("expense-money-zero", "POST", "/api/v1/expense-requests", "sales1", {"title": "x", "amount": "0.00"}),
    ("expense-title-nul", "POST", "/api/v1/expense-requests", "sales1", {"title": "油\x00费", "amount": "5"}),
    ("expense-description-40k", "POST", "/api/v1/expense-requests", "sales1",
     {"title": "x", "amount": "5", "description": HUGE}),
    # approval flows
    ("flow-name-nul", "POST", "/api/v1/approval-flows", "admin",
     {"request_type": "expense", "name": "坏\x00", "steps": [{"name": "s", "rule": {"kind": "manager"}}]}),
    ("flow-condition-40k", "POST", "/api/v1/approval-flows", "admin",
     {"request_type": "expense", "name": "n", "steps": [{"name": "s", "rule": {"kind": "manager"},
                                                          "condition": HUGE}]}),
    ("flow-step-name-ctrl", "POST", "/api/v1/approval-flows", "admin",
     {"request_type": "expense", "name": "n", "steps": [{"name": "\x02", "rule": {"kind": "manager"}}]}),
    ("flow-too-many-user-ids", "POST", "/api/v1/approval-flows", "admin",
     {"request_type": "expense", "name": "n",
      "steps": [{"name": "s", "rule": {"kind": "users", "user_ids": [U] * 1000}}]}),
    ("approval-reject-nul", "POST", f"/api/v1/approvals/{U}/reject", "admin", {"comment": "no\x00"}),
    ("approval-approve-comment-ctrl", "POST", f"/api/v1/approvals/{U}/approve", "admin", {"comment": "\x1f"}),
    ("pool-rule-bool", "PUT", f"/api/v1/pool-rules/{U}", "admin", {"protection_days": True}),
    ("auth-refresh-nul", "POST", "/api/v1/auth/refresh", None, {"refresh_token": "a" * 20 + "\x00"}),
]

QUERY_CASES = [
    ("customers-q-nul", "/api/v1/customers", "sales1", {"q": "坏\x00"}),
    ("customers-q-40k", "/api/v1/customers", "sales1", {"q": HUGE}),
    ("duplicates-name-nul", "/api/v1/customers/duplicates", "sales1", {"name": "a\x00"}),
    ("duplicates-phone-ctrl", "/api/v1/customers/duplicates", "sales1", {"phone": "138\x01"}),
    ("pool-q-nul", "/api/v1/customers/pool", "sales1", {"q": "\x00"}),
    ("export-q-nul", "/api/v1/customers/export", "admin", {"q": "\x00"}),
    ("contacts-q-nul", "/api/v1/contacts", "sales1", {"q": "\x00"}),
    ("users-q-nul", "/api/v1/users", "admin", {"q": "a\x00"}),
    ("flows-type-nul", "/api/v1/approval-flows", "admin", {"request_type": "\x00"}),
    ("approvals-type-nul", "/api/v1/approvals", "admin", {"type": "\x00"}),
    ("approvals-overdue-40k", "/api/v1/approvals", "admin", {"overdue_hours": "9" * 400}),
    ("audit-entity-nul", "/api/v1/audit-events", "admin", {"entity_id": "\x00"}),
    ("audit-action-40k", "/api/v1/audit-events", "admin", {"action": HUGE}),
    ("cursor-nul", "/api/v1/customers", "sales1", {"cursor": "\x00"}),
    ("limit-40k", "/api/v1/customers", "sales1", {"limit": "9" * 400}),
]


def assert_4xx_problem(response, status: int | None = None) -> dict:
    assert response.status_code < 500, response.text
    assert 400 <= response.status_code < 500, response.text
    if status is not None:
        assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    return response.json()


@pytest.mark.parametrize(("method", "path", "user", "body"), [c[1:] for c in BODY_CASES],
                         ids=[c[0] for c in BODY_CASES])
async def test_bad_body_is_a_422_problem(client, auth, method, path, user, body):
    response = await client.request(method, path, json=body, headers=auth(user) if user else {})
    problem = assert_4xx_problem(response, 422)
    assert problem["code"] == "request.validation_failed"


async def test_a_lone_surrogate_escape_in_json_is_a_422_problem(client, auth):
    # Valid JSON, but not encodable as UTF-8: it must never reach the driver.
    response = await client.post("/api/v1/customers", content=b'{"name": "bad\\ud800name"}',
                                 headers=auth("sales1", **{"content-type": "application/json"}))
    assert_4xx_problem(response, 422)


@pytest.mark.parametrize(("path", "user", "params"), [c[1:] for c in QUERY_CASES], ids=[c[0] for c in QUERY_CASES])
async def test_bad_query_parameter_is_a_422_problem(client, auth, path, user, params):
    response = await client.get(path, params=params, headers=auth(user))
    assert_4xx_problem(response, 422)


async def test_control_characters_in_a_path_parameter_are_a_4xx_problem(client, org, auth):
    user_id = org.users["sales1"].id
    for method in ("PUT", "DELETE"):
        response = await client.request(method, f"/api/v1/users/{user_id}/permissions/customer.read%00",
                                         json={"granted": True} if method == "PUT" else None, headers=auth("admin"))
        assert_4xx_problem(response, 422)


@pytest.mark.parametrize("form", [
    {"username": "admin\x00", "password": "whatever"},
    {"username": "admin", "password": "pass\x00word"},
    {"username": "ad\x01min", "password": "whatever"},
    {"username": HUGE, "password": "whatever"},
    {"username": "admin", "password": HUGE},
], ids=["username-nul", "password-nul", "username-ctrl", "username-40k", "password-40k"])
@pytest.mark.parametrize("surface", ["/api/v1", "/api/mobile/v1"])
async def test_login_form_with_control_characters_is_a_422_before_authentication(client, form, surface):
    response = await client.post(f"{surface}/auth/token", data=form)
    assert_4xx_problem(response, 422)


async def test_control_characters_in_idempotency_key_are_a_4xx_problem(client, auth):
    response = await client.post("/api/v1/customers", json={"name": "幂等坏键公司"},
                                 headers=auth("sales1", **{"Idempotency-Key": "key\x01"}))
    assert_4xx_problem(response)
    response = await client.post("/api/v1/customers", json={"name": "幂等长键公司"},
                                 headers=auth("sales1", **{"Idempotency-Key": "k" * 4000}))
    assert_4xx_problem(response)


async def test_control_characters_in_if_match_are_a_4xx_problem(client, auth):
    created = await client.post("/api/v1/customers", json={"name": "条件坏头公司"}, headers=auth("sales1"))
    assert created.status_code == 201, created.text
    url = f"/api/v1/customers/{created.json()['id']}"
    response = await client.patch(url, json={"industry": "x"}, headers=auth("sales1", **{"If-Match": 'W/"1"\x01'}))
    assert_4xx_problem(response, 422)
    response = await client.patch(url, json={"industry": "x"}, headers=auth("sales1", **{"If-Match": "x" * 5000}))
    assert_4xx_problem(response, 422)


async def test_multiline_text_keeps_tabs_and_line_breaks(client, auth):
    response = await client.post("/api/v1/customers", json={"name": "多行备注公司", "notes": "第一行\n\t第二行\r\n"},
                                 headers=auth("sales1"))
    assert response.status_code == 201, response.text
    assert "\n\t第二行" in response.json()["notes"]


async def test_a_valid_time_zone_is_accepted_and_strict_ints_still_take_integers(client, auth):
    company = await client.post("/api/v1/companies", json={"code": "C95", "name": "时区正确公司",
                                                           "timezone": "Europe/Berlin"}, headers=auth("admin"))
    assert company.status_code == 201, company.text
    assert company.json()["timezone"] == "Europe/Berlin"
    role = await client.post("/api/v1/roles", json={"code": "r_ok", "name": "整数", "scope_kind": "self", "rank": 5},
                             headers=auth("admin"))
    assert role.status_code == 201, role.text
    assert role.json()["rank"] == 5
    # Query parameters arrive as text: "5" is still a valid limit.
    assert (await client.get("/api/v1/roles", params={"limit": "5"}, headers=auth("admin"))).status_code == 200


async def test_money_is_read_from_strings_and_written_with_two_decimals(client, auth):
    for amount, expected in (("5", "5.00"), ("1234.5", "1234.50"), ("0.01", "0.01"),
                             ("9999999999999999.99", "9999999999999999.99")):
        response = await client.post("/api/v1/expense-requests", json={"title": "金额", "amount": amount},
                                     headers=auth("sales1"))
        assert response.status_code == 201, response.text
        assert response.json()["amount"] == expected


async def test_export_works_with_control_characters_already_stored(client, auth, db, org):
    # Stored before validation existed (or by other means): the export must still open for everyone.
    await insert_customer(db, org, owner="sales1", name="存量\x01坏\x00字符\x1f公司".replace("\x00", ""))
    await insert_customer(db, org, owner="sales1", name="=HYPERLINK(\"http://evil\")")
    xlsx = await client.get("/api/v1/customers/export", params={"format": "xlsx"}, headers=auth("admin"))
    assert xlsx.status_code == 200, xlsx.text
    assert xlsx.headers["content-type"] == XLSX_MEDIA_TYPE
    names = [row[2] for row in load_workbook(io.BytesIO(xlsx.content)).worksheets[0].iter_rows(values_only=True)]
    assert "存量坏字符公司" in names
    assert "'=HYPERLINK(\"http://evil\")" in names

    csv_response = await client.get("/api/v1/customers/export", params={"format": "csv"}, headers=auth("admin"))
    assert csv_response.status_code == 200, csv_response.text
    rows = list(csv.reader(io.StringIO(csv_response.content.decode("utf-8-sig"))))
    csv_names = [r[2] for r in rows]
    assert "存量坏字符公司" in csv_names
    assert "'=HYPERLINK(\"http://evil\")" in csv_names
    assert not any(ch in csv_response.content.decode("utf-8-sig") for ch in "\x01\x1f")


async def test_import_refuses_cells_with_control_characters(client, auth):
    from openpyxl import Workbook

    from app.customers.importexport import HEADERS

    wb = Workbook()
    ws = wb.active
    ws.append(HEADERS)
    ws.append(["公司", "控制\x7f字符公司", "", "", "", "", "", "意向", "B", 500, "", "C01", "", ""])
    buf = io.BytesIO()
    wb.save(buf)
    response = await client.post("/api/v1/customers/import", headers=auth("admin"),
                                 files={"file": ("c.xlsx", buf.getvalue(), XLSX_MEDIA_TYPE)})
    problem = assert_4xx_problem(response, 422)
    assert problem["code"] == "customer.import_invalid"
    assert [e["pointer"] for e in problem["errors"]] == ["/file/rows/2/B"]
