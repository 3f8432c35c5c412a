"""The import contract (pyproject's [tool.importlinter]) holds, and it would catch a wrong import."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _lint_imports(project: Path) -> subprocess.CompletedProcess[str]:
    # A subprocess with the project first on the path, so grimp analyses exactly this tree.
    return subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
         "sys.exit(lint_imports_command())", "--no-cache", "--config", str(project / "pyproject.toml")],
        cwd=project, env={"PYTHONPATH": str(project), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
        check=False,
    )


def test_the_import_contract_is_kept() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def _lint_with_violation(tmp_path: Path, module: str, code: str) -> subprocess.CompletedProcess[str]:
    """Lint a copy of the project with `code` appended to app/`module`."""
    shutil.copytree(ROOT / "app", tmp_path / "app", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    with (tmp_path / "app" / module).open("a") as file:
        file.write(code)
    return _lint_imports(tmp_path)


def test_the_import_contract_fails_when_core_imports_an_area(tmp_path: Path) -> None:
    result = _lint_with_violation(tmp_path, "core/pagination.py",
                                  "\nfrom app.customers import models as _customers  # a deliberate violation\n")
    assert result.returncode != 0
    assert "app.core.pagination -> app.customers.models" in result.stdout


def test_the_import_contract_fails_when_an_area_imports_the_api_layer(tmp_path: Path) -> None:
    hidden = "\n\ndef _late() -> None:\n    from app.api import surfaces  # noqa: F401 - in a function\n"
    result = _lint_with_violation(tmp_path, "customers/service.py", hidden)
    assert result.returncode != 0
    assert "app.customers.service -> app.api.surfaces" in result.stdout


@pytest.mark.parametrize(("module", "name"), [("approvals/repository.py", "app.approvals.repository"),
                                            ("customers/pool.py", "app.customers.pool")])
def test_the_import_contract_fails_when_an_area_reads_org_tables(tmp_path: Path, module: str, name: str) -> None:
    result = _lint_with_violation(tmp_path, module, "\nfrom app.org.models import User as _User  # deliberate\n")
    assert result.returncode != 0
    assert f"{name} -> app.org.models" in result.stdout


def test_the_import_contract_fails_when_an_area_talks_to_the_driver(tmp_path: Path) -> None:
    result = _lint_with_violation(tmp_path, "field/views.py", "\nimport asyncpg as _asyncpg  # deliberate\n")
    assert result.returncode != 0
    assert "app.field.views -> asyncpg" in result.stdout


def test_the_app_reads_the_time_only_through_its_one_clock():
    """`datetime.now`, `date.today` and `time.time` would escape CLOCK_START and the tests' `travel`:
    the app reads the time through app/core/clock.py (core.db.utcnow) only."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "app"
    pattern = re.compile(r"\b(datetime\.now|datetime\.utcnow|date\.today|time\.time)\(")
    found = [f"{path.relative_to(root)}:{n}" for path in sorted(root.rglob("*.py")) if path.name != "clock.py"
             for n, line in enumerate(path.read_text().splitlines(), 1) if pattern.search(line)]
    assert found == []


def test_the_app_uses_no_private_module_of_a_dependency_and_reads_no_bytecode():
    """A dependency's private modules (`starlette._utils`) change without notice between versions, and
    CPython's bytecode (`dis`) between Python versions: the app imports neither. What a route does is
    declared on it (`etag.declares`), not read from its code."""
    import ast

    # Still to replace (issue 27 section 3): asyncpg exports its client-side DataError under no public
    # name (`asyncpg.DataError` is SQLSTATE 22's), and pgserver's pg_ctl wrapper is private.
    known = {"core/errors.py asyncpg.exceptions._base", "embedded_db.py pgserver._commands"}
    root = Path(__file__).resolve().parent.parent / "app"
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                parts = name.split(".")
                private = name == "dis" or any(p.startswith("_") and p != "__future__" for p in parts)
                if parts[0] != "app" and private and f"{path.relative_to(root)} {name}" not in known:
                    found.append(f"{path.relative_to(root)}:{node.lineno} {name}")
    assert found == []
