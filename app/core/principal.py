"""Who is calling: the authenticated principal, its permissions and data scope, and `require()`."""

import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from app.core.errors import Forbidden

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


async def current_principal(request: Request, token: Annotated[str | None, Depends(oauth2_scheme)]) -> Principal:
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    from app.auth.service import principal_from_access_token  # noqa: PLC0415 - core must not import domains at load
    from app.core.routing import get_session  # noqa: PLC0415

    principal = await principal_from_access_token(get_session(request), token)
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
