"""Customer import (.xlsx) and export (.xlsx or CSV).

Import layout (row 1 is the header, exactly as in the template; data from row 2; at most
`MAX_IMPORT_ROWS` rows and `MAX_IMPORT_BYTES`):

| col | header | content |
| --- | --- | --- |
| A | 类型 | 公司 / 个人 (or company / individual); empty = 公司 |
| B | 客户名称 | required |
| C | 统一社会信用代码/身份证号 | credit code for companies, identity number for individuals |
| D | 电话 | phone numbers separated by commas |
| E | 邮箱 | e-mail |
| F | 地址 | address |
| G | 行业 | industry |
| H | 类别 | 意向/签约/合作/供应商/媒体/人脉 (or the English codes); empty = 意向 |
| I | 等级 | A / B / C |
| J | 信用分 | 0–1000 |
| K | 标签 | tags separated by commas |
| L | 归属公司编码 | required: our company's code (C01...) |
| M | 业务员用户名 | owner's username; empty = into the public pool |
| N | 备注 | notes |

Every row is validated first (including the duplicate check against the group and within the
file); any error imports nothing and the problem lists each error by row and column.
"""

import csv
import io
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.db import utcnow
from app.core.errors import DomainError
from app.core.i18n import pick
from app.core.principal import Principal
from app.core.spreadsheet import XLSX_MEDIA_TYPE, inert
from app.core.types import has_control_characters
from app.customers import normalize as norm
from app.customers import pool, views
from app.customers import repository as repo
from app.customers.duplicates import duplicate_check
from app.customers.errors import (
    CustomerImportBadHeader,
    CustomerImportEmpty,
    CustomerImportInvalid,
    CustomerImportTooLarge,
    CustomerImportTooManyRows,
    CustomerImportUnreadable,
)
from app.customers.models import Customer
from app.customers.permissions import CUSTOMER_ASSIGN
from app.customers.schemas import CustomerOut
from app.customers.service import record_creation
from app.org import repository as org_repo
from app.org.service import ensure_may_manage_user

MAX_IMPORT_BYTES = 2 * 1024 * 1024
MAX_IMPORT_ROWS = 1000
MAX_EXPORT_ROWS = 10000
MAX_REPORTED_ERRORS = 200

# (column key, header, help text)
COLUMNS: list[tuple[str, str, str]] = [
    ("kind", "类型", "公司 / 个人"),
    ("name", "客户名称", "必填"),
    ("identity", "统一社会信用代码/身份证号", "公司填信用代码，个人填身份证号"),
    ("phones", "电话", "多个用逗号分隔"),
    ("email", "邮箱", ""),
    ("address", "地址", ""),
    ("industry", "行业", ""),
    ("category", "类别", "意向/签约/合作/供应商/媒体/人脉"),
    ("grade", "等级", "A / B / C"),
    ("credit_score", "信用分", "0-1000"),
    ("tags", "标签", "多个用逗号分隔"),
    ("company_code", "归属公司编码", "必填，如 C01"),
    ("owner", "业务员用户名", "留空则进入公海"),
    ("notes", "备注", ""),
]
HEADERS = [h for _, h, _ in COLUMNS]
LETTER = {key: get_column_letter(i + 1) for i, (key, _, _) in enumerate(COLUMNS)}
HEADER_OF = {key: h for key, h, _ in COLUMNS}

KIND_WORDS = {"公司": "company", "企业": "company", "company": "company", "个人": "individual",
              "individual": "individual"}
CATEGORY_WORDS = {"意向": "intended", "签约": "signed", "合作": "partner", "供应商": "supplier", "媒体": "media",
                  "人脉": "personal_network"}
CATEGORY_WORDS.update({v: v for v in list(CATEGORY_WORDS.values())})
CATEGORY_LABELS = {v: k for k, v in CATEGORY_WORDS.items() if k != v}
CREDIT_CODE = re.compile(r"^[0-9A-Z]{18}$")
ID_NUMBER = re.compile(r"^[0-9]{15}([0-9]{2}[0-9X])?$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
SPLIT = re.compile(r"[,，;；、\s]+")


def template() -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "customers"
    ws.append(HEADERS)
    ws.append(["公司", "上海示例机械有限公司", "91310000MA1K000001", "138-0000-0000", "info@example.com",
               "上海市浦东新区", "工程机械", "意向", "B", 600, "挖掘机,重点", "C01", "", ""])
    help_sheet = wb.create_sheet("说明")
    help_sheet.append(["列", "表头", "说明"])
    for i, (_, header, text) in enumerate(COLUMNS):
        help_sheet.append([get_column_letter(i + 1), header, text])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@dataclass
class ImportOutcome:
    customers: list[Customer]
    warnings: list[dict[str, Any]] = field(default_factory=list)


def _similar_warning(row: int, names: list[str]) -> dict[str, Any]:
    """A structured warning: where (row, column), what (a stable code), and a message in the
    request's language."""
    return {"row": row, "column": LETTER["name"], "code": "customer.similar_name",
            "message": pick({"zh-CN": "相似客户：" + "、".join(names), "en": "Similar customers: " + ", ".join(names)})}


class _Errors:
    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, row: int, key: str | None, zh: str, en: str) -> None:
        """An error at a row (and column), worded in the request's language."""
        letter = LETTER[key] if key else ""
        where = pick({"zh-CN": f"第 {row} 行" + (f" {letter} 列（{HEADER_OF[key]}）" if key else ""),
                      "en": f"Row {row}" + (f", column {letter} ({HEADER_OF[key]})" if key else "")})
        self.items.append({"pointer": f"/file/rows/{row}" + (f"/{letter}" if key else ""),
                           "message": f"{where}: {pick({'zh-CN': zh, 'en': en})}"})


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _read_rows(content: bytes) -> list[tuple[int, dict[str, str]]]:
    if len(content) > MAX_IMPORT_BYTES:
        raise CustomerImportTooLarge(f"The file is larger than {MAX_IMPORT_BYTES // 1024} KiB.")
    try:
        wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a bad file
        raise CustomerImportUnreadable("The file is not a readable .xlsx workbook.",
                                       errors=[{"pointer": "/body/file", "message": "not an .xlsx file"}]) from exc
    ws = wb.worksheets[0]
    rows = ws.iter_rows(values_only=True)
    header = [_cell(v) for v in next(rows, ())][: len(HEADERS)]
    if header != HEADERS:
        raise CustomerImportBadHeader("Row 1 must be the template's header: " + " | ".join(HEADERS),
                                      errors=[{"pointer": "/file/rows/1", "message": pick(
                               {"zh-CN": "第 1 行表头与模板不一致", "en": "Row 1 is not the template's header"})}])
    out: list[tuple[int, dict[str, str]]] = []
    for number, values in enumerate(rows, start=2):
        cells = [_cell(v) for v in (values or ())][: len(COLUMNS)]
        if not any(cells):
            continue
        if len(out) >= MAX_IMPORT_ROWS:
            raise CustomerImportTooManyRows(f"At most {MAX_IMPORT_ROWS} rows per import.")
        cells += [""] * (len(COLUMNS) - len(cells))
        out.append((number, dict(zip([k for k, _, _ in COLUMNS], cells, strict=True))))
    wb.close()
    return out


async def import_customers(session: AsyncSession, principal: Principal, content: bytes,
                           *, now: datetime | None = None) -> ImportOutcome:
    """Rules: validate every row first and import nothing on any error (reported by row and
    column); the duplicate check runs per row (exact name or identity duplicates are errors,
    similar names are warnings); customers for the importer count towards the daily cap."""
    now = now or utcnow()
    rows = _read_rows(content)
    errors = _Errors()
    if not rows:
        raise CustomerImportEmpty("The file has no data rows.",
                                  errors=[{"pointer": "/file/rows/2", "message": pick(
                               {"zh-CN": "第 2 行起没有数据", "en": "No data from row 2 on"})}])

    codes = {r["company_code"] for _, r in rows if r["company_code"]}
    companies = await org_repo.companies_by_code(session, principal.group_id, codes)
    usernames = {r["owner"] for _, r in rows if r["owner"]}
    users = await org_repo.users_by_username(session, principal.group_id, usernames)
    # A username outside the caller's scope gets exactly the answer of a missing one, and without
    # customer.assign every other username gets the same answer whether it exists or not.
    owner_ok: dict[str, tuple[str, str] | None] = {}
    for username in usernames:
        user = users.get(username)
        if user is not None and user.id == principal.user_id:
            owner_ok[username] = None
        elif not principal.has(CUSTOMER_ASSIGN):
            owner_ok[username] = ("只能导入给自己（或留空进入公海）",
                                  "You may import only for yourself (or leave it empty for the pool)")
        elif user is None or not views.scope_covers(principal.scope, user.company_id, user.department_id):
            owner_ok[username] = (f"用户“{username}”不存在或不在你的范围内",
                                  f"user “{username}” does not exist or is outside your scope")
        elif not user.is_active or user.locked_at is not None:
            owner_ok[username] = ("该用户已停用或锁定", "This user is inactive or locked")
        else:
            try:
                await ensure_may_manage_user(session, principal, user)
                owner_ok[username] = None
            except DomainError:
                owner_ok[username] = ("只能分配给你的下级", "You may assign only to your subordinates")

    parsed: list[tuple[int, dict[str, Any]]] = []
    for number, r in rows:
        # The same rule as the API's text fields (app/core/types.py): no control characters;
        # notes may hold tabs and line breaks.
        for key, value in r.items():
            if has_control_characters(value, multiline=key == "notes"):
                errors.add(number, key, "不能包含控制字符", "must not contain control characters")
        item: dict[str, Any] = {}
        kind = KIND_WORDS.get(r["kind"] or "公司")
        if kind is None:
            errors.add(number, "kind", "应为“公司”或“个人”", "must be 公司 (company) or 个人 (individual)")
        item["kind"] = kind or "company"
        if not r["name"]:
            errors.add(number, "name", "必填", "required")
        elif len(r["name"]) > 200:
            errors.add(number, "name", "不能超过 200 个字符", "at most 200 characters")
        else:
            item["name"], item["name_norm"] = r["name"], norm.normalize_name(r["name"])
            if not item["name_norm"]:
                errors.add(number, "name", "名称中没有文字或数字", "the name has no letters or digits")
        identity = r["identity"].upper()
        item["credit_code"] = item["id_number"] = None
        if identity:
            if item["kind"] == "company" and not CREDIT_CODE.match(identity):
                errors.add(number, "identity", "统一社会信用代码应为 18 位数字或大写字母",
                           "a credit code is 18 digits or capital letters")
            elif item["kind"] == "individual" and not ID_NUMBER.match(identity):
                errors.add(number, "identity", "身份证号格式不正确", "not a valid identity number")
            else:
                item["credit_code" if item["kind"] == "company" else "id_number"] = identity
        phones: list[str] = []
        for raw in (p for p in SPLIT.split(r["phones"]) if p):
            e164 = norm.normalize_phone(raw)
            if e164 is None:
                errors.add(number, "phones", f"“{raw}”不是电话号码", f"“{raw}” is not a phone number")
            elif e164 not in phones:
                phones.append(e164)
        item["phones"] = phones[:10]
        if r["email"] and (not EMAIL.match(r["email"]) or len(r["email"]) > 254):
            errors.add(number, "email", "邮箱格式不正确", "not a valid e-mail address")
        item["email"] = norm.normalize_email(r["email"])
        item["addresses"] = [r["address"][:300]] if r["address"] else []
        item["industry"] = r["industry"][:100] or None
        category = CATEGORY_WORDS.get(r["category"] or "意向")
        if category is None:
            errors.add(number, "category", "应为 意向/签约/合作/供应商/媒体/人脉 之一",
                       "must be one of 意向/签约/合作/供应商/媒体/人脉 (or the English codes)")
        item["category"] = category or "intended"
        grade = r["grade"].upper() or None
        if grade is not None and grade not in ("A", "B", "C"):
            errors.add(number, "grade", "应为 A、B 或 C", "must be A, B or C")
        item["grade"] = grade
        item["credit_score"] = None
        if r["credit_score"]:
            try:
                score = int(r["credit_score"])
                if not 0 <= score <= 1000:
                    raise ValueError
                item["credit_score"] = score
            except ValueError:
                errors.add(number, "credit_score", "应为 0 到 1000 的整数", "must be a whole number from 0 to 1000")
        item["tags"] = list(dict.fromkeys(t[:40] for t in SPLIT.split(r["tags"]) if t))[:20]
        company = companies.get(r["company_code"])
        if not r["company_code"]:
            errors.add(number, "company_code", "必填", "required")
        elif company is None or not (company == principal.company_id
                                     or principal.scope.covers_company(company)):
            errors.add(number, "company_code", f"公司编码“{r['company_code']}”不存在或不在你的范围内",
                       f"company code “{r['company_code']}” does not exist or is outside your scope")
        item["company"] = company
        item["owner"] = None
        if r["owner"]:
            if owner_ok.get(r["owner"]):
                errors.add(number, "owner", *owner_ok[r["owner"]])  # type: ignore[misc] - checked just above
            else:
                item["owner"] = users[r["owner"]]
        item["notes"] = r["notes"][:4000] or None
        parsed.append((number, item))

    # The duplicate check, per row: against the group and within the file.
    names = {i["name_norm"] for _, i in parsed if i.get("name_norm")}
    identities = {i["credit_code"] for _, i in parsed if i["credit_code"]} | {
        i["id_number"] for _, i in parsed if i["id_number"]}
    taken_names = await repo.taken_names(session, principal.group_id, names)
    taken_identity = await repo.taken_identities(session, principal.group_id, identities)
    seen_names: dict[str, int] = {}
    seen_ids: dict[str, int] = {}
    for number, item in parsed:
        nn = item.get("name_norm")
        if nn:
            if nn in taken_names:
                errors.add(number, "name", "与已有客户重名（查重）",
                           "a customer with this name exists (duplicate check)")
            elif nn in seen_names:
                errors.add(number, "name", f"与第 {seen_names[nn]} 行重名", f"same name as row {seen_names[nn]}")
            else:
                seen_names[nn] = number
        ident = item["credit_code"] or item["id_number"]
        if ident:
            if ident in taken_identity:
                errors.add(number, "identity", "证件号已被其他客户使用",
                           "this identity number belongs to another customer")
            elif ident in seen_ids:
                errors.add(number, "identity", f"与第 {seen_ids[ident]} 行证件号重复",
                           f"same identity number as row {seen_ids[ident]}")
            else:
                seen_ids[ident] = number

    # The daily cap: rows the importer takes for themselves count like creations.
    own_rows = [n for n, i in parsed if i["owner"] is not None and i["owner"].id == principal.user_id]
    rules_by_company: dict[uuid.UUID, pool.CompanyRules] = {}
    for _, item in parsed:
        if item["company"] is not None and item["company"] not in rules_by_company:
            rules_by_company[item["company"]] = await pool.rules_for(session, item["company"])
    if own_rows:
        first_company = next(i["company"] for n, i in parsed if n == own_rows[0])
        if first_company is not None:
            try:
                await pool.ensure_daily_cap(session, principal.user_id, rules_by_company[first_company], now,
                                            adding=len(own_rows))
            except DomainError as exc:
                errors.add(own_rows[0], "owner", f"超出今日领取/新建上限：{exc.detail}",
                           f"over today's claim/create cap: {exc.detail}")

    if errors.items:
        shown = errors.items[:MAX_REPORTED_ERRORS]
        raise CustomerImportInvalid(f"{len(errors.items)} error(s) in the file; nothing was imported.",
                                    errors=shown)

    warnings: list[dict[str, Any]] = []
    customers: list[Customer] = []
    for number, item in parsed:
        company, owner = item["company"], item["owner"]
        cr = rules_by_company[company]
        similar = [h.name for h in await duplicate_check(session, principal, name=item["name"], limit=3)]
        if similar:
            warnings.append(_similar_warning(number, similar))
        customer = Customer(
            group_id=principal.group_id, company_id=company, kind=item["kind"], name=item["name"],
            name_norm=item["name_norm"], credit_code=item["credit_code"], id_number=item["id_number"],
            addresses=item["addresses"], phones=item["phones"], email=item["email"], industry=item["industry"],
            category=item["category"], grade=item["grade"], credit_score=item["credit_score"], tags=item["tags"],
            owner_id=owner.id if owner else None, created_by_id=principal.user_id,
            status="private" if owner else "pool", pooled_at=None if owner else now, notes=item["notes"],
            protected_until=pool.add_protection_days(now, cr.rules.protection_days,
                                                     count_weekends=cr.rules.count_weekends, tz=cr.tz)
            if owner else None,
        )
        session.add(customer)
        customers.append(customer)
    await session.flush()
    for customer in customers:
        # One creation path with the API (service.record_creation): the same activity, audit and
        # same-person link to contacts carrying the customer's identity number.
        await record_creation(session, principal, customer,
                              activity="created" if customer.owner_id == principal.user_id else "imported",
                              action="customer.imported", tz=rules_by_company[customer.company_id].tz, now=now)
    return ImportOutcome(customers, warnings)


# --- export ----------------------------------------------------------------------------------------

EXPORT_HEADERS = ["客户ID", *HEADERS[:2], "统一社会信用代码", "身份证号", *HEADERS[3:11], "归属公司编码",
                  "业务员用户名", "状态", "保护期至", "备注"]


async def export(session: AsyncSession, principal: Principal, filters: Any, fmt: str) -> tuple[bytes, str, str]:
    """Rule: an export holds what the list shows with these filters (at most MAX_EXPORT_ROWS rows),
    masked exactly as in the API, and is audited. Returns (content, media type, file name)."""
    customers = await repo.export_customers(session, principal, filters, MAX_EXPORT_ROWS)
    shown = await views.customer_views(session, principal, customers)
    companies = await org_repo.company_codes(session, principal.group_id)
    usernames = await org_repo.usernames(session, {v.owner_id for v in shown if v.owner_id})
    rows = export_rows(shown, companies, usernames)
    audit.record(session, principal, "customer.exported", "customer", None, after={"count": len(rows), "format": fmt})
    if fmt == "csv":
        return to_csv(rows), "text/csv; charset=utf-8", "customers.csv"
    return to_xlsx(rows), XLSX_MEDIA_TYPE, "customers.xlsx"


def export_rows(views: list[CustomerOut], companies: dict[uuid.UUID, str],
                usernames: dict[uuid.UUID, str]) -> list[list[Any]]:
    """One row per customer, masked exactly as the API masks it for the caller."""
    return [[
        str(v.id), "公司" if v.kind == "company" else "个人", v.name, v.credit_code or "", v.id_number or "",
        ",".join(v.phones), v.email or "", "; ".join(v.addresses), v.industry or "",
        CATEGORY_LABELS.get(v.category, v.category), v.grade or "", "" if v.credit_score is None else v.credit_score,
        ",".join(v.tags), companies.get(v.company_id, ""), usernames.get(v.owner_id, "") if v.owner_id else "",
        "公海" if v.status == "pool" else "私有",
        v.protected_until.isoformat() if v.protected_until else "", v.notes or "",
    ] for v in views]


def to_xlsx(rows: list[list[Any]]) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("customers")
    ws.append(EXPORT_HEADERS)
    for row in rows:
        ws.append([inert(c) for c in row])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def to_csv(rows: list[list[Any]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(EXPORT_HEADERS)
    for row in rows:
        writer.writerow([inert(c) for c in row])
    return ("\ufeff" + buf.getvalue()).encode()  # BOM: Excel opens UTF-8 CSV correctly
