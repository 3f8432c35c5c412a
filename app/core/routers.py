"""Router factories: every API route is transactional, documents its problems, and is authenticated
unless it is explicitly public (token, refresh). In core, so areas never import the app.api layer
that assembles them."""

from typing import Any

from fastapi import APIRouter, Depends

from app.core.errors import problem_responses
from app.core.principal import current_principal
from app.core.routing import TransactionalRoute

COMMON_PROBLEMS = (400, 401, 403, 404, 409, 412, 413, 422, 429, 500)


def api_router(**kwargs: Any) -> APIRouter:
    return APIRouter(
        route_class=TransactionalRoute,
        dependencies=[Depends(current_principal)],
        responses=problem_responses(*COMMON_PROBLEMS),
        **kwargs,
    )


def public_router(**kwargs: Any) -> APIRouter:
    return APIRouter(route_class=TransactionalRoute, responses=problem_responses(400, 401, 403, 413, 422, 429, 500),
                     **kwargs)
