"""One domain error type and one renderer: RFC 9457 problem+json for every error.

Services raise `DomainError` (or a subclass with fixed status/code); FastAPI's own 404/405/422 are
rendered by `problem_response`. Body-size limits and unexpected exceptions happen outside FastAPI's
handlers and are rendered with the same shape by app/core/middleware.py.
"""

import logging
import sys
import tomllib
from pathlib import Path
from typing import Any

from asyncpg.exceptions._base import DataError as AsyncpgArgumentError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.i18n import SUPPORTED, current_language, pick
from app.core.requestctx import request_id_var

log = logging.getLogger("recourse.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"

# Generic titles per HTTP status, zh-CN and en.
STATUS_TITLES: dict[int, dict[str, str]] = {
    400: {"zh-CN": "请求有误", "en": "Bad request"},
    401: {"zh-CN": "未认证", "en": "Not authenticated"},
    403: {"zh-CN": "没有权限", "en": "Forbidden"},
    404: {"zh-CN": "资源不存在", "en": "Not found"},
    405: {"zh-CN": "不支持的请求方法", "en": "Method not allowed"},
    406: {"zh-CN": "不可接受的响应格式", "en": "Not acceptable"},
    409: {"zh-CN": "状态冲突", "en": "Conflict"},
    412: {"zh-CN": "资源已被修改", "en": "Precondition failed"},
    413: {"zh-CN": "请求体过大", "en": "Content too large"},
    415: {"zh-CN": "不支持的媒体类型", "en": "Unsupported media type"},
    422: {"zh-CN": "请求参数校验失败", "en": "Validation failed"},
    423: {"zh-CN": "账户已锁定", "en": "Locked"},
    428: {"zh-CN": "需要前置条件", "en": "Precondition required"},
    429: {"zh-CN": "请求过于频繁", "en": "Too many requests"},
    500: {"zh-CN": "服务器内部错误", "en": "Internal server error"},
    503: {"zh-CN": "服务暂不可用", "en": "Service unavailable"},
}

STATUS_CODES: dict[int, str] = {
    400: "request.bad",
    401: "auth.not_authenticated",
    403: "auth.forbidden",
    404: "resource.not_found",
    405: "request.method_not_allowed",
    406: "request.not_acceptable",
    409: "resource.conflict",
    412: "resource.precondition_failed",
    413: "request.too_large",
    415: "request.unsupported_media_type",
    422: "request.validation_failed",
    429: "request.rate_limited",
    500: "server.error",
    503: "server.unavailable",
}


class FieldError(BaseModel):
    pointer: str = Field(description="JSON Pointer (RFC 6901) into the request, e.g. /body/amount")
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    code: str = Field(description="Stable machine-readable code, e.g. waiver.amount_exceeds_penalty")
    request_id: str | None = None
    errors: list[FieldError] | None = None


class DomainError(Exception):
    """The one error type services raise. Titles are localised; `detail` is free text."""

    status: int = 400
    code: str = "request.bad"
    titles: dict[str, str] | None = None

    def __init_subclass__(cls, *, status: int | None = None, code: str | None = None, **kw: Any) -> None:
        # `class Conflict(DomainError, status=409, code="resource.conflict")`: a kind in one line.
        super().__init_subclass__(**kw)
        if status is not None:
            cls.status = status
        if code is not None:
            cls.code = code

    def __init__(
        self,
        detail: str | None = None,
        *,
        status: int | None = None,
        code: str | None = None,
        titles: dict[str, str] | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or code or self.code)
        self.detail = detail
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        if titles is not None:
            self.titles = titles
        self.errors = errors
        self.headers = headers
        self.extra = extra or {}


class NotFound(DomainError, status=404, code="resource.not_found"):
    """Missing, or out of the caller's scope: the same answer, so existence never leaks."""


class Forbidden(DomainError, status=403, code="auth.forbidden"):
    """Signed in, but the permission, rank or data scope does not reach."""


class Conflict(DomainError, status=409, code="resource.conflict"):
    """The record's state does not allow this now (a transition, a uniqueness rule)."""


class NotAuthenticated(DomainError, status=401, code="auth.not_authenticated"):
    """No valid credentials; the answer names the scheme to use."""

    def __init__(self, detail: str | None = None, **kw: Any) -> None:
        kw.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(detail, **kw)


class ReadOnly(Forbidden, code="scope.read_only"):
    """The record is readable but not the caller's to change."""


class PreconditionFailed(DomainError, status=412, code="resource.precondition_failed"):
    """The client's If-Match names a version that is no longer current."""


class InvalidInput(DomainError, status=422, code="request.validation_failed"):
    """Well-formed input the rules refuse, with pointers to the fields when there are any."""


_KINDS: dict[str, type[DomainError]] = {kind.__name__: kind for kind in (
    DomainError, NotFound, Forbidden, Conflict, NotAuthenticated, PreconditionFailed, InvalidInput)}


def error_catalogue(module_name: str) -> dict[str, type[DomainError]]:
    """The error classes an area declares as data in the `.toml` beside its `errors.py`.

    An area's codes and their localised titles are a catalogue (translators edit the titles, clients
    rely on the codes), so they are kept as data: `[errors]` maps each class name to its `kind` (a
    base above), `code`, optional `status`, and optional titles in every supported language. The
    classes are real subclasses, importable by name (`from app.org.errors import CompanyNotFound`),
    so an unknown name fails at import. Errors with behaviour of their own stay Python classes.
    """
    path = Path(sys.modules[module_name].__file__ or "").with_suffix(".toml")
    with path.open("rb") as file:
        entries = tomllib.load(file)["errors"]
    classes: dict[str, type[DomainError]] = {}
    for name, entry in entries.items():
        fields = dict(entry)
        attrs: dict[str, Any] = {"__module__": module_name, "__qualname__": name,
                                 "__doc__": f"`{fields['code']}` ({path.name})"}
        base = _KINDS[fields.pop("kind")]
        attrs["code"] = fields.pop("code")
        if "status" in fields:
            attrs["status"] = fields.pop("status")
        titles = {language: fields.pop(language) for language in SUPPORTED if language in fields}
        if titles and set(titles) != set(SUPPORTED):
            raise ValueError(f"{path}: {name} needs a title in every language of {SUPPORTED} or none")
        if titles:
            attrs["titles"] = titles
        if fields:
            raise ValueError(f"{path}: {name} has unknown keys {sorted(fields)}")
        classes[name] = type(name, (base,), attrs)
    return classes


def problem_response(
    request: Request | None,
    status: int,
    code: str,
    *,
    titles: dict[str, str] | None = None,
    detail: str | None = None,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"/problems/{code}",
        "title": pick(titles or STATUS_TITLES.get(status, STATUS_TITLES[400 if status < 500 else 500])),
        "status": status,
        "code": code,
        "request_id": request_id_var.get(),
    }
    if detail:
        body["detail"] = detail
    if request is not None:
        body["instance"] = request.url.path
    if errors:
        body["errors"] = errors
    if extra:
        body.update(extra)
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


def _pointer(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in loc]
    return "/" + "/".join(parts)


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return problem_response(
        request,
        exc.status,
        exc.code,
        titles=exc.titles,
        detail=exc.detail,
        errors=exc.errors,
        headers=exc.headers,
        extra=exc.extra,
    )


# zh-CN messages for pydantic's common error types (and ours, from app/core/types.py), keyed by the
# error `type`; placeholders come from the error's `ctx`. English keeps pydantic's own message.
ZH_MESSAGES: dict[str, str] = {
    "missing": "必填",
    "extra_forbidden": "不允许的字段",
    "json_invalid": "JSON 格式错误",
    "json_type": "应为 JSON",
    "string_type": "应为字符串",
    "string_too_short": "至少 {min_length} 个字符",
    "string_too_long": "最多 {max_length} 个字符",
    "string_pattern_mismatch": "格式不正确",
    "string_unicode": "应为有效的 Unicode 字符串",
    "string_control_characters": "不能包含 NUL 或其他控制字符",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "int_parsing_size": "整数超出范围",
    "bool_type": "应为布尔值（true 或 false）",
    "bool_parsing": "应为布尔值（true 或 false）",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "greater_than": "应大于 {gt}",
    "greater_than_equal": "应大于或等于 {ge}",
    "less_than": "应小于 {lt}",
    "less_than_equal": "应小于或等于 {le}",
    "multiple_of": "应为 {multiple_of} 的倍数",
    "finite_number": "应为有限数",
    "too_short": "至少 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "list_type": "应为数组",
    "dict_type": "应为对象",
    "model_type": "应为对象",
    "model_attributes_type": "应为对象",
    "literal_error": "应为以下之一：{expected}",
    "enum": "应为以下之一：{expected}",
    "uuid_type": "应为 UUID",
    "uuid_parsing": "应为 UUID",
    "decimal_type": "应为十进制数字字符串",
    "decimal_parsing": "应为十进制数字字符串",
    "decimal_max_digits": "最多 {max_digits} 位数字",
    "decimal_max_places": "最多 {decimal_places} 位小数",
    "decimal_whole_digits": "整数部分最多 {whole_digits} 位",
    "money_format": "应为最多两位小数的金额字符串，如 \"1234.50\"",
    "money_positive": "应为大于 0、最多两位小数的金额字符串，如 \"1234.50\"",
    "rate_format": "应为最多 8 位小数的非负数字字符串，如 \"0.0005\"",
    "time_zone": "应为 IANA 时区，如 Asia/Shanghai",
    "timestamp_format": "应为带时区的 RFC 3339 时间，如 2026-11-23T08:00:00Z",
    "date_format": "应为 YYYY-MM-DD 格式的日期",
    "datetime_type": "应为 RFC 3339 时间",
    "datetime_parsing": "应为 RFC 3339 时间",
    "datetime_from_date_parsing": "应为 RFC 3339 时间",
    "timezone_aware": "时间应带时区",
    "date_type": "应为日期 YYYY-MM-DD",
    "date_parsing": "应为日期 YYYY-MM-DD",
    "date_from_datetime_parsing": "应为日期 YYYY-MM-DD",
    "union_tag_invalid": "{discriminator} 应为以下之一：{expected_tags}",
    "union_tag_not_found": "缺少 {discriminator}",
    "value_error": "取值无效：{error}",
    "url_parsing": "应为 URL",
    "bytes_type": "应为二进制数据",
}


def localized_message(error: dict[str, Any]) -> str:
    """The error's message in the request's language (pydantic's English otherwise)."""
    message = str(error.get("msg", ""))
    if current_language.get() != "zh-CN":
        return message
    template = ZH_MESSAGES.get(str(error.get("type", "")))
    if template is None:
        return message
    try:
        return template.format(**{k: v for k, v in (error.get("ctx") or {}).items()})
    except (KeyError, IndexError, ValueError):
        return message


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"pointer": _pointer(e.get("loc", ())), "message": localized_message(e)} for e in exc.errors()]
    # A body that is not JSON at all is a 400; a well-formed body with wrong fields is a 422.
    if any(e.get("type") == "json_invalid" for e in exc.errors()):
        return problem_response(request, 400, "request.malformed_json", detail="The body is not valid JSON.",
                                errors=errors)
    return problem_response(request, 422, "request.validation_failed", errors=errors)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    generic = STATUS_TITLES.get(status, {}).get("en")
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != generic else None
    headers = dict(getattr(exc, "headers", None) or {})
    if status == 405:
        headers["Allow"] = ", ".join(_allowed_methods(request))
    return problem_response(request, status, STATUS_CODES.get(status, "request.bad"), detail=detail,
                            headers=headers or None)


# SQLSTATE class 22 (data exception): a value PostgreSQL cannot store or compare, e.g. NUL in text
# (22021), an untranslatable character (22P05), a string too long (22001), a number out of range
# (22003), invalid text representation (22P02). The schemas refuse these first; this is the net.
_DATA_EXCEPTION_CLASS = "22"


def _is_invalid_data(exc: DBAPIError) -> bool:
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None) or getattr(getattr(orig, "__cause__", None), "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate.startswith(_DATA_EXCEPTION_CLASS):
        return True
    # asyncpg's own argument encoding ("invalid input for query argument $1"): a client-side
    # DataError, never a connection problem.
    return isinstance(getattr(orig, "__cause__", None), AsyncpgArgumentError)


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DBAPIError)
    if not _is_invalid_data(exc):
        raise exc  # connection failures and bugs stay 5xx (rendered by the middleware)
    log.warning("database refused a value", extra={"path": request.url.path,
                                                   "sqlstate": getattr(exc.orig, "sqlstate", None)})
    return problem_response(request, 422, "request.invalid_value",
                            titles={"zh-CN": "提交的值无法保存", "en": "A value cannot be stored"},
                            detail="A value in the request is out of range or contains characters that cannot "
                                   "be stored.")


async def _stale_write(request: Request, exc: Exception) -> JSONResponse:
    # The mapper's version check: the row changed (or went) since this request loaded it. The
    # transaction is rolled back; the client reloads and retries with the new ETag.
    return problem_response(request, 409, "resource.conflict",
                            detail="The resource was changed by somebody else meanwhile; reload it and retry.")


def _allowed_methods(request: Request) -> list[str]:
    """Every method any route serves at this path (Starlette names only the first route's)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        regex, route_methods = getattr(route, "path_regex", None), getattr(route, "methods", None)
        if regex is not None and route_methods and regex.match(request.url.path):
            methods |= set(route_methods)
    return sorted(methods)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(StaleDataError, _stale_write)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries documenting problem+json for the given statuses."""
    return {
        status: {
            "model": Problem,
            "description": STATUS_TITLES.get(status, {"en": "Error"})["en"],
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }
