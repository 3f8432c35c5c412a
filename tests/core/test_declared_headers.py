"""A route declares its ETag, Location and If-Match with `@etag.declares(...)`; the OpenAPI documents
are written from the declaration, so outside production an answer that shows an undeclared one fails
(and every API test of the suite checks its route's declaration in passing)."""

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from app.core.errors import install_error_handlers
from app.core.etag import check_if_match, declares, set_etag, set_location
from app.core.routers import public_router
from app.core.routing import UndeclaredHeaders


def _app() -> FastAPI:
    router = public_router()

    @router.get("/undeclared-etag")
    async def undeclared_etag(response: Response) -> dict:
        set_etag(response, 3)
        return {}

    @router.get("/declared-etag")
    @declares(etag=True)
    async def declared_etag(response: Response) -> dict:
        set_etag(response, 3)
        return {}

    @router.post("/undeclared-location", status_code=201)
    @declares(etag=True)
    async def undeclared_location(response: Response) -> dict:
        set_location(response, "/things/1", 1)
        return {}

    @router.post("/declared-location", status_code=201)
    @declares(etag=True, location=True)
    async def declared_location(response: Response) -> dict:
        set_location(response, "/things/1", 1)
        return {}

    @router.post("/undeclared-if-match")
    async def undeclared_if_match(request: Request) -> dict:
        check_if_match(request, 3)  # even without the header: the route checks it when one is sent
        return {}

    @router.post("/declared-if-match")
    @declares(if_match=True)
    async def declared_if_match(request: Request) -> dict:
        check_if_match(request, 3)
        return {}

    @router.get("/download", responses={200: {"description": "A file", "headers": {"ETag": {
        "description": "The file's own strong ETag", "schema": {"type": "string"}}}}})
    async def download() -> Response:
        return Response(b"bytes", media_type="application/pdf", headers={"ETag": '"abc"'})

    app = FastAPI()
    install_error_handlers(app)
    app.include_router(router)
    return app


@pytest.fixture
async def client(engine):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://test") as client:
        yield client


@pytest.mark.parametrize(("method", "path", "undeclared"), [
    ("GET", "/undeclared-etag", "etag"),
    ("POST", "/undeclared-location", "location"),
    ("POST", "/undeclared-if-match", "if_match"),
])
async def test_an_undeclared_header_fails_the_request(client, method, path, undeclared):
    with pytest.raises(UndeclaredHeaders, match=undeclared):
        await client.request(method, path)


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/declared-etag"), ("POST", "/declared-location"), ("POST", "/declared-if-match"),
    ("GET", "/download"),  # documented in its own `responses=`
])
async def test_a_declared_header_answers(client, method, path):
    assert (await client.request(method, path)).status_code in (200, 201)


async def test_a_stale_if_match_still_answers_412_when_declared(client):
    assert (await client.post("/declared-if-match", headers={"If-Match": 'W/"2"'})).status_code == 412
