"""The committed OpenAPI documents are exactly what the code generates, and they are well formed."""

import json

from app.cli import export_openapi
from app.core.config import PROJECT_ROOT

# Operations without a bearer token: the token endpoints, and the GPS gateway's callback (its HMAC
# signature authenticates it; tests/devices/test_callbacks.py).
# The gateway callbacks carry no bearer token: a signature or the forwarding key (in their descriptions).
PUBLIC_PATHS = ("/auth/token", "/auth/refresh", "/device-gateway/callbacks", "/device-gateway/traccar/positions",
                "/device-gateway/traccar/events")


def test_committed_documents_equal_the_generated_ones():
    assert export_openapi(check=True) == 0, "run scripts/export-openapi and commit openapi/"


def test_documents_have_stable_operation_ids_security_and_problem_responses():
    for name in ("v1.json", "mobile-v1.json"):
        doc = json.loads((PROJECT_ROOT / "openapi" / name).read_text())
        assert doc["openapi"].startswith("3.1")
        seen = set()
        for path, operations in doc["paths"].items():
            for method, op in operations.items():
                assert op["operationId"] not in seen, op["operationId"]
                seen.add(op["operationId"])
                problems = [s for s, r in op["responses"].items() if "application/problem+json" in r.get("content", {})]
                # Which problems depends on the operation (tests/contract/test_document_properties.py).
                assert "503" in problems, f"{method} {path} documents no problems"
                if not path.endswith(PUBLIC_PATHS):
                    assert op.get("security"), f"{method} {path} has no security requirement"


def test_every_schema_has_one_name_for_both_directions():
    # A model used in a request and shown back in a response must not split into `X-Input` and
    # `X-Output`: openapi-python-client cannot resolve those references and drops every operation
    # that uses them (scripts/check-clients). Give such models json_schema_mode_override.
    for name in ("v1.json", "mobile-v1.json"):
        schemas = json.loads((PROJECT_ROOT / "openapi" / name).read_text())["components"]["schemas"]
        split = sorted(s for s in schemas if s.endswith(("-Input", "-Output")))
        assert not split, f"{name}: {split}"


def test_every_schema_name_is_a_plain_class_name():
    # Two models of one name in different areas come out as `app__area__schemas__X`: generated
    # clients cannot resolve those and drop the operations (scripts/check-clients). Name them apart.
    for name in ("v1.json", "mobile-v1.json"):
        schemas = json.loads((PROJECT_ROOT / "openapi" / name).read_text())["components"]["schemas"]
        qualified = sorted(s for s in schemas if "__" in s)
        assert not qualified, f"{name}: {qualified}"
