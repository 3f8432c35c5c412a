"""One domain error type and one renderer: RFC 9457 problem+json for every error.

Services raise `DomainError` (or a subclass with fixed status/code); FastAPI's own 404/405/422 are
rendered by `problem_response`. Body-size limits and unexpected exceptions happen outside FastAPI's
handlers and are rendered with the same shape by app/core/middleware.py.
"""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.i18n import pick
from app.core.requestctx import request_id_var

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


class NotFound(DomainError):
    status, code = 404, "resource.not_found"


class Forbidden(DomainError):
    status, code = 403, "auth.forbidden"


class NotAuthenticated(DomainError):
    status, code = 401, "auth.not_authenticated"

    def __init__(self, detail: str | None = None, **kw: Any) -> None:
        kw.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(detail, **kw)


class Conflict(DomainError):
    status, code = 409, "resource.conflict"


class PreconditionFailed(DomainError):
    status, code = 412, "resource.precondition_failed"


class InvalidInput(DomainError):
    status, code = 422, "request.validation_failed"


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


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"pointer": _pointer(e.get("loc", ())), "message": str(e.get("msg", ""))} for e in exc.errors()]
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
