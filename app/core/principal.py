"""Who is calling: the authenticated principal, its permissions and data scope, and `require()`."""

import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import Forbidden
from app.core.routing import get_session

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


# Turning a bearer token into a Principal is the auth area's business; core only calls it. The
# auth area registers its resolver at import (app/domains.py imports it everywhere), so core never
# imports a domain package.
PrincipalResolver = Callable[[AsyncSession, str | None], Awaitable[Principal]]
_resolver: PrincipalResolver | None = None


def register_principal_resolver(resolver: PrincipalResolver) -> None:
    global _resolver
    _resolver = resolver


async def current_principal(request: Request, token: Annotated[str | None, Depends(oauth2_scheme)]) -> Principal:
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    if _resolver is None:  # pragma: no cover - app.domains registers it in every entry point
        raise RuntimeError("no principal resolver registered (import app.domains)")
    principal = await _resolver(get_session(request), token)
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
