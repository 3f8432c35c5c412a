"""Operational endpoints outside the API versions: liveness, readiness, metrics."""

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from app.core import db, metrics

router = APIRouter(tags=["ops"], include_in_schema=False)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz() -> JSONResponse:
    """Ready when the database answers; 503 (not a crash) while it does not."""
    try:
        async with asyncio.timeout(2):
            async with db.get_engine().connect() as conn:
                await conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        return JSONResponse({"status": "unavailable", "database": type(exc).__name__}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


@router.get("/metrics")
async def prometheus_metrics() -> Response:
    """Prometheus exposition. Meant for the internal network: block it at the edge proxy."""
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)
