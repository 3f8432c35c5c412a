"""Who is calling: the authenticated principal, its permissions and data scope, and `require()`."""

import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Hashable
from dataclasses import dataclass, field
from typing import Annotated, Any, NamedTuple

from fastapi import Depends, FastAPI, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import get_settings
from app.core.errors import Forbidden
from app.core.routing import get_session, request_state

# tokenUrl is relative to the document's server; both surfaces serve /auth/token.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


class ScopeKind:
    ALL = "all"
    COMPANIES = "companies"
    COMPANY = "company"
    DEPARTMENT_TREE = "department_tree"
    DEPARTMENT = "department"
    SELF = "self"
    CHOICES = (ALL, COMPANIES, COMPANY, DEPARTMENT_TREE, DEPARTMENT, SELF)


@dataclass(frozen=True)
class DataScope:
    """The union of a user's roles' scopes, resolved to ids. Own records are always in scope."""

    all_companies: bool = False
    company_ids: frozenset[uuid.UUID] = frozenset()
    department_ids: frozenset[uuid.UUID] = frozenset()

    def covers_company(self, company_id: uuid.UUID | None) -> bool:
        return self.all_companies or (company_id is not None and company_id in self.company_ids)


@dataclass(frozen=True)
class Principal:
    user_id: uuid.UUID
    group_id: uuid.UUID
    company_id: uuid.UUID | None
    department_id: uuid.UUID | None
    username: str
    permissions: frozenset[str]
    scope: DataScope
    rank: int = 0
    is_system_admin: bool = False
    role_ids: frozenset[uuid.UUID] = field(default_factory=frozenset)

    def has(self, permission: str) -> bool:
        return permission in self.permissions


class VerifiedToken(NamedTuple):
    """What the principal resolver needs of an access token whose signature and claims checked out."""

    user_id: uuid.UUID
    group_id: uuid.UUID
    expires_at: float  # the `exp` claim, seconds since the epoch


class PrincipalCache:
    """One worker's resolved principals (per user) and verified access tokens; one per app.

    A principal is only ever served under the exact stamp it was resolved under, and the resolver
    reads the current stamp on every request (one primary-key query; see `AuthzStamp` in the org
    area), so an entry can be missing but never stale: no expiry, no invalidation messages between
    workers. A token is remembered once its signature and claims were verified; a hit still checks
    its expiry, and whether its user may still sign in is the stamp query's business.

    Both maps are bounded LRUs. Every method is synchronous (no await inside), so under asyncio no
    request ever sees one half-updated; two requests missing at once both load, the later write wins,
    and a write under an older stamp is merely a miss on the next request.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._principals: OrderedDict[uuid.UUID, tuple[Hashable, Principal]] = OrderedDict()
        self._tokens: OrderedDict[str, VerifiedToken] = OrderedDict()

    def principal(self, user_id: uuid.UUID, stamp: Hashable) -> Principal | None:
        entry = self._principals.get(user_id)
        if entry is None or entry[0] != stamp:
            return None
        self._principals.move_to_end(user_id)
        return entry[1]

    def keep_principal(self, stamp: Hashable, principal: Principal) -> None:
        self._keep(self._principals, principal.user_id, (stamp, principal))

    def token(self, token: str, now: float) -> VerifiedToken | None:
        verified = self._tokens.get(token)
        if verified is None:
            return None
        if verified.expires_at <= now:
            del self._tokens[token]
            return None
        self._tokens.move_to_end(token)
        return verified

    def keep_token(self, token: str, verified: VerifiedToken) -> None:
        self._keep(self._tokens, token, verified)

    def __len__(self) -> int:
        return len(self._principals)

    def _keep(self, entries: OrderedDict[Any, Any], key: Any, value: Any) -> None:
        entries[key] = value
        entries.move_to_end(key)
        while len(entries) > self._size:
            entries.popitem(last=False)


def principal_cache(app: FastAPI) -> PrincipalCache:
    """The app's cache (one app per worker process), made on first use."""
    cache = getattr(app.state, "principal_cache", None)
    if cache is None:
        cache = app.state.principal_cache = PrincipalCache(get_settings().principal_cache_size)
    return cache


# Turning a bearer token into a Principal is the auth area's business; core only calls it. The
# auth area registers its resolver at import (app/domains.py imports it everywhere), so core never
# imports a domain package.
PrincipalResolver = Callable[[AsyncSession, str | None, PrincipalCache], Awaitable[Principal]]
_resolver: PrincipalResolver | None = None


def register_principal_resolver(resolver: PrincipalResolver) -> None:
    global _resolver
    _resolver = resolver


async def current_principal(request: Request, token: Annotated[str | None, Depends(oauth2_scheme)]) -> Principal:
    cached = request_state(request).get("principal")
    if cached is not None:
        return cached
    if _resolver is None:  # pragma: no cover - app.domains registers it in every entry point
        raise RuntimeError("no principal resolver registered (import app.domains)")
    principal = await _resolver(get_session(request), token, principal_cache(request.app))
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require(*permissions: str) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """Dependency that admits a principal holding every permission named (none: any signed-in user).

    The returned function carries `required_permissions` so the authorization-matrix test can see
    what each route demands.
    """

    async def dependency(principal: CurrentPrincipal) -> Principal:
        missing = [p for p in permissions if not principal.has(p)]
        if missing:
            raise Forbidden(f"Missing permission: {', '.join(missing)}.", code="auth.missing_permission")
        return principal

    dependency.required_permissions = frozenset(permissions)  # type: ignore[attr-defined]
    dependency.__name__ = "require_" + ("_".join(permissions).replace(".", "_") or "authenticated")
    return dependency


def Requires(*permissions: str) -> Any:  # noqa: N802 - reads as a type in signatures
    """`principal: Requires("customer.read")` in a route signature."""
    return Annotated[Principal, Depends(require(*permissions))]
