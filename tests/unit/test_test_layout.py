"""The test tree collects in any combination of folders: ``pytest tests/unit/bayes tests/unit/survey`` once failed
because a bayes test imported ``conftest`` by name and got the survey folder's. Helpers imported by bare name live in
modules whose names are unique across the tree; nothing imports ``conftest``."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def _imported_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
             for alias in node.names}
    names |= {node.module.split(".")[0] for node in ast.walk(tree)
              if isinstance(node, ast.ImportFrom) and node.module and node.level == 0}
    return names


def test_no_test_imports_a_conftest_by_name() -> None:
    offenders = [str(p.relative_to(TESTS)) for p in TESTS.rglob("*.py") if "conftest" in _imported_names(p)]
    assert offenders == [], f"import helpers from a uniquely named module, not conftest: {offenders}"


def test_helper_modules_imported_by_bare_name_are_unique() -> None:
    """Folders are put on sys.path by pytest (rootdir-less ``prepend`` mode): two ``helpers.py`` would shadow."""
    local = Counter(p.stem for p in TESTS.rglob("*.py")
                    if not p.name.startswith("test_") and p.name not in ("conftest.py", "__init__.py"))
    imported = set().union(*(_imported_names(p) for p in TESTS.rglob("*.py")))
    clashes = sorted(name for name, count in local.items() if count > 1 and name in imported)
    assert clashes == [], f"helper modules with the same name in two test folders: {clashes}"
