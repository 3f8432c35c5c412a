"""The error catalogues: every area's codes declared once, as data, loaded into real classes."""

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
