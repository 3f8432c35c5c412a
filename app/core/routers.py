"""Router factories: every API route is transactional and authenticated unless it is explicitly public
(token, refresh). In core, so areas never import the app.api layer that assembles them.

Problem responses are not declared here: app/api/openapi.py derives each operation's from what the
route does (authentication, permissions, path ids, If-Match, body…). A route declares only what cannot
be derived, with `responses=problem_responses(...)`.
"""

from typing import Any

from fastapi import APIRouter, Depends

from app.core.errors import problem_responses
from app.core.principal import current_principal
from app.core.routing import TransactionalRoute


def api_router(**kwargs: Any) -> APIRouter:
    return APIRouter(route_class=TransactionalRoute, dependencies=[Depends(current_principal)], **kwargs)


def public_router(**kwargs: Any) -> APIRouter:
    # Public routes take credentials in their body: refused ones answer 401, a locked account 403.
    return APIRouter(route_class=TransactionalRoute, responses=problem_responses(401, 403), **kwargs)
