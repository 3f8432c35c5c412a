"""ETag / If-Match for single resources backed by a `version` column.

A route says which of these headers it uses with `@declares(...)` under its `@router.<method>(...)`;
the OpenAPI documents are written from that declaration. Under test (`ENVIRONMENT=test`)
`TransactionalRoute` checks every answer against it (`undeclared`): an ETag or Location the route did
not declare, or an If-Match check it did not declare, fails the request, so a route's tests catch a
forgotten one. A served app (development or production) never fails a user's request for it.
"""

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from fastapi import Request, Response
from pydantic import BaseModel

from app.core.errors import InvalidInput, PreconditionFailed

MAX_IF_MATCH = 1024
# `*` or a comma-separated list of (weak) entity tags (RFC 9110 13.1.1), as documented.
IF_MATCH_PATTERN = r'^(\*|(W/)?"[!#-~]*"([ \t]*,[ \t]*(W/)?"[!#-~]*")*)[ \t]*$'
_IF_MATCH_OK = re.compile(IF_MATCH_PATTERN)


class _Versioned(Protocol):
    version: int


V = TypeVar("V", bound=_Versioned)
EndpointT = TypeVar("EndpointT", bound=Callable[..., Any])

# Set in the request's state by `check_if_match`, so the route can tell it was checked.
IF_MATCH_CHECKED = "if_match_checked"


@dataclass(frozen=True)
class Declared:
    """The conditional-request headers of a route: `etag` on its 2xx answers (`set_etag`, `tagged`,
    `set_location`, `set_content_etag`), `location` on its 201 (`set_location` or by hand), and
    whether it checks `if_match` (`check_if_match`, `matched`, also from a dependency)."""

    etag: bool = False
    if_match: bool = False
    location: bool = False


NOTHING = Declared()


def declares(*, etag: bool = False, if_match: bool = False, location: bool = False) -> Callable[[EndpointT], EndpointT]:
    """Put under `@router.<method>(...)`: `@declares(etag=True, if_match=True)`."""

    def mark(endpoint: EndpointT) -> EndpointT:
        endpoint.declared_headers = Declared(etag=etag, if_match=if_match, location=location)  # type: ignore[attr-defined]
        return endpoint

    return mark


def declared(endpoint: Callable[..., Any]) -> Declared:
    return getattr(endpoint, "declared_headers", NOTHING)


def undeclared(endpoint: Callable[..., Any], response: Response, state: dict[str, Any],
               documented: frozenset[str] = frozenset()) -> list[str]:
    """What an answer (and the request's `state`) shows the route did without declaring it. A header
    the route documents itself in its `responses=` (lower-case names in `documented`: a download's
    strong ETag) is declared there."""
    said = declared(endpoint)
    found = []
    if "etag" in response.headers and not (said.etag or "etag" in documented):
        found.append("etag")
    if "location" in response.headers and not (said.location or "location" in documented):
        found.append("location")
    if state.get(IF_MATCH_CHECKED) and not said.if_match:
        found.append("if_match")
    return found


def etag_for(version: int) -> str:
    return f'W/"{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag_for(version)


def tagged(response: Response, obj: V) -> V:
    """`obj`, with the ETag of its version set on the response: `return Out.model_validate(tagged(response, obj))`."""
    set_etag(response, obj.version)
    return obj


def set_location(response: Response, path: str, version: int) -> None:
    """A creating route's answer: the new record's address (`Location`) and the ETag of its version."""
    response.headers["Location"] = path
    set_etag(response, version)


def check_if_match(request: Request, version: int) -> None:
    """Answer 412 when the client's If-Match names a version other than the current one."""
    request.state.if_match_checked = True  # IF_MATCH_CHECKED, see `undeclared`
    header = request.headers.get("if-match")
    if header is None:
        return
    header = header.strip(" \t")  # optional whitespace around a field value (RFC 9110 5.5)
    # The pattern admits only visible ASCII inside the tags and spaces or tabs between them.
    if len(header) > MAX_IF_MATCH or not _IF_MATCH_OK.match(header):
        raise InvalidInput("If-Match must be a list of ETags.", code="request.invalid_if_match",
                           errors=[{"pointer": "/header/If-Match", "message": "not a list of ETags"}])
    candidates = [c.strip() for c in header.split(",")]
    if "*" in candidates:
        return
    current = etag_for(version)
    # Weak comparison (RFC 9110 8.8.3.2): W/"3" and "3" name the same version.
    normalized = {c.removeprefix("W/") for c in candidates}
    if current.removeprefix("W/") not in normalized:
        raise PreconditionFailed(
            f"The resource has changed (current ETag {current}). Reload it and retry.",
            code="resource.stale",
        )


def matched(request: Request, obj: V) -> V:
    """`obj`, once the client's If-Match names its current version (412 otherwise)."""
    check_if_match(request, obj.version)
    return obj


def set_content_etag(response: Response, body: BaseModel) -> None:
    """The ETag of what a response shows, for a read assembled from several records (a case with its
    account and promise): any change of what the client sees changes it, so `If-None-Match` can
    answer 304 safely."""
    digest = hashlib.sha256(body.model_dump_json().encode()).hexdigest()[:32]
    response.headers["ETag"] = f'W/"{digest}"'


def none_match(header: str | None, etag: str) -> bool:
    """Whether an `If-None-Match` header names `etag` (weak comparison, RFC 9110 13.1.2)."""
    if header is None:
        return False
    if header.strip() == "*":
        return True
    return etag.removeprefix("W/") in {c.strip().removeprefix("W/") for c in header.split(",")}
