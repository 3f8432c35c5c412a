"""Two OpenAPI 3.1 documents from one app: each lists only its surface's operations.

FastAPI's own document is post-processed so that generated clients (openapi-typescript +
openapi-fetch, openapi-python-client) get what the routes really do. Everything is derived from the
route, so a new route is documented right without saying anything:

- headers: `If-Match` (request) and 412, `ETag`, and `Location` on 201 as the route declares them
  with `@etag.declares(...)` (checked against every answer outside production, see app/core/etag.py);
  `Idempotent-Replayed` where the `idempotency` dependency runs (its `Idempotency-Key` parameter
  FastAPI documents already); `Retry-After` on 429 and 503;
- problems, under `application/problem+json` only, per operation: 400/413 with a body, 401 when
  authenticated, 403 when a permission is required, 404 with path parameters or ids in the body,
  409 on writes, 412 with If-Match, 422 with any input, 429 where declared, 500 and 503 always;
- binary file parts and downloads as `format: binary`; `next_cursor` required (nullable) in pages;
  declared tags; `security: []` on public operations; descriptions and examples of creating operations
  (app/api/examples.py).
"""

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from app.api.examples import CREATE_OPERATIONS, EXTRA_PROBLEMS
from app.api.surfaces import MOBILE_PREFIX, PLATFORM_PREFIX
from app.core import etag
from app.core.errors import PROBLEM_MEDIA_TYPE, STATUS_TITLES, Problem
from app.core.idempotency import idempotency
from app.core.principal import current_principal

SURFACES = {
    "v1": (PLATFORM_PREFIX, "Recourse platform API",
           "PC web front end, administrators and third-party integrations."),
    "mobile-v1": (MOBILE_PREFIX, "Recourse field API",
                  "The collectors' phone app. A released field version only grows, never breaks."),
}

TAG_DESCRIPTIONS = {
    "auth": "Tokens (OAuth2 password form, rotating refresh tokens), logout and the caller (`/me`).",
    "organisation": "Companies, departments, users, roles, the permission catalogue and handovers.",
    "customers": "Customers: the list, duplicate check, public pool, claiming, shares, import and export.",
    "contacts": "Contacts and their links to customers.",
    "pool": "The public pool's rules per company.",
    "approvals": "Approval flows (configuration) and approval instances: inbox, approve, reject, urge…",
    "expenses": "Expense requests: draft, submit for approval, withdraw.",
    "field": "The collector's phone: the worklist, cases and logs, requests filed and submitted in one call with "
             "the phone's own UUID, notifications, and the offline sync (upserts and tombstones since a cursor).",
    "money-requests": "Requests on a contract's money: interest waivers (利息减免), settlement requests (结清申请, "
                      "with the release of the invoice and 合格证) and GPS service fees, approved on the engine.",
    "machines": "The financed machines: identification, GPS box, lock state and last position.",
    "contracts": "Sales contracts: drafts, terms and schedules (preview and frozen), approval, cancellation, "
                 "shipment requests.",
    "investigations": "Guarantee-company investigations before shipment: dispatch, questionnaire, score.",
    "shipments": "The outbound list (出库发车): shipment requests and their approval.",
    "payments": "Money received on a contract (还款登记), its allocation, and reversal of a payment recorded in error.",
    "collection-cases": "Collection cases (债权催收): the worklist, dispatch to collectors, assignment history and "
                        "the timeline of each overdue episode of a contract.",
    "charges": "Fee items outside the schedule (GPS service fee, tow cost, freight, rent) and their reversal.",
    "ledger": "A contract's receivable, read: ledger entries, balance and aging, payoff on a date, statements "
              "(JSON and .xlsx).",
    "collection-logs": "Collectors' logs of their contacts (催收日志), uploaded from the phone (offline-safe), and "
                       "voiding one written in error.",
    "promises": "Promises to pay (承诺还款) made in collection logs, judged kept or broken on their date.",
    "attachments": "Files from the field (photos, scans): upload by the client's own id, metadata with a photo's "
                   "EXIF time and place, and the bytes.",
    "towing": "Repossession (拖机): tow requests on the approval engine (the pending-promise hold applies), the tow "
              "tasks their approval opens, assignment, and the registration of the towed machine (charges the "
              "cost, repossesses the contract).",
    "devices": "Remote lock and unlock (锁机 / 开机): the requests on the approval engine (the pending-promise hold "
               "applies to a lock), the device commands their approval queues (queued → sent → acknowledged | "
               "failed | expired; waiting_safe while the machine moves; cancelled when superseded) and the GPS "
               "gateway's signed callback.",
    "reports": "Management reports (报表分析) within the caller's scope: aging, roll rates from month-end "
               "snapshots, collector performance, the promises morning list, sales; JSON for charts, aging and "
               "roll rates also as .xlsx with a native chart.",
    "notifications": "The caller's notifications.",
    "webhooks": "Integration events for ERP, BI and messaging systems: subscriptions (Standard Webhooks signatures, "
                "a secret shown once, rotatable), the delivery log and redelivery. Delivered at least once, in "
                "order per contract, retried for 3 days.",
    "messages": "Messages to customers (短信中心, e-mail): templates, the message log, sending from a case, "
                "opt-out. Sent by the close of business or by hand; never between 21:00 and 08:00 local time.",
    "audit": "The audit trail.",
    "close-of-business": "The business date (set by hand outside production) and the close of business: its runs, "
                         "and running it now.",
}

WRITE_METHODS = {"post", "put", "patch", "delete"}
SUCCESS_BODY_STATUSES = ("200", "201", "202")
DOWNLOAD_HEADERS = {"Content-Disposition": {"$ref": "#/components/headers/Content-Disposition"}}

HEADERS: dict[str, dict[str, Any]] = {
    "ETag": {"description": "The resource's version; send it back as If-Match to change the resource.",
             "schema": {"type": "string", "examples": ['W/"3"']}},
    "Location": {"description": "Where the created resource is.",
                 "schema": {"type": "string", "format": "uri-reference"}},
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored answer to an earlier request with the same "
                       "Idempotency-Key (same status, same body).",
        "schema": {"type": "string", "enum": ["true"]}},
    "Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer", "minimum": 0}},
    "Content-Disposition": {"description": "`attachment` with the file name.", "schema": {"type": "string"}},
}
IF_MATCH_PARAMETER = {
    "name": "If-Match", "in": "header", "required": False,
    "description": "The ETag the change is based on; a stale one answers 412. `*` matches any version.",
    "schema": {"type": "string", "maxLength": etag.MAX_IF_MATCH, "pattern": etag.IF_MATCH_PATTERN,
               "examples": ['W/"3"']},
}


@dataclass(frozen=True)
class RouteFacts:
    """What the document says about a route, read from its dependencies and declarations."""

    authenticated: bool
    permissions: tuple[str, ...]
    idempotent: bool
    if_match: bool
    etag: bool
    location: bool
    path_params: bool
    body: bool
    inputs: bool


def build_document(app: FastAPI, surface: str) -> dict[str, Any]:
    prefix, title, description = SURFACES[surface]
    routes = [r for r in app.routes if isinstance(r, APIRoute) and r.path.startswith(prefix + "/")
              and not (surface == "v1" and r.path.startswith(MOBILE_PREFIX))]
    doc = get_openapi(title=title, version=app.version, description=description, routes=routes)
    doc["servers"] = [{"url": "/"}]
    components = doc.setdefault("components", {})
    schemes = components.setdefault("securitySchemes", {})
    for scheme in schemes.values():
        if scheme.get("type") == "oauth2":
            scheme["flows"]["password"]["tokenUrl"] = f"{prefix}/auth/token"
    _add_problem_schema(components)
    components["headers"] = copy.deepcopy(HEADERS)
    components["parameters"] = {"IfMatch": copy.deepcopy(IF_MATCH_PARAMETER)}

    for route in routes:
        if not route.include_in_schema:
            continue
        facts = route_facts(route)
        for method in route.methods or ():
            op = doc["paths"].get(route.path_format, {}).get(method.lower())
            if op is not None:
                _document_operation(doc, op, method.lower(), facts)
    _binary_parts(components.get("schemas", {}))
    _pages(components.get("schemas", {}))
    _shared_enums(doc)
    _json_schema_bounds(doc)
    _tags(doc)
    _prune_unused_headers(doc)
    return doc


# --- what a route does -------------------------------------------------------------------------------

def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependants(sub)


def route_facts(route: APIRoute) -> RouteFacts:
    calls = [d.call for d in _dependants(route.dependant) if d.call is not None]
    headers = etag.declared(route.endpoint)
    params = [p for d in _dependants(route.dependant)
              for p in (*d.path_params, *d.query_params, *d.header_params, *d.cookie_params)]
    return RouteFacts(
        authenticated=current_principal in calls,
        permissions=tuple(sorted({p for c in calls for p in getattr(c, "required_permissions", ())})),
        idempotent=idempotency in calls,
        if_match=headers.if_match,
        etag=headers.etag,
        location=headers.location,
        path_params=any(d.path_params for d in _dependants(route.dependant)),
        body=route.body_field is not None,
        inputs=bool(params) or route.body_field is not None,
    )


# --- one operation -----------------------------------------------------------------------------------

def _document_operation(doc: dict[str, Any], op: dict[str, Any], method: str, facts: RouteFacts) -> None:
    responses: dict[str, Any] = op.setdefault("responses", {})
    _success_headers(responses, facts)
    if facts.if_match and not any(p.get("name", "").lower() == "if-match" for p in op.get("parameters", [])):
        op.setdefault("parameters", []).append({"$ref": "#/components/parameters/IfMatch"})
    if not facts.authenticated:
        op["security"] = []
    _not_nullable_parameters(op)
    _problems(doc, op, method, facts)
    _binary_responses(responses)
    _create_docs(op)
    if facts.permissions:
        who = "Requires the permission" + ("s " if len(facts.permissions) > 1 else " ") + \
            ", ".join(f"`{p}`" for p in facts.permissions) + "."
    else:
        who = "Any signed-in user." if facts.authenticated else "Public: no bearer token."
    op["description"] = f"{op['description']}\n\n{who}" if op.get("description") else who


def _not_nullable_parameters(op: dict[str, Any]) -> None:
    """An optional query or header parameter is left out, never sent as null (a query string or header
    cannot carry null): `anyOf: [X, null]` is just X, so clients do not offer a null to send."""
    for param in op.get("parameters", []):
        schema = param.get("schema", {})
        options = schema.get("anyOf")
        if param.get("in") in ("query", "header") and not param.get("required") and isinstance(options, list):
            kept = [o for o in options if o != {"type": "null"}]
            if len(kept) == 1 and len(options) == 2:
                rest = {k: v for k, v in schema.items() if k != "anyOf"}
                param["schema"] = {**kept[0], **rest}


def _success_headers(responses: dict[str, Any], facts: RouteFacts) -> None:
    created = responses.get("201")
    if created is not None:
        # A creating POST that may also answer 200 (an offline id uploaded again) answers the same body.
        replay = responses.get("200")
        if replay is not None and "content" not in replay and "content" in created:
            replay["content"] = copy.deepcopy(created["content"])
    for status, response in responses.items():
        if not status.startswith("2"):
            continue
        headers = response.setdefault("headers", {})
        if facts.etag and status != "204":
            headers["ETag"] = {"$ref": "#/components/headers/ETag"}
        if facts.location and status == "201":
            headers["Location"] = {"$ref": "#/components/headers/Location"}
        if facts.idempotent:
            headers["Idempotent-Replayed"] = {"$ref": "#/components/headers/Idempotent-Replayed"}
        if not headers:
            del response["headers"]


def _problem_statuses(doc: dict[str, Any], op: dict[str, Any], method: str, facts: RouteFacts) -> set[int]:
    statuses = {500, 503}
    if facts.body:
        statuses |= {400, 413}
    if facts.authenticated:
        statuses.add(401)
    if facts.permissions:
        statuses.add(403)
    if facts.path_params or (facts.body and _mentions_ids(doc, op.get("requestBody", {}))):
        statuses.add(404)
    if method in WRITE_METHODS and facts.authenticated:
        statuses.add(409)  # state machines, uniqueness, a reused Idempotency-Key
    if facts.if_match:
        statuses.add(412)
    if facts.inputs:
        statuses.add(422)
    statuses |= set(EXTRA_PROBLEMS.get(op.get("operationId", ""), ()))
    return statuses


def _problems(doc: dict[str, Any], op: dict[str, Any], method: str, facts: RouteFacts) -> None:
    responses: dict[str, Any] = op["responses"]
    declared = {int(s) for s in responses if s.isdigit() and int(s) >= 400}
    for status in sorted(declared | _problem_statuses(doc, op, method, facts)):
        entry = responses.get(str(status), {})
        response: dict[str, Any] = {
            "description": entry.get("description") or STATUS_TITLES.get(status, {"en": "Error"})["en"],
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        if status in (429, 503):
            response["headers"] = {"Retry-After": {"$ref": "#/components/headers/Retry-After"}}
        if status == 401 and facts.authenticated:
            response["headers"] = {"WWW-Authenticate": {"description": "`Bearer`", "schema": {"type": "string"}}}
        responses[str(status)] = response
    # FastAPI's own 422 (HTTPValidationError) was replaced above: ours is a problem like the rest.
    op["responses"] = dict(sorted(responses.items()))


def _mentions_ids(doc: dict[str, Any], node: Any, seen: set[str] | None = None) -> bool:
    """Whether a request body refers to other records by id (an unknown one answers 404)."""
    seen = set() if seen is None else seen
    if isinstance(node, dict):
        if node.get("format") == "uuid":
            return True
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/") and ref not in seen:
            seen.add(ref)
            return _mentions_ids(doc, doc["components"]["schemas"].get(ref.rsplit("/", 1)[1]), seen)
        return any(_mentions_ids(doc, v, seen) for v in node.values())
    if isinstance(node, list):
        return any(_mentions_ids(doc, v, seen) for v in node)
    return False


def _binary_responses(responses: dict[str, Any]) -> None:
    """Downloads (.xlsx, CSV) are files: a string of bytes in their own media type."""
    for status, response in responses.items():
        if not status.startswith("2"):
            continue
        content = response.get("content", {})
        binary = [mt for mt in content if not (mt.endswith("json") or mt.startswith("text/plain"))]
        for media_type in binary:
            content[media_type]["schema"] = {"type": "string", "format": "binary", "contentMediaType": media_type}
        if binary:
            response.setdefault("headers", {}).update(copy.deepcopy(DOWNLOAD_HEADERS))


def _create_docs(op: dict[str, Any]) -> None:
    entry = CREATE_OPERATIONS.get(op.get("operationId", ""))
    if entry is None:
        return
    description, examples = entry
    if not op.get("description"):
        op["description"] = description
    for media_type, content in op.get("requestBody", {}).get("content", {}).items():
        if examples and media_type.endswith("json"):
            content["examples"] = copy.deepcopy(examples)


# --- schemas and the document as a whole ---------------------------------------------------------------

def _add_problem_schema(components: dict[str, Any]) -> None:
    schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas = components.setdefault("schemas", {})
    for name, sub in schema.pop("$defs", {}).items():
        schemas.setdefault(name, sub)
    schemas["Problem"] = schema
    # FastAPI's own 422 body, now documented as a problem.
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)


def _binary_parts(schemas: dict[str, Any]) -> None:
    """File parts of multipart bodies: `format: binary`, which clients read as "send bytes"."""
    def visit(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "string" and node.get("contentMediaType") == "application/octet-stream":
                node["format"] = "binary"
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    for name, schema in schemas.items():
        if name.startswith("Body_"):
            visit(schema)


def _pages(schemas: dict[str, Any]) -> None:
    """A page always carries `next_cursor`, null on the last page, so clients need not guess."""
    for schema in schemas.values():
        props = schema.get("properties", {})
        if set(props) == {"items", "next_cursor"}:
            required = schema.setdefault("required", [])
            if "next_cursor" not in required:
                required.append("next_cursor")
            props["next_cursor"]["description"] = "Pass as ?cursor= for the next page; null on the last page."


SCHEMA_SUFFIXES = ("Create", "Created", "Update", "Detail", "Summary", "Saved", "Out", "In", "Def")


_BOUNDS = {"ge": "minimum", "le": "maximum", "gt": "exclusiveMinimum", "lt": "exclusiveMaximum"}


def _json_schema_bounds(node: Any) -> None:
    """Bounds pydantic could not push into a validated branch (`Int | None` with `Field(ge=…)`,
    where `Int` converts 6.0 first) come out under their Python names; JSON Schema calls them
    minimum/maximum. Validation enforces them either way; this only names them right."""
    if isinstance(node, dict):
        if node.get("type") in ("integer", "number"):
            for python_name, schema_name in _BOUNDS.items():
                if python_name in node:
                    node[schema_name] = node.pop(python_name)
        for value in node.values():
            _json_schema_bounds(value)
    elif isinstance(node, list):
        for value in node:
            _json_schema_bounds(value)


def _shared_enums(doc: dict[str, Any]) -> None:
    """An enum used in several places becomes one named schema (`CustomerCategory`), so generated
    clients get one type instead of one per field and parameter. Named after the property and the
    schemas that use it; a name already taken leaves the enum inline."""
    schemas = doc["components"]["schemas"]
    found: dict[tuple[Any, ...], list[tuple[dict[str, Any], str, str | None]]] = {}

    def visit(node: Any, prop: str, owner: str | None) -> None:
        if isinstance(node, dict):
            values = node.get("enum")
            if isinstance(values, list) and len(values) > 1 and node.get("type") == "string":
                found.setdefault(tuple(values), []).append((node, prop, owner))
                return
            for key, value in node.items():
                if key == "properties" and isinstance(value, dict):
                    for name, sub in value.items():
                        visit(sub, name, owner)
                elif key == "parameters" and isinstance(value, list):
                    for param in value:
                        visit(param.get("schema"), param.get("name", prop), None)
                elif key not in ("examples", "example", "default"):
                    visit(value, prop, owner)
        elif isinstance(node, list):
            for value in node:
                visit(value, prop, owner)

    # An enum that is already a named schema (a StrEnum in the models) names its inline twins.
    named = {tuple(schema["enum"]): name for name, schema in schemas.items()
             if isinstance(schema.get("enum"), list) and schema.get("type") == "string"}
    for name, schema in list(schemas.items()):
        if name not in named.values():
            visit(schema, "", name)
    visit(doc["paths"], "", None)

    taken = set(schemas)
    for values, uses in sorted(found.items()):
        owners = [_base(owner) for _, _, owner in uses if owner]
        props = {prop for _, prop, _ in uses}
        if values in named:
            name = named[values]
        else:
            if len(uses) < 2 or len(props) != 1 or not owners:
                continue
            prop = _pascal(props.pop())
            base = max(sorted(set(owners)), key=owners.count)
            name = prop if prop.startswith(base) else base + prop
            if name in taken:
                continue
            taken.add(name)
            schemas[name] = {"type": "string", "enum": list(values), "title": name}
        for node, _, _ in uses:
            kept = {k: v for k, v in node.items() if k in ("title", "description", "default")}
            node.clear()
            node.update({"$ref": f"#/components/schemas/{name}", **kept})
    doc["components"]["schemas"] = dict(sorted(schemas.items()))


def _base(schema_name: str) -> str:
    for suffix in SCHEMA_SUFFIXES:
        if schema_name.endswith(suffix) and len(schema_name) > len(suffix):
            return schema_name[: -len(suffix)]
    return schema_name


def _pascal(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def _tags(doc: dict[str, Any]) -> None:
    used = sorted({t for ops in doc["paths"].values() for op in ops.values() for t in op.get("tags", [])})
    doc["tags"] = [{"name": t, "description": TAG_DESCRIPTIONS.get(t, t)} for t in used]


def _prune_unused_headers(doc: dict[str, Any]) -> None:
    text = repr(doc["paths"])
    components = doc["components"]
    for kind in ("headers", "parameters"):
        for name in list(components.get(kind, {})):
            if f"#/components/{kind}/{name}" not in text:
                del components[kind][name]
        if not components.get(kind):
            components.pop(kind, None)
