"""Import from .xlsx (all or nothing, errors by row and column) and export of what one may see."""

import csv
import io

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from app.customers.importexport import HEADERS, XLSX_MEDIA_TYPE
from app.customers.models import Customer
from tests.customers.helpers import create_contact, create_customer


def _xlsx(rows: list[list[object]], header: list[str] = HEADERS) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _row(name: str, **over: object) -> list[object]:
    values = {"kind": "公司", "name": name, "identity": "", "phones": "13800001111", "email": "", "address": "",
              "industry": "", "category": "意向", "grade": "B", "credit_score": 500, "tags": "", "company_code": "C01",
              "owner": "", "notes": ""}
    values.update(over)
    return list(values.values())


async def _upload(client, auth, content: bytes, username: str = "admin"):
    return await client.post("/api/v1/customers/import", headers=auth(username),
                             files={"file": ("customers.xlsx", content, XLSX_MEDIA_TYPE)})


async def _count(db, prefix: str) -> int:
    return await db.scalar(select(func.count()).select_from(Customer).where(Customer.name.like(prefix + "%")))


async def test_the_template_has_the_documented_header(client, auth):
    response = await client.get("/api/v1/customers/import-template", headers=auth("clerk1"))
    assert response.status_code == 200 and response.headers["content-type"] == XLSX_MEDIA_TYPE
    ws = load_workbook(io.BytesIO(response.content)).worksheets[0]
    assert [c.value for c in ws[1]] == HEADERS


async def test_a_valid_file_imports_every_row(client, auth, org, db):
    content = _xlsx([_row("导入甲机械有限公司", owner="sales1"), _row("导入乙机械有限公司", category="合作"),
                     _row("导入丙个人", kind="个人", identity="310101199001011234")])
    response = await _upload(client, auth, content)
    assert response.status_code == 201, response.text
    assert response.json()["imported"] == 3
    assert await _count(db, "导入") == 3
    rows = {c.name: c for c in (await db.scalars(select(Customer).where(Customer.name.like("导入%")))).all()}
    assert rows["导入甲机械有限公司"].owner_id == org.users["sales1"].id
    assert rows["导入乙机械有限公司"].status == "pool" and rows["导入乙机械有限公司"].category == "partner"
    assert rows["导入丙个人"].id_number == "310101199001011234"


async def test_an_import_with_one_bad_row_imports_nothing_and_names_the_row_and_column(client, auth, db):
    content = _xlsx([_row("坏行甲机械有限公司"), _row("坏行乙机械有限公司", phones="12"), _row("坏行丙机械有限公司")])
    response = await _upload(client, auth, content)
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "customer.import_invalid"
    assert [e["pointer"] for e in problem["errors"]] == ["/file/rows/3/D"]
    assert "第 3 行 D 列（电话）" in problem["errors"][0]["message"]
    assert await _count(db, "坏行") == 0


async def test_the_import_runs_the_duplicate_check_per_row(client, auth, db):
    await create_customer(client, auth, "sales1", name="重名检查机械有限公司")
    content = _xlsx([_row("重名检查机械"), _row("文件内重复有限公司"), _row("文件内重复")])
    problem = (await _upload(client, auth, content)).json()
    pointers = {e["pointer"]: e["message"] for e in problem["errors"]}
    assert set(pointers) == {"/file/rows/2/B", "/file/rows/4/B"}
    assert "第 2 行" in pointers["/file/rows/4/B"] or "第 3 行" in pointers["/file/rows/4/B"]


async def test_an_import_reports_every_bad_cell(client, auth):
    content = _xlsx([_row("", company_code="X99", grade="Z", credit_score="abc", owner="nobody")])
    problem = (await _upload(client, auth, content)).json()
    assert {e["pointer"] for e in problem["errors"]} == {
        "/file/rows/2/B", "/file/rows/2/L", "/file/rows/2/I", "/file/rows/2/J", "/file/rows/2/M"}


async def test_a_wrong_header_or_not_an_xlsx_is_a_clear_problem(client, auth):
    wrong = await _upload(client, auth, _xlsx([_row("x")], header=["name"]))
    assert wrong.status_code == 422 and wrong.json()["code"] == "customer.import_bad_header"
    garbage = await _upload(client, auth, b"not a workbook")
    assert garbage.status_code == 422 and garbage.json()["code"] == "customer.import_unreadable"


async def test_a_clerk_cannot_import_for_somebody_else(client, auth):
    problem = (await _upload(client, auth, _xlsx([_row("代导入有限公司", owner="sales1")]), "clerk1")).json()
    assert problem["errors"][0]["pointer"] == "/file/rows/2/M"


async def test_import_needs_the_permission(client, auth):
    assert (await _upload(client, auth, _xlsx([_row("无权导入有限公司")]), "sales1")).status_code == 403


async def test_export_contains_only_what_the_caller_may_see_masked_as_in_the_api(client, auth, org):
    mine = await create_customer(client, auth, "sales2", name="导出可见有限公司", phones=["13811112222"])
    other = await create_customer(client, auth, "sales1", name="导出不可见有限公司")
    shared = await create_customer(client, auth, "sales1", name="导出共享有限公司", phones=["13833334444"])
    await client.post(f"/api/v1/customers/{shared['id']}/shares", json={"user_ids": [str(org.users["sales2"].id)]},
                      headers=auth("sales1"))
    response = await client.get("/api/v1/customers/export", params={"format": "csv"},
                                headers=auth("admin"))
    assert response.status_code == 200
    # sales2 has no export permission; the clerk (company scope) sees all three unmasked.
    assert (await client.get("/api/v1/customers/export", headers=auth("sales2"))).status_code == 403
    clerk = await client.get("/api/v1/customers/export", params={"format": "csv"}, headers=auth("clerk1"))
    rows = list(csv.reader(io.StringIO(clerk.content.decode("utf-8-sig"))))
    names = {r[2]: r for r in rows[1:]}
    assert {"导出可见有限公司", "导出不可见有限公司", "导出共享有限公司"} <= set(names)
    assert names["导出可见有限公司"][5] == "13811112222"
    assert mine and other


async def test_export_as_xlsx_masks_for_read_only_sharers(client, auth, org, db):
    shared = await create_customer(client, auth, "sales1", name="表格共享有限公司", phones=["13855556666"])
    await client.post(f"/api/v1/customers/{shared['id']}/shares",
                      json={"user_ids": [str(org.users["investigator1"].id)]}, headers=auth("sales1"))
    from app.customers.permissions import CUSTOMER_EXPORT
    from app.org.models import UserPermission

    db.add(UserPermission(user_id=org.users["investigator1"].id, permission=CUSTOMER_EXPORT, granted=True))
    await db.flush()
    response = await client.get("/api/v1/customers/export", headers=auth("investigator1"))
    assert response.status_code == 200 and response.headers["content-type"] == XLSX_MEDIA_TYPE
    ws = load_workbook(io.BytesIO(response.content)).worksheets[0]
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    assert len(rows) == 2 and rows[1][2] == "表格共享有限公司" and rows[1][5] == "138****6666"


async def test_export_takes_the_same_filters_as_the_list(client, auth):
    await create_customer(client, auth, "sales1", name="导出筛选有限公司")
    params = {"q": "导出筛选", "protection_expiring_before": "2000-01-01T00:00:00Z"}
    listed = await client.get("/api/v1/customers", params=params, headers=auth("clerk1"))
    exported = await client.get("/api/v1/customers/export", params={**params, "format": "csv"},
                                headers=auth("clerk1"))
    assert listed.status_code == exported.status_code == 200
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert listed.json()["items"] == [] and rows[1:] == []
    unfiltered = await client.get("/api/v1/customers/export", params={"q": "导出筛选", "format": "csv"},
                                  headers=auth("clerk1"))
    assert [r[2] for r in list(csv.reader(io.StringIO(unfiltered.content.decode("utf-8-sig"))))[1:]] == \
        ["导出筛选有限公司"]


async def test_an_owner_outside_ones_scope_reads_like_a_username_that_does_not_exist(client, auth, org, db):
    """approver1 (scope: C01, may assign) imports rows owned by collector3 (C02) and by nobody:
    both rows get the same message, so the import does not reveal who exists elsewhere."""
    from app.org.models import UserPermission

    for perm in ("customer.import", "customer.create"):
        db.add(UserPermission(user_id=org.users["approver1"].id, permission=perm, granted=True))
    await db.flush()
    content = _xlsx([_row("范围外机械有限公司", owner="collector3"), _row("查无此人机械有限公司", owner="nobody-here")])
    response = await _upload(client, auth, content, "approver1")
    assert response.status_code == 422, response.text
    messages = [e["message"].split(": ", 1)[1] for e in response.json()["errors"]]  # after "row N, column M: "
    assert len(messages) == 2
    assert messages[0].replace("collector3", "?") == messages[1].replace("nobody-here", "?")


async def test_without_assign_any_other_owner_gets_one_answer_whether_it_exists_or_not(client, auth, org):
    content = _xlsx([_row("别人的机械有限公司", owner="sales2"), _row("没有的机械有限公司", owner="nobody-here")])
    response = await _upload(client, auth, content, "clerk1")
    assert response.status_code == 422, response.text
    messages = [e["message"].split(": ", 1)[1] for e in response.json()["errors"]]
    assert len(messages) == 2 and messages[0] == messages[1]


async def test_control_characters_stored_in_a_customer_do_not_break_the_export(client, auth, org, db):
    """Found by the contract run: a control character in stored text made the .xlsx export a 500."""
    from tests.customers.helpers import insert_customer

    customer = await insert_customer(db, org, owner="clerk1", name="控制\x01字符机械有限公司")
    row = await db.get(Customer, customer.id)
    row.notes = "备注\x0bwith\x1fcontrols"
    await db.flush()
    response = await client.get("/api/v1/customers/export", params={"format": "xlsx"}, headers=auth("clerk1"))
    assert response.status_code == 200, response.text
    ws = load_workbook(io.BytesIO(response.content)).worksheets[0]
    names = [r[2].value for r in ws.iter_rows(min_row=2)]
    assert "控制字符机械有限公司" in names


async def test_an_imported_individual_is_linked_to_the_contact_with_the_same_identity_number(client, auth, db):
    """The import creates customers through the same path as the API: same identity number, same
    person (a `self` link to the contact), as POST /customers does."""
    contact = await create_contact(client, auth, "admin", name="导入丁", id_number="31010119900101201X")
    response = await _upload(client, auth, _xlsx([_row("导入丁", kind="个人", identity="31010119900101201x")]))
    assert response.status_code == 201, response.text
    customer = await db.scalar(select(Customer).where(Customer.name == "导入丁"))
    detail = (await client.get(f"/api/v1/customers/{customer.id}", headers=auth("admin"))).json()
    assert [(c["contact_id"], c["relation"]) for c in detail["contacts"]] == [(contact["id"], "self")]
