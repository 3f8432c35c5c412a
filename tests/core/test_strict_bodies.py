"""JSON bodies are as strict as the documents say (issue 25, item 12): a number is not `true` or `"5"`,
a boolean is not `1` or `"true"`, a timestamp is not a Unix time, a date is not a number, and a
decimal string's digits are ASCII (`"１２"` is not 12); and no string takes NUL, a control character
or 40 000 characters (the hardening issue's bad input, now over every write route). Every field of
every request body of both documents, nested objects and list items included, is probed with the
values its type must refuse; each must answer 422 with a pointer at that field, so the next area
inherits the rule."""

import json
import re
import uuid
from typing import Any

from app.core import clock
from app.core.config import PROJECT_ROOT, get_settings
from app.devices import signing
from tests.conftest import TRACCAR_FORWARD_KEY

# What a lax parser would take for each JSON type, and a strict one refuses.
LAX = {"number": (True, "5"), "integer": (True, "5", 1.5), "boolean": (1, "true")}
LAX_FORMAT = {"date-time": (1796600000,), "date": (0,)}
FULL_WIDTH = "１２"  # digits pydantic and Python's Decimal read as 12
# The hardening issue's bad input, for every string of every body: NUL, a control character, 40 000
# characters.
HOSTILE = ("坏\x00名", "坏\x01名", "x" * 40_000)


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _alternatives(schema: dict[str, Any], components: dict[str, Any]) -> list[dict[str, Any]]:
    schema = _resolve(schema, components)
    subs = schema.get("anyOf") or schema.get("oneOf")
    if subs:
        return [a for sub in subs for a in _alternatives(sub, components)]
    return [schema]


def _probes(schema: dict[str, Any], components: dict[str, Any]) -> list[Any]:
    alternatives = _alternatives(schema, components)
    types = {a.get("type") for a in alternatives}
    probes: list[Any] = []
    for a in alternatives:
        kind = a.get("type")
        probes += LAX.get(kind, ())
        if kind == "string":
            probes += LAX_FORMAT.get(a.get("format"), ())
            if _constant(a) is None and "enum" not in a:  # a choice refuses anything else already
                probes += HOSTILE
            if re.search(r"\\d|0-9", a.get("pattern", "")):
                probes.append(FULL_WIDTH)
    kept: list[Any] = []
    for probe in probes:  # `True` == 1 in Python: compare by type too
        if not any(_valid_as(probe, t) for t in types) and not any(type(probe) is type(k) and probe == k
                                                                   for k in kept):
            kept.append(probe)
    return kept


def _valid_as(probe: Any, kind: str | None) -> bool:
    """Whether a JSON value of this kind is `probe` as it is (then probing with it proves nothing)."""
    if kind == "boolean":
        return isinstance(probe, bool)
    if isinstance(probe, bool):
        return False
    if kind == "number":
        return isinstance(probe, int | float)
    if kind == "integer":
        return isinstance(probe, int)
    if kind == "string":
        return isinstance(probe, str) and probe != FULL_WIDTH and probe not in HOSTILE
    return False


Leaf = tuple[tuple[Any, ...], dict[str, Any], tuple[tuple[tuple[Any, ...], Any], ...]]


def _constant(schema: dict[str, Any]) -> Any:
    if "const" in schema:
        return schema["const"]
    return schema["enum"][0] if len(schema.get("enum", ())) == 1 else None


def _fields(schema: dict[str, Any], components: dict[str, Any], path: tuple[Any, ...], seen: frozenset[str],
            fixed: tuple[tuple[tuple[Any, ...], Any], ...] = ()) -> list[Leaf]:
    """Every leaf field under `schema`: the path that reaches it (a list's items at index 0), and the
    constants its object needs beside it (the discriminator of a union)."""
    out: list[Leaf] = []
    for alternative in _alternatives(schema, components):
        name = json.dumps(alternative, sort_keys=True)
        if name in seen:
            continue
        if alternative.get("type") == "object" or "properties" in alternative:
            properties = {k: _resolve(v, components) for k, v in alternative.get("properties", {}).items()}
            here = fixed + tuple(((*path, k), _constant(v)) for k, v in properties.items()
                                 if _constant(v) is not None)
            for key, sub in alternative.get("properties", {}).items():
                out += _fields(sub, components, (*path, key), seen | {name}, here)
        elif alternative.get("type") == "array":
            out += _fields(alternative.get("items", {}), components, (*path, 0), seen | {name}, fixed)
        elif path:
            out.append((path, schema, fixed))
    return out


def _body(path: tuple[Any, ...], value: Any, fixed: tuple[tuple[tuple[Any, ...], Any], ...]) -> Any:
    """A body with `value` at `path` and the constants beside it."""
    root: Any = None
    for where, what in (*((p, v) for p, v in fixed if p != path), (path, value)):
        if not where:
            return what
        root = [None] if where[0] == 0 else {} if root is None else root
        node = root
        for step, following in zip(where, (*where[1:], None), strict=True):
            key = 0 if step == 0 else step
            if following is None:
                node[key] = what
            else:
                if isinstance(node, dict) and key not in node or isinstance(node, list) and node[key] is None:
                    node[key] = [None] if following == 0 else {}
                node = node[key]
    return root


def _bodies() -> list[tuple[str, str, str, tuple[Any, ...], dict[str, Any], dict[str, Any],
                            tuple[tuple[tuple[Any, ...], Any], ...]]]:
    found = []
    for name in ("v1.json", "mobile-v1.json"):
        document = json.loads((PROJECT_ROOT / "openapi" / name).read_text())
        components = document.get("components", {}).get("schemas", {})
        for route, operations in document["paths"].items():
            for method, operation in operations.items():
                media = operation.get("requestBody", {}).get("content", {}).get("application/json")
                if media is None:
                    continue
                seen: set[str] = set()
                for path, schema, fixed in _fields(media["schema"], components, (), frozenset()):
                    if (key := json.dumps([path, fixed])) not in seen:
                        seen.add(key)
                        found.append((name, method, route, path, schema, components, fixed))
    return found


def test_the_probe_reaches_the_fields_the_issue_named():
    fields = {(route, path) for _, _, route, path, _, _, _ in _bodies()}
    assert ("/api/v1/collection-cases/{case_id}/logs", ("location", "latitude")) in fields
    assert any(p[-1] == "occurred_at" for _, p in fields)
    assert any(p[-1] == "dry_run" for _, p in fields)
    assert len(fields) > 300


def _at(given: str, field: str) -> bool:
    """`given` points at `field` (or inside it); pydantic names a union's chosen member in the
    location (`/rule/role_in_company/role_id`), one step the body does not have."""
    have, want = given.split("/"), field.split("/")
    if have[:len(want)] == want:
        return True
    return any(have[:i] + have[i + 1:i + 1 + len(want) - i] == want for i in range(1, len(want)))


def _headers(route: str, body: bytes, signed_in: dict[str, str]) -> dict[str, str]:
    """The route's own credentials: the gateway's signature or forwarding key, else a signed-in user."""
    json_type = {"Content-Type": "application/json"}
    if route.endswith("/device-gateway/callbacks"):
        key = get_settings().device_callback_key()
        return {**json_type, **signing.signed_headers(key, int(clock.timestamp()), body)}
    if "/device-gateway/traccar/" in route:
        return {**json_type, "X-Recourse-Gateway-Key": TRACCAR_FORWARD_KEY}
    return {**json_type, **signed_in}


async def test_every_body_field_refuses_what_its_type_does_not_say_with_422_at_that_field(client, auth,
                                                                                          traccar_forwarding):
    signed_in = auth("admin")
    wrong: list[str] = []
    judged = 0
    for document, method, route, path, schema, components, fixed in _bodies():
        concrete = re.sub(r"\{\w+\}", str(uuid.uuid4()), route)
        for value in _probes(schema, components):
            body = json.dumps(_body(path, value, fixed)).encode()
            answer = await client.request(method, concrete, content=body, headers=_headers(route, body, signed_in))
            if answer.status_code == 404 and "{" in route:
                continue  # the record is looked up before the body (a PATCH): the POST beside it is judged
            judged += 1
            pointer = "/body/" + "/".join(str(step) for step in path)
            pointers = [e.get("pointer", "") for e in answer.json().get("errors", [])] \
                if answer.status_code == 422 else []
            if not any(_at(p, pointer) for p in pointers):
                shown = value if not isinstance(value, str) or len(value) < 100 else f"<{len(value)} characters>"
                wrong.append(f"{document} {method.upper()} {route} {pointer} = {shown!r}: {answer.status_code}")
    assert not wrong, f"{len(wrong)} lax fields:\n" + "\n".join(wrong)
    assert judged > 150
