"""Pure ASGI middleware: request id + language + access log, and request body limits."""

import json
import logging
import re
import socket
import time
import uuid
from collections.abc import Iterator

import asyncpg.exceptions as pg_errors
from fastapi import HTTPException
from sqlalchemy import exc as sa_errors
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core import metrics
from app.core.config import get_settings
from app.core.errors import PROBLEM_MEDIA_TYPE, STATUS_TITLES
from app.core.etag import none_match
from app.core.i18n import current_language, negotiate, pick
from app.core.requestctx import request_id_var

access_log = logging.getLogger("recourse.access")
log = logging.getLogger("recourse.errors")
_REQUEST_ID_OK = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None



class _StartTracking:
    """`send`, noting whether the response has started: after that an error can no longer be answered."""

    def __init__(self, send: Send) -> None:
        self.send, self.started = send, False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
        await self.send(message)

class RequestContextMiddleware:
    """Assigns X-Request-ID (or keeps a sane incoming one), negotiates language, logs the request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        request_id = incoming if incoming and _REQUEST_ID_OK.match(incoming) else uuid.uuid4().hex
        rid_token = request_id_var.set(request_id)
        lang_token = current_language.set(negotiate(_header(scope, b"accept-language")))
        started = time.perf_counter()
        status = 500
        response_started = False  # after that an error can no longer be answered
        language = current_language.get()

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status, response_started = message["status"], True
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                headers.append((b"content-language", language.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            # Rendered here, inside the request context, so the problem carries the request id.
            if database_unavailable(exc):
                # An outage is not a bug: one line per request, not thousands of stack traces.
                log.warning("database unavailable: %s: %s", type(exc).__name__, exc,
                            extra={"path": scope.get("path")})
                if response_started:
                    raise
                await _send_problem(send_wrapper, scope, 503, "server.unavailable",
                                    "The database is unavailable; retry shortly.",
                                    headers=[(b"retry-after", str(RETRY_AFTER_SECONDS).encode())])
                return
            log.exception("unhandled error", extra={"path": scope.get("path")})
            if response_started:
                raise
            await _send_problem(send_wrapper, scope, 500, "server.error", None)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            # The route template, never the raw path: ids would explode the label cardinality.
            metrics.observe(scope.get("method", ""), getattr(route, "path", "unmatched"), status, elapsed)
            if access_log.isEnabledFor(logging.INFO):  # the line's dict only when it is written
                access_log.info("request", extra={"method": scope.get("method"), "path": scope.get("path"),
                                                  "status": status, "duration_ms": round(elapsed * 1000, 2)})
            request_id_var.reset(rid_token)
            current_language.reset(lang_token)


class BodyTooLarge(HTTPException):
    """An HTTPException so that FastAPI's body parsing lets it through (it turns others into 400)."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=f"The request body exceeds {limit} bytes.")


# What a multipart request carries besides its file: boundaries, each part's headers (a file name
# of up to 255 characters, percent-encoded), the small form fields. Generous on purpose.
MULTIPART_OVERHEAD_BYTES = 64 * 1024


class BodyLimitMiddleware:
    """Refuses bodies over the limit with 413 problem+json, whether or not Content-Length is sent.

    Multipart uploads get the upload limit plus the multipart wrapping (the file itself is held to
    `max_upload_bytes` where it is read: a file of exactly the limit passes); everything else the
    JSON limit.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        settings = get_settings()
        self.json_limit = settings.max_json_body_bytes
        self.upload_limit = settings.max_upload_bytes + MULTIPART_OVERHEAD_BYTES

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        content_type = (_header(scope, b"content-type") or "").lower()
        limit = self.upload_limit if content_type.startswith("multipart/") else self.json_limit
        declared = _header(scope, b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > limit
            except ValueError:
                too_big = False
            if too_big:
                await self._reject(scope, send, limit)
                return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        tracking_send = _StartTracking(send)
        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not tracking_send.started:
                await self._reject(scope, send, limit)

    async def _reject(self, scope: Scope, send: Send, limit: int) -> None:
        await _send_problem(send, scope, 413, "request.too_large", f"The request body exceeds {limit} bytes.")


# What a client should wait before retrying while the database is away: PostgreSQL restarts and
# fail-overs take seconds, and the pool reconnects on the first request after that.
RETRY_AFTER_SECONDS = 5

# SQLSTATEs that mean "the server is not there for you right now": class 08 (connection exception,
# including ConnectionDoesNotExistError) and the shutdown / starting-up / too-many-connections ones.
_UNAVAILABLE_PG_ERRORS = (
    pg_errors.PostgresConnectionError,
    pg_errors.AdminShutdownError,
    pg_errors.CrashShutdownError,
    pg_errors.CannotConnectNowError,
    pg_errors.TooManyConnectionsError,
)
# Network failures the app can only meet talking to the database; always transient.
_NETWORK_ERRORS = (ConnectionError, TimeoutError, socket.gaierror)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception, what it was raised from or during, and the members of exception groups."""
    pending, seen = [exc], set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)


def _raised_by_database_driver(exc: BaseException) -> bool:
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_globals.get("__name__", "").startswith(("asyncpg.", "sqlalchemy.")):
            return True
        tb = tb.tb_next
    return False


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` means the database cannot be reached or used right now (an outage, a restart,
    a full pool), which is a 503 with Retry-After rather than a 500.

    Walks the whole chain: SQLAlchemy wraps driver errors, and a failed ROLLBACK on a dead
    connection raises with the original failure as its context.
    """
    for cause in _causes(exc):
        if isinstance(cause, sa_errors.TimeoutError):  # QueuePool: no connection within pool_timeout
            return True
        if isinstance(cause, sa_errors.DBAPIError) and (
            cause.connection_invalidated or isinstance(cause, sa_errors.OperationalError)
        ):
            return True
        if isinstance(cause, _UNAVAILABLE_PG_ERRORS + _NETWORK_ERRORS):
            return True
        # Connecting over a Unix socket whose server is gone raises FileNotFoundError; a plain
        # OSError counts only when the driver raised it, not, say, a missing attachment file.
        if isinstance(cause, OSError) and _raised_by_database_driver(cause):
            return True
    return False


async def _send_problem(send: Send, scope: Scope, status: int, code: str, detail: str | None,
                        headers: list[tuple[bytes, bytes]] | None = None) -> None:
    """A problem response from middleware, where FastAPI's handlers cannot reach."""
    problem = {"type": f"/problems/{code}", "title": pick(STATUS_TITLES[status]), "status": status, "code": code,
               "instance": scope.get("path"), "request_id": request_id_var.get()}
    if detail:
        problem["detail"] = detail
    body = json.dumps(problem, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class WeakNetworkMiddleware:
    """For paths under `prefix` (the phones' surface): a GET whose `If-None-Match` names the ETag of
    the response answers 304 without the body, and bodies over `minimum_size` are gzipped when the
    client accepts it. The handler still runs (the ETag is the response's); what is saved is the
    bytes over a weak network."""

    def __init__(self, app: ASGIApp, prefix: str, minimum_size: int = 1024) -> None:
        self.app, self.prefix = app, prefix
        self.gzip = GZipMiddleware(app, minimum_size=minimum_size)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        wanted = _header(scope, b"if-none-match") if scope["method"] in ("GET", "HEAD") else None
        if wanted is None:
            await self.gzip(scope, receive, send)
            return
        not_modified = False

        async def conditional(message: Message) -> None:
            nonlocal not_modified
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                etag = next((v.decode("latin-1") for k, v in headers if k.lower() == b"etag"), None)
                if message["status"] == 200 and etag is not None and none_match(wanted, etag):
                    not_modified = True
                    kept = [(k, v) for k, v in headers if k.lower() not in _ENTITY_HEADERS]
                    message = {**message, "status": 304, "headers": kept}
            elif message["type"] == "http.response.body" and not_modified:
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.gzip(scope, receive, conditional)


# A 304 carries no body: nothing describing one (RFC 9110 15.4.5).
_ENTITY_HEADERS = {b"content-length", b"content-type", b"content-encoding"}
