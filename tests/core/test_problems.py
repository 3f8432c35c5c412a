"""Every error is an RFC 9457 problem: FastAPI's own 404/405/422, 413 and unexpected 500s too."""

PROBLEM = "application/problem+json"


def assert_problem(response, status, code=None):
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert {"type", "title", "status", "code"} <= set(body)
    assert body["status"] == status
    assert "Traceback" not in response.text
    if code:
        assert body["code"] == code
    return body


async def test_unknown_path_is_a_404_problem(client):
    assert_problem(await client.get("/api/v1/no-such-thing"), 404)


async def test_wrong_method_is_a_405_problem(client, auth):
    assert_problem(await client.delete("/api/v1/companies", headers=auth("admin")), 405)


async def test_validation_error_is_a_422_problem_with_pointers(client, auth):
    response = await client.post("/api/v1/companies", json={"code": "bad code!", "name": ""}, headers=auth("admin"))
    body = assert_problem(response, 422, "request.validation_failed")
    pointers = {e["pointer"] for e in body["errors"]}
    assert {"/body/code", "/body/name"} <= pointers


async def test_malformed_json_is_a_400_problem(client, auth):
    response = await client.post("/api/v1/companies", content=b"{not json", headers={
        **auth("admin"), "content-type": "application/json"})
    assert_problem(response, 400, "request.malformed_json")


async def test_oversized_body_is_a_413_problem(client, auth):
    big = b'{"code": "C99", "name": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    response = await client.post("/api/v1/companies", content=big, headers={
        **auth("admin"), "content-type": "application/json"})
    assert_problem(response, 413, "request.too_large")


async def test_oversized_chunked_body_without_length_is_a_413_problem(client, auth):
    async def chunks():
        for _ in range(20):
            yield b"x" * 65536 * 2

    response = await client.post("/api/v1/companies", content=chunks(), headers={
        **auth("admin"), "content-type": "application/json"})
    assert_problem(response, 413)


async def test_unexpected_exception_is_a_500_problem_without_details(app, client, auth):
    async def boom():
        raise RuntimeError("secret internal detail")

    app.add_api_route("/api/v1/_boom", boom)
    response = await client.get("/api/v1/_boom")
    body = assert_problem(response, 500, "server.error")
    assert "secret" not in response.text
    assert body["request_id"] == response.headers["x-request-id"]


async def test_titles_follow_accept_language(client):
    zh = await client.get("/api/v1/me")
    en = await client.get("/api/v1/me", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert zh.json()["title"] == "未认证"
    assert en.json()["title"] == "Not authenticated"
    assert en.headers["content-language"] == "en"


async def test_every_response_has_a_request_id_and_a_sane_incoming_one_is_kept(client):
    generated = await client.get("/healthz")
    kept = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    hostile = await client.get("/healthz", headers={"X-Request-ID": "<script>"})
    assert len(generated.headers["x-request-id"]) == 32
    assert kept.headers["x-request-id"] == "abc-123"
    assert hostile.headers["x-request-id"] != "<script>"


async def test_bad_cursor_is_a_422_problem(client, auth):
    response = await client.get("/api/v1/companies", params={"cursor": "garbage"}, headers=auth("admin"))
    assert_problem(response, 422, "pagination.invalid_cursor")


async def test_unknown_sort_is_a_422_problem(client, auth):
    response = await client.get("/api/v1/companies", params={"sort": "password"}, headers=auth("admin"))
    assert_problem(response, 422, "pagination.invalid_sort")
