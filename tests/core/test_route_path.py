"""Routes match the ASGI path less the root path the app is mounted under (ASGI HTTP scope)."""

import pytest

from app.core.routing import route_path


@pytest.mark.parametrize(("path", "root_path", "expected"), [
    ("/api/v1/customers", "", "/api/v1/customers"),
    ("/api/v1/customers", None, "/api/v1/customers"),
    ("/recourse/api/v1/customers", "/recourse", "/api/v1/customers"),
    ("/recourse", "/recourse", ""),
    ("/recourse-old/api", "/recourse", "/recourse-old/api"),  # a longer name, not a path under the root
    ("/elsewhere", "/recourse", "/elsewhere"),
])
def test_route_path_strips_the_root_path_only_at_a_segment_boundary(path, root_path, expected):
    scope = {"type": "http", "path": path} | ({} if root_path is None else {"root_path": root_path})
    assert route_path(scope) == expected
