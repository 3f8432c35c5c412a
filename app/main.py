"""Builds the app: both API surfaces, ops endpoints, middleware and error handlers."""

import asyncio
import json
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

import app.domains  # noqa: F401 - every registration, before the routers are built
from app.api import ops
from app.api.openapi import SURFACES, build_document
from app.api.surfaces import MOBILE_PREFIX, mobile_router, platform_router
from app.core.config import get_settings
from app.core.errors import install_error_handlers
from app.core.logging import configure_logging
from app.core.middleware import BodyLimitMiddleware, RequestContextMiddleware, WeakNetworkMiddleware

VERSION = "1.0.0"


def create_app() -> FastAPI:
    settings = get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # noqa: ANN202
        from app.core import db, jobs, queue  # noqa: PLC0415

        tasks = [*jobs.start_scheduler(), *filter(None, [queue.start_worker()])] if settings.run_scheduler else []
        yield
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if db._engine is not None:
            await db._engine.dispose()

    app = FastAPI(title="Recourse", version=VERSION, openapi_url=None, docs_url=None, redoc_url=None,
                  lifespan=lifespan)
    install_error_handlers(app)
    app.include_router(platform_router())
    app.include_router(mobile_router())
    app.include_router(ops.router)
    # Outermost first: the request id must exist before anything else runs or fails.
    app.add_middleware(WeakNetworkMiddleware, prefix=MOBILE_PREFIX)  # 304 and gzip for the phones
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(RequestContextMiddleware)

    documents: dict[str, dict[str, Any]] = {}

    def document(surface: str) -> dict[str, Any]:
        if surface not in documents:
            documents[surface] = build_document(app, surface)
        return documents[surface]

    app.state.openapi_document = document
    # Read on every request (core.routing): set here, so reading it never misses. None means each
    # route's own sessions; the test harness swaps in its provider.
    app.state.session_provider = None
    for surface, (prefix, title, _) in SURFACES.items():
        _serve_docs(app, surface, prefix, title, document)
    if settings.environment != "test":
        configure_logging(settings.log_level)
    return app


def _serve_docs(app: FastAPI, surface: str, prefix: str, title: str, document) -> None:  # noqa: ANN001
    async def openapi_json() -> JSONResponse:
        return JSONResponse(document(surface))

    async def swagger() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=f"{prefix}/openapi.json", title=title)

    app.add_api_route(f"{prefix}/openapi.json", openapi_json, include_in_schema=False)
    app.add_api_route(f"{prefix}/docs", swagger, include_in_schema=False)


def dump_document(app: FastAPI, surface: str) -> str:
    return json.dumps(app.state.openapi_document(surface), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
