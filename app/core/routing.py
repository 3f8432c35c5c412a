"""Every API route runs in one transaction owned by `TransactionalRoute`.

The handler (and the services it calls) only flush. When the handler returns a success response
the unit of work commits: pending audit events and the idempotency record are written in the same
transaction. Any error, or an error response, rolls everything back. The commit happens before the
response leaves, so a client never sees a 2xx for a change that was not committed.

GET routes read without a transaction (autocommit: no BEGIN and COMMIT round trips, each statement
its own snapshot) and may not write: the session is marked read-only and a write raises
(`db.WriteInReadOnlyRequest`). A GET that must write (an audited export) says so with
`@writes_on_read` and runs in a transaction like any other route.
"""

import asyncio
import inspect
import random
import re
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.routing import BaseRoute, Match, compile_path
from starlette.types import Receive, Scope, Send

from app.core import db, etag
from app.core.config import get_settings
from app.core.errors import Conflict, problem_response

# A write that loses a deadlock or a serialization failure to another transaction is run again from
# the start, in a fresh transaction, this many times in all before the client is told to retry.
RETRY_ATTEMPTS = 3


class ConcurrentUpdateLost(Conflict, code="request.concurrent_update"):
    """Two requests raced for the same rows and this one kept losing (after the server's retries)."""


class UndeclaredHeaders(RuntimeError):
    """A route sent an ETag or Location, or checked If-Match, without `@etag.declares(...)` saying so:
    its OpenAPI documents would not say it either."""


class ShortCircuit(Exception):  # noqa: N818 - control flow, not an error
    """Raised by a dependency to answer with `response` without running the handler."""

    def __init__(self, response: Response) -> None:
        self.response = response


SessionProvider = Callable[[], Any]  # returns an async context manager yielding an AsyncSession


@asynccontextmanager
async def default_session_provider() -> AsyncIterator[AsyncSession]:
    async with db.session_factory()() as session:
        yield session


@asynccontextmanager
async def read_session_provider() -> AsyncIterator[AsyncSession]:
    async with db.read_session_factory()() as session:
        yield session


SAFE_METHODS = frozenset({"GET", "HEAD"})
EndpointT = TypeVar("EndpointT", bound=Callable[..., Any])
T = TypeVar("T")


def writes_on_read(endpoint: EndpointT) -> EndpointT:
    """Put under `@router.get(...)`: this GET handler writes, so it runs in a transaction."""
    endpoint.writes_on_read = True  # type: ignore[attr-defined]
    return endpoint


class TransactionalRoute(APIRoute):
    def __init__(self, path: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(path, *args, **kwargs)
        # Path parameters named `*_id` match only UUIDs, so `/customers/assign` never falls through
        # to `/customers/{customer_id}`: another method on a static path answers 405 with the right
        # `Allow`, not a 422. Only the matching regex changes; `path` and the OpenAPI stay as written.
        self.path_regex = compile_path(re.sub(r"\{(\w+_id)\}", r"{\1:uuid}", self.path))[0]
        # A malformed id must still answer 422 with a pointer to it, not 404: a second, catch-all
        # matching takes the path when no route matches it exactly (see `matches`).
        self.loose_path_regex = compile_path(self.path)[0] if "_id}" in self.path else None
        # Starlette tries every route in turn (about 250): a path that does not start with the
        # route's literal part can match neither regex, so it is turned away before them (the
        # matching loop was 7 % of the worklist's CPU).
        self.literal_prefix = self.path.split("{", 1)[0]
        # Headers the route documents in its own `responses=` (see etag.undeclared).
        self.documented_headers = frozenset(name.lower() for answer in self.responses.values()
                                            for name in answer.get("headers", {}))

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and not route_path(scope).startswith(self.literal_prefix):
            return Match.NONE, {}
        match, child = super().matches(scope)
        if match != Match.NONE or self.loose_path_regex is None or scope["type"] != "http":
            return match, child
        path = route_path(scope)
        found = self.loose_path_regex.match(path)
        if found is None or _matched_exactly(scope, path):
            return Match.NONE, {}
        # The handler validates the ids (uuid.UUID parameters) and answers 422 at /path/<name>.
        params = {**scope.get("path_params", {}), **found.groupdict()}
        child = {"endpoint": self.endpoint, "path_params": params, "route": self}
        return (Match.FULL if scope["method"] in (self.methods or ()) else Match.PARTIAL), child

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = route_path(scope)
        if (scope["type"] == "http" and self.methods and scope["method"] not in self.methods
                and self.loose_path_regex is not None and not self.path_regex.match(path)):
            # Another method at a path with a malformed id: 405 naming the methods of its routes (the
            # generic handler looks for them by the UUID-only regexes, which do not match).
            routes = getattr(scope.get("router"), "routes", [])
            allowed = sorted({m for r in routes if isinstance(r, TransactionalRoute) and r.loose_path_regex
                              and r.loose_path_regex.match(path) for m in (r.methods or ())})
            response = problem_response(Request(scope), 405, "request.method_not_allowed",
                                        headers={"Allow": ", ".join(allowed)})
            await response(scope, receive, send)
            return
        await super().handle(scope, receive, send)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        # Called from APIRoute.__init__, once methods and endpoint are set.
        read_only = self.read_only = bool(self.methods) and self.methods <= SAFE_METHODS and not getattr(
            self.endpoint, "writes_on_read", False)
        own_provider = read_session_provider if read_only else default_session_provider

        async def transactional_handler(request: Request) -> Response:
            # `create_app` sets it (None: the route's own); a test harness swaps in its own.
            provider: SessionProvider = getattr(request.app.state, "session_provider", None) or own_provider
            async with provider() as session:
                request.state.session = session
                for attempt in range(1, RETRY_ATTEMPTS + 1):
                    try:
                        return await unit_of_work(request, session)
                    except DBAPIError as error:
                        if read_only or not db.lost_a_race(error):
                            raise
                        # An upload's stream is read once: such a request is not run again.
                        if attempt == RETRY_ATTEMPTS or request.headers.get("content-type", "").startswith(
                                "multipart/"):
                            raise ConcurrentUpdateLost("The request kept losing a race with another one: "
                                                       "send it again.") from error
                        db.forget_pending(session)
                        request_state(request).pop("idempotency", None)
                        await asyncio.sleep(random.uniform(0.005, 0.03) * attempt)  # noqa: S311 - jitter
                raise AssertionError("unreachable")  # pragma: no cover

        async def unit_of_work(request: Request, session: AsyncSession) -> Response:
            session.info[db.READ_ONLY] = read_only  # also on a session the provider reuses (tests)
            try:
                response = await handler(request)
            except ShortCircuit as short:
                await session.rollback()
                return short.response
            except BaseException:
                await session.rollback()
                raise
            finally:
                session.info.pop(db.READ_ONLY, None)
            # Under test every answer is held to the route's declared headers (app/core/etag.py); a
            # served app, the demo's included, never turns a documentation slip into a user's 500.
            if (get_settings().environment == "test"
                    and (undeclared := etag.undeclared(self.endpoint, response, request_state(request),
                                                           self.documented_headers))):
                await session.rollback()
                raise UndeclaredHeaders(f"{self.path}: declare {', '.join(undeclared)} with @etag.declares(...)")
            _without_body_headers(response)
            if read_only:
                # Nothing to commit or roll back: the session read without a transaction and
                # could not write (db.READ_ONLY). Closing it returns the connection.
                return response
            if response.status_code >= 400:
                await session.rollback()
                return response
            try:
                pending = request_state(request).get("idempotency")
                if pending is not None:
                    await pending.store(session, response)
                await db.commit(session)
            except BaseException:
                await session.rollback()
                raise
            return response

        return transactional_handler


def _without_body_headers(response: Response) -> None:
    # FastAPI renders a `None` handler result with the route's JSONResponse and blanks only the
    # body: a 204/304 must carry neither a body nor a Content-Type (RFC 9110 6.4.1, 15.3.5).
    if response.status_code in (204, 304):
        response.body = b""
        for header in ("content-type", "content-length"):
            if header in response.headers:
                del response.headers[header]


def route_path(scope: Scope) -> str:
    """The path routes match: the ASGI scope's `path` less the `root_path` the app is mounted under
    (the ASGI HTTP connection scope defines both)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and (len(path) == len(root) or path[len(root)] == "/"):
        return path[len(root):]
    return path


def _matched_exactly(scope: Scope, path: str) -> bool:
    """Whether some route (a static sibling such as /customers/assign) matches the path as it is."""
    router = scope.get("router")
    routes: list[BaseRoute] = getattr(router, "routes", [])
    return any(getattr(r, "path_regex", None) is not None and r.path_regex.match(path)  # type: ignore[attr-defined]
               for r in routes)


def request_state(request: Request) -> dict[str, Any]:
    """What `request.state` holds, as the dict it is: reading a missing name through `State` raises
    and catches an AttributeError, a cost on every request for names usually absent."""
    return request.scope.setdefault("state", {})


def get_session(request: Request) -> AsyncSession:
    session = request_state(request).get("session")
    if session is None:  # pragma: no cover - a route outside TransactionalRoute
        raise RuntimeError("route is not transactional")
    return session


async def request_session(request: Request) -> AsyncSession:
    """`Depends(request_session)`: the request's session. Async because FastAPI runs a plain `def`
    dependency in a worker thread, a hop that cost the no-op request about 7 % of its CPU."""
    return get_session(request)


# A route's session parameter: `session: Session`.
Session = Annotated[AsyncSession, Depends(request_session)]


def query_object(cls: type[T]) -> Callable[..., Coroutine[Any, Any, T]]:
    """`Depends(query_object(Filters))`: like `Depends()` on the class (its fields are the query
    parameters, documented the same), but built on the event loop: FastAPI runs a class or a plain
    `def` dependency in a worker thread, a hop on every list request."""

    async def build(**values: Any) -> T:
        return cls(**values)

    build.__signature__ = inspect.signature(cls)  # type: ignore[attr-defined]
    build.__name__ = build.__qualname__ = cls.__name__
    return build
