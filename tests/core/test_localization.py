"""Validation messages and import warnings follow Accept-Language (zh-CN default, en)."""

import io

from openpyxl import Workbook

from app.customers.importexport import HEADERS, XLSX_MEDIA_TYPE
from tests.customers.helpers import create_customer


async def _messages(client, auth, language: str | None) -> dict[str, str]:
    headers = auth("admin") if language is None else auth("admin", **{"Accept-Language": language})
    response = await client.post("/api/v1/companies", json={"code": "C77", "name": "", "timezone": "Mars/Base",
                                                            "extra": 1}, headers=headers)
    assert response.status_code == 422, response.text
    return {e["pointer"]: e["message"] for e in response.json()["errors"]}


async def test_validation_messages_are_chinese_by_default(client, auth):
    messages = await _messages(client, auth, None)
    assert messages["/body/name"] == "至少 1 个字符"
    assert messages["/body/timezone"] == "应为 IANA 时区，如 Asia/Shanghai"
    assert messages["/body/extra"] == "不允许的字段"


async def test_validation_messages_follow_accept_language(client, auth):
    zh = await _messages(client, auth, "zh-CN,zh;q=0.9")
    en = await _messages(client, auth, "en-US,en;q=0.9")
    assert zh["/body/name"] == "至少 1 个字符"
    assert en["/body/name"] == "String should have at least 1 character"
    assert en["/body/timezone"].startswith("Must be an IANA time zone")


async def test_control_character_message_is_localized(client, auth):
    for language, expected in (("zh-CN", "不能包含 NUL 或其他控制字符"), ("en", "Must not contain NUL")):
        response = await client.post("/api/v1/customers", json={"name": "坏\x00名"},
                                     headers=auth("sales1", **{"Accept-Language": language}))
        assert response.status_code == 422
        assert response.json()["errors"][0]["message"].startswith(expected)


def _xlsx(name: str) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(HEADERS)
    ws.append(["公司", name, "", "", "", "", "", "意向", "B", 500, "", "C01", "", ""])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


async def test_import_warnings_are_structured_and_localized(client, auth):
    await create_customer(client, auth, "admin", name="警告测试重工集团有限公司")
    for language, name, prefix in (("zh-CN", "警告测试重", "相似客户："), ("en", "测试重工", "Similar customers: ")):
        response = await client.post(
            "/api/v1/customers/import", headers=auth("admin", **{"Accept-Language": language}),
            files={"file": ("c.xlsx", _xlsx(name), XLSX_MEDIA_TYPE)})
        assert response.status_code == 201, response.text
        [warning] = response.json()["warnings"]
        assert {k: warning[k] for k in ("row", "column", "code")} == {
            "row": 2, "column": "B", "code": "customer.similar_name"}
        assert warning["message"].startswith(prefix) and "警告测试重工集团有限公司" in warning["message"]


async def test_import_errors_follow_accept_language(client, auth):
    content = _xlsx("")  # the name is required
    for language, expected in (("zh-CN", "第 2 行 B 列（客户名称）: 必填"),
                               ("en", "Row 2, column B (客户名称): required")):
        response = await client.post("/api/v1/customers/import",
                                     headers=auth("admin", **{"Accept-Language": language}),
                                     files={"file": ("c.xlsx", content, XLSX_MEDIA_TYPE)})
        assert response.status_code == 422, response.text
        assert response.json()["errors"] == [{"pointer": "/file/rows/2/B", "message": expected}]
