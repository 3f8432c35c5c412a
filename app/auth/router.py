from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.routing import APIRoute

from app.auth import repository as auth_repo
from app.auth import service
from app.auth.schemas import (
    EffectiveScope,
    LogoutRequest,
    MeResponse,
    NamedRef,
    RefreshRequest,
    TokenResponse,
)
from app.core.config import get_settings
from app.core.db import commit
from app.core.principal import Principal, require
from app.core.routers import api_router, public_router
from app.core.routing import Session, default_session_provider
from app.core.security import HashLimiter
from app.core.types import Text
from app.org import repository as org_repo


def _sessions(request: Request) -> service.Sessions:
    """The app's session provider (the test harness swaps in its own), for a route that runs its
    own short transactions instead of the one per request."""
    return getattr(request.app.state, "session_provider", None) or default_session_provider


def _hash_limiter(request: Request) -> HashLimiter:
    """One limiter per app (and so per worker process and event loop)."""
    limiter = getattr(request.app.state, "login_hash_limiter", None)
    if limiter is None:
        settings = get_settings()
        limiter = HashLimiter(settings.login_hash_concurrency, settings.login_hash_queue)
        request.app.state.login_hash_limiter = limiter
    return limiter


def build_auth_routers(client: str):
    """The token endpoints (public) and /me + logout (authenticated) for one surface."""
    public = public_router(prefix="/auth", tags=["auth"])
    private = api_router(tags=["auth"])
    op = client.replace("-", "_")
    # Login is the one route outside TransactionalRoute: one transaction around the whole request
    # would hold a connection (and, before, a row lock) while argon2 runs, and 24 concurrent logins
    # emptied the pool. service.login opens its own short sessions through the same provider.
    login = APIRouter(route_class=APIRoute)

    @login.post("/token", response_model=TokenResponse, operation_id=f"{op}_auth_token",
                summary="Log in with the OAuth2 password form",
                description="Repeated failures are throttled per address and per username: 429 with "
                            "`Retry-After`. A locked or disabled account answers like a wrong password.")
    async def token(
        request: Request,
        username: Annotated[Text(64), Form(min_length=1, max_length=64)],
        password: Annotated[Text(128), Form(min_length=1, max_length=128)],
        grant_type: Annotated[Text(20) | None, Form(pattern="^password$")] = None,
    ) -> TokenResponse:
        host = request.client.host if request.client else None
        return await service.login(_sessions(request), _hash_limiter(request), username, password, client, host)

    public.include_router(login)

    @public.post("/refresh", response_model=TokenResponse, operation_id=f"{op}_auth_refresh",
                 summary="Exchange a refresh token for new tokens (rotation)")
    async def refresh(session: Session, body: RefreshRequest) -> TokenResponse:
        outcome = await service.refresh(session, body.refresh_token, client)
        if outcome.error is not None:
            if outcome.commit_failure:
                await commit(session)  # the family revocation must survive the error response
            raise outcome.error
        assert outcome.tokens is not None
        return outcome.tokens

    @private.post("/auth/logout", status_code=204, operation_id=f"{op}_auth_logout",
                  summary="Revoke the refresh token family (or all of the caller's)")
    async def logout(session: Session, principal: Annotated[Principal, Depends(require())],
                     body: LogoutRequest | None = None) -> None:
        await service.logout(session, principal, body.refresh_token if body else None)

    @private.get("/me", response_model=MeResponse, operation_id=f"{op}_me", summary="The caller")
    async def me(session: Session, principal: Annotated[Principal, Depends(require())]) -> MeResponse:
        user = await auth_repo.user_placement(session, principal.user_id)
        roles = await org_repo.role_refs_of(session, principal.user_id)
        return MeResponse(
            id=user["id"], username=user["username"], display_name=user["display_name"],
            group=NamedRef(id=user["group_id"], name=user["group_name"], code=user["group_code"]),
            company=NamedRef(id=user["company_id"], name=user["company_name"], code=user["company_code"]),
            department=NamedRef(id=user["department_id"], name=user["department_name"])
            if user["department_id"] else None,
            roles=[NamedRef(id=r["id"], name=r["name"], code=r["code"]) for r in roles],
            permissions=sorted(principal.permissions),
            scope=EffectiveScope(
                all_companies=principal.scope.all_companies,
                company_ids=sorted(principal.scope.company_ids, key=str),
                department_ids=sorted(principal.scope.department_ids, key=str),
                kinds=sorted({r["scope_kind"] for r in roles}),
            ),
            is_system_admin=principal.is_system_admin,
        )

    return public, private
