"""Every string and every list a client can send is bounded in the contract: request bodies (all
nested schemas), query, path, header and form parameters. Fails when a new field forgets its
maximum length (use app/core/types.py: Text / MultilineText / Name ...)."""

from typing import Any

import pytest

from app.main import create_app

# Formats whose values are bounded by their syntax.
BOUNDED_FORMATS = {"uuid", "date-time", "date", "email", "binary"}


def _walk(schema: dict[str, Any], components: dict[str, Any], where: str, seen: set[str]) -> list[str]:
    problems: list[str] = []
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return []
        seen.add(name)
        return _walk(components[name], components, f"{where}→{name}", seen)
    for key in ("anyOf", "oneOf", "allOf"):
        for i, sub in enumerate(schema.get(key, [])):
            problems += _walk(sub, components, f"{where}[{i}]", seen)
    kind = schema.get("type")
    if kind == "string" and "enum" not in schema and "const" not in schema \
            and schema.get("format") not in BOUNDED_FORMATS and "contentMediaType" not in schema \
            and "maxLength" not in schema:
        problems.append(f"{where}: string without maxLength")
    if kind == "array":
        if "maxItems" not in schema:
            problems.append(f"{where}: array without maxItems")
        problems += _walk(schema.get("items", {}), components, f"{where}[]", seen)
    for name, sub in schema.get("properties", {}).items():
        problems += _walk(sub, components, f"{where}.{name}", seen)
    if isinstance(schema.get("additionalProperties"), dict):
        problems.append(f"{where}: free-form object")
    return problems


@pytest.mark.parametrize("surface", ["v1", "mobile-v1"])
def test_every_client_supplied_string_and_list_is_bounded(surface):
    document = create_app().state.openapi_document(surface)
    components = document.get("components", {}).get("schemas", {})
    problems: list[str] = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                if "$ref" in parameter:  # a shared parameter (components/parameters)
                    parameter = document["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[1]]
                problems += _walk(parameter["schema"], components, f"{where} {parameter['in']}:{parameter['name']}",
                                  set())
            for media in operation.get("requestBody", {}).get("content", {}).values():
                problems += _walk(media["schema"], components, f"{where} body", set())
    assert not problems, "\n".join(problems)
