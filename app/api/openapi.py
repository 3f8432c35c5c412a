"""Two OpenAPI 3.1 documents from one app: each lists only its surface's operations."""

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from app.api.surfaces import MOBILE_PREFIX, PLATFORM_PREFIX

SURFACES = {
    "v1": (PLATFORM_PREFIX, "Recourse platform API",
           "PC web front end, administrators and third-party integrations."),
    "mobile-v1": (MOBILE_PREFIX, "Recourse field API",
                  "The collectors' phone app. A released field version only grows, never breaks."),
}


def build_document(app: FastAPI, surface: str) -> dict[str, Any]:
    prefix, title, description = SURFACES[surface]
    routes = [r for r in app.routes if isinstance(r, APIRoute) and r.path.startswith(prefix + "/")
              and not (surface == "v1" and r.path.startswith(MOBILE_PREFIX))]
    doc = get_openapi(title=title, version=app.version, description=description, routes=routes)
    doc["servers"] = [{"url": "/"}]
    schemes = doc.setdefault("components", {}).setdefault("securitySchemes", {})
    for scheme in schemes.values():
        if scheme.get("type") == "oauth2":
            scheme["flows"]["password"]["tokenUrl"] = f"{prefix}/auth/token"
    return doc
