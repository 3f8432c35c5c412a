"""The error catalogues: every area's codes declared once, as data, loaded into real classes."""

import ast
import re
import sys
import types
from pathlib import Path

import pytest

import app.domains  # noqa: F401 - every area's modules, so every error class exists
from app.core.errors import DomainError, NotFound, error_catalogue

CODE = re.compile(r"^[a-z_]+(\.[a-z_]+)+$")


def _all_error_classes() -> list[type[DomainError]]:
    seen: list[type[DomainError]] = []
    pending = [DomainError]
    while pending:
        cls = pending.pop()
        seen.append(cls)
        pending.extend(cls.__subclasses__())
    return [c for c in seen if c.__module__.startswith("app.")]


def test_every_error_code_is_declared_once_and_well_formed() -> None:
    owners: dict[str, str] = {}
    for cls in _all_error_classes():
        if cls.__module__ == "app.core.errors":
            continue  # the kinds' generic codes
        assert CODE.match(cls.code), f"{cls.__qualname__}: {cls.code!r}"
        assert cls.code not in owners, f"{cls.code} declared by {owners[cls.code]} and {cls.__qualname__}"
        owners[cls.code] = cls.__qualname__
        if cls.titles is not None:
            assert set(cls.titles) == {"zh-CN", "en"}, cls.__qualname__


def test_catalogue_classes_are_subclasses_importable_by_name() -> None:
    from app.org.errors import CompanyNotFound  # noqa: PLC0415 - the import itself is the behaviour

    assert issubclass(CompanyNotFound, NotFound)
    assert (CompanyNotFound.status, CompanyNotFound.code) == (404, "company.not_found")
    assert CompanyNotFound.__module__ == "app.org.errors"


def _catalogue_from(tmp_path: Path, text: str) -> dict[str, type[DomainError]]:
    module = types.ModuleType("catalogue_probe")
    module.__file__ = str(tmp_path / "errors.py")
    (tmp_path / "errors.toml").write_text(text, encoding="utf-8")
    sys.modules[module.__name__] = module
    try:
        return error_catalogue(module.__name__)
    finally:
        del sys.modules[module.__name__]


def test_a_catalogue_entry_becomes_a_class_with_status_and_titles(tmp_path: Path) -> None:
    classes = _catalogue_from(tmp_path, '[errors]\nSlow = { kind = "DomainError", code = "probe.slow", '
                                        'status = 429, zh-CN = "太快", en = "Too fast" }\n')
    slow = classes["Slow"]("detail")
    assert (slow.status, slow.code, slow.titles) == (429, "probe.slow", {"zh-CN": "太快", "en": "Too fast"})


@pytest.mark.parametrize("entry", [
    'Bad = { kind = "Conflict", code = "probe.bad", en = "Only English" }',
    'Bad = { kind = "Conflict", code = "probe.bad", severity = 3 }',
])
def test_a_catalogue_entry_missing_a_language_or_with_unknown_keys_is_refused(tmp_path: Path, entry: str) -> None:
    with pytest.raises(ValueError, match="Bad"):
        _catalogue_from(tmp_path, f"[errors]\n{entry}\n")


# --- the rule: codes are named, never spelled inline ---------------------------------------------------

APP = Path(app.domains.__file__).parent
# Calls that take a `code=`: the error classes themselves and the scoped getters (which take the
# class's code, `code=ContractNotFound.code`).
_TAKES_CODE = {"get_readable", "get_writable"}


def _callee(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _inline_codes(source: str, errors: set[str]) -> list[str]:
    """`callee(keyword=...)` for each `code="..."` or `titles={...}` literal given to an error or getter."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or _callee(node) not in errors | _TAKES_CODE:
            continue
        for keyword in node.keywords:
            literal = isinstance(keyword.value, ast.Constant) and isinstance(keyword.value.value, str)
            if (keyword.arg == "code" and literal) or (keyword.arg == "titles" and isinstance(keyword.value, ast.Dict)):
                found.append(f"{node.lineno}: {_callee(node)}({keyword.arg}=...)")
    return found


def test_no_area_spells_an_error_code_or_title_inline() -> None:
    """An area raises the named class of its catalogue (`raise ContractIllegalTransition(...)`) and
    passes `code=ContractNotFound.code` to the scoped getters: a `code="..."` or `titles={...}`
    literal outside app/core is a code nobody finds in the catalogue."""
    errors = {cls.__name__ for cls in _all_error_classes()} | {"DomainError"}
    found = [f"{path.relative_to(APP.parent)}:{hit}" for path in sorted(APP.rglob("*.py"))
             if path.relative_to(APP).parts[0] != "core"  # the mechanisms: the kinds' generic codes
             for hit in _inline_codes(path.read_text(encoding="utf-8"), errors)]
    assert found == []


def test_the_inline_code_check_sees_literals_and_lets_named_codes_pass() -> None:
    source = (
        'raise Conflict("x", code="area.thing")\n'
        'raise errors.Forbidden("x", titles={"en": "No", "zh-CN": "不"})\n'
        'await get_readable(s, p, M, i, code="m.not_found")\n'
        'await get_writable(s, p, M, i, code=MachineNotFound.code)\n'
        'raise ContractIllegalTransition("x")\n'
        'Group(code="demo")\n'
    )
    assert _inline_codes(source, {"Conflict", "Forbidden"}) == [
        "1: Conflict(code=...)", "2: Forbidden(titles=...)", "3: get_readable(code=...)"]
