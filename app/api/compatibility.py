"""The field contract's compatibility guard: what in a new OpenAPI document would break a phone
built against the released one (`openapi/mobile-v1.released.json`).

Phones run old app versions for months, so a released field contract only grows. Breaking, by the
rules of issue 14 (and their mirror images where a rule has two sides):

- an operation removed, or a status code it answered;
- a response field removed, or no longer always present (dropped from `required`);
- a request field removed (inputs forbid unknown fields), made required, or added as required; a
  parameter removed, made required or added as required; a request body made required;
- a type changed: a response may not answer a type it did not (a field turned nullable
  included), a request must still accept every type it accepted;
- an enum narrowed (a value removed), in a request or a response.

Additions pass: new operations, status codes, optional request fields and parameters, response
fields. A focused checker of these rules rather than a general OpenAPI diff tool: the maintained
ones (oasdiff, openapi-changes) are Go or Node binaries that cannot be installed from PyPI here.
Tested in tests/field/test_compatibility.py."""

import json
import sys
from pathlib import Path
from typing import Any

Schema = dict[str, Any]
REQUEST, RESPONSE = "request", "response"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Every breaking change from `old` to `new`, one line each (empty: `new` is compatible)."""
    diff = _Diff(old, new)
    for path, old_item in old.get("paths", {}).items():
        new_item = new.get("paths", {}).get(path, {})
        for method in METHODS:
            if method not in old_item:
                continue
            where = f"{method.upper()} {path}"
            if method not in new_item:
                diff.problems.append(f"{where}: operation removed")
                continue
            diff.operation(where, old_item[method], new_item[method])
    return diff.problems


class _Diff:
    def __init__(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self.old_doc, self.new_doc = old, new
        self.problems: list[str] = []
        self._seen: set[tuple[str, str, str]] = set()

    def operation(self, where: str, old: dict[str, Any], new: dict[str, Any]) -> None:
        self._parameters(where, old.get("parameters", []), new.get("parameters", []))
        old_body, new_body = old.get("requestBody"), new.get("requestBody")
        if old_body is None and new_body is not None and new_body.get("required"):
            self.problems.append(f"{where}: request body added as required")
        if old_body is not None:
            if new_body is None:
                self.problems.append(f"{where}: request body removed")
            else:
                if new_body.get("required") and not old_body.get("required"):
                    self.problems.append(f"{where}: request body made required")
                self._content(f"{where} request", old_body.get("content", {}), new_body.get("content", {}), REQUEST)
        for status, old_response in old.get("responses", {}).items():
            new_response = new.get("responses", {}).get(status)
            if new_response is None:
                self.problems.append(f"{where}: status {status} removed")
                continue
            self._content(f"{where} {status}", self._deref(old_response, self.old_doc).get("content", {}),
                          self._deref(new_response, self.new_doc).get("content", {}), RESPONSE)

    def _parameters(self, where: str, old: list[Any], new: list[Any]) -> None:
        def keyed(params: list[Any], doc: dict[str, Any]) -> dict[tuple[str, str], Schema]:
            resolved = [self._deref(p, doc) for p in params]
            return {(p["in"], p["name"]): p for p in resolved}

        old_params, new_params = keyed(old, self.old_doc), keyed(new, self.new_doc)
        for key, param in new_params.items():
            before = old_params.get(key)
            if param.get("required") and (before is None or not before.get("required")):
                self.problems.append(f"{where}: parameter {key[1]} ({key[0]}) "
                                     f"{'added as' if before is None else 'made'} required")
        for key, param in old_params.items():
            if key not in new_params:
                self.problems.append(f"{where}: parameter {key[1]} ({key[0]}) removed")
            elif "schema" in param and "schema" in new_params[key]:
                self._schema(f"{where} parameter {key[1]}", param["schema"], new_params[key]["schema"], REQUEST)

    def _content(self, where: str, old: dict[str, Any], new: dict[str, Any], direction: str) -> None:
        for media_type, old_media in old.items():
            new_media = new.get(media_type)
            if new_media is None:
                self.problems.append(f"{where}: {media_type} removed")
            elif "schema" in old_media and "schema" in new_media:
                self._schema(where, old_media["schema"], new_media["schema"], direction)

    # --- schemas ---------------------------------------------------------------------------------------

    def _deref(self, node: Any, doc: dict[str, Any]) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            target: Any = doc
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            node = target
        return node

    def _schema(self, where: str, old: Schema, new: Schema, direction: str) -> None:
        key = (str(old.get("$ref", id(old))), str(new.get("$ref", id(new))), direction)
        if "$ref" in old and "$ref" in new:
            if key in self._seen:  # a recursive schema, or one compared before in this direction
                return
            self._seen.add(key)
        old, new = self._deref(old, self.old_doc), self._deref(new, self.new_doc)
        old_types, new_types = _types(old, self.old_doc, self._deref), _types(new, self.new_doc, self._deref)
        if old_types and new_types:
            if direction == RESPONSE and new_types - old_types:
                self.problems.append(f"{where}: type changed from {sorted(old_types)} to {sorted(new_types)}")
            if direction == REQUEST and old_types - new_types:
                self.problems.append(f"{where}: type changed from {sorted(old_types)} to {sorted(new_types)}")
        old_enum, new_enum = _enum(old), _enum(new)
        if old_enum is not None and new_enum is not None and old_enum - new_enum:
            self.problems.append(f"{where}: enum narrowed (removed {sorted(map(str, old_enum - new_enum))})")
        old_single, new_single = _single(old, self.old_doc, self._deref), _single(new, self.new_doc, self._deref)
        if old_single is not old or new_single is not new:
            if old_single is not None and new_single is not None:
                self._schema(where, old_single, new_single, direction)
            return
        self._object(where, old, new, direction)
        if "items" in old and "items" in new:
            self._schema(f"{where}[]", old["items"], new["items"], direction)

    def _object(self, where: str, old: Schema, new: Schema, direction: str) -> None:
        old_props, new_props = old.get("properties", {}), new.get("properties", {})
        old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
        for name, schema in old_props.items():
            if name not in new_props:
                self.problems.append(f"{where}: {direction} field {name} removed")
            else:
                self._schema(f"{where}.{name}", schema, new_props[name], direction)
        if direction == RESPONSE:
            for name in sorted((old_required - new_required) & set(new_props)):
                self.problems.append(f"{where}: response field {name} no longer always present")
        else:
            for name in sorted(new_required - old_required):
                what = "made required" if name in old_props else "added as required"
                self.problems.append(f"{where}: request field {name} {what}")


def _alternatives(schema: Schema) -> list[Schema]:
    return schema.get("anyOf") or schema.get("oneOf") or []


def _types(schema: Schema, doc: dict[str, Any], deref: Any) -> set[str]:
    """The JSON types a schema admits (through anyOf/oneOf/allOf); empty when it does not say."""
    alternatives = _alternatives(schema)
    if alternatives:
        found: set[str] = set()
        for alternative in alternatives:
            types = _types(deref(alternative, doc), doc, deref)
            if not types:
                return set()
            found |= types
        return found
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return _types(deref(schema["allOf"][0], doc), doc, deref)
    kind = schema.get("type")
    if kind is None:
        return {"object"} if "properties" in schema else set()
    types = set(kind) if isinstance(kind, list) else {kind}
    # An integer is a number: "number" admits both, "integer" only integers.
    return types | ({"integer"} if "number" in types else set())


def _enum(schema: Schema) -> set[Any] | None:
    if "enum" in schema:
        return set(schema["enum"])
    if "const" in schema:
        return {schema["const"]}
    return None


def _single(schema: Schema, doc: dict[str, Any], deref: Any) -> Schema | None:
    """The one non-null alternative of a nullable schema (anyOf [X, null]) or a lone allOf, else
    `schema` itself; None for a union of several (compared by types only)."""
    alternatives = _alternatives(schema) or (schema.get("allOf") if len(schema.get("allOf", [])) == 1 else [])
    if not alternatives:
        return schema
    others = [a for a in alternatives if deref(a, doc).get("type") != "null"]
    return others[0] if len(others) == 1 else None


def main(argv: list[str] | None = None) -> int:
    """`python -m app.api.compatibility RELEASED NEW`: print the breaking changes; exit 1 if any."""
    released, new = (argv if argv is not None else sys.argv[1:])[:2]
    problems = breaking_changes(json.loads(Path(released).read_text()), json.loads(Path(new).read_text()))
    for line in problems:
        print(line, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
