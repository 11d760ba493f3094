"""Architecture rules: the core (labdesk/) never depends on Qt, the UI or the printers, and
no product package holds or imports the benchmarks (they live in the top-level bench/)."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import labdesk

REPO_ROOT = Path(__file__).resolve().parents[2]
CORE_DIR = Path(labdesk.__file__).resolve().parent
FORBIDDEN = {"PySide6", "shiboken6", "ui", "printers"}
PRODUCT_DIRS = ("labdesk", "ui", "printers")
BENCH_DOOR = Path("labdesk/cli/bench_cmd.py")
"""The one product module that imports ``bench``: the ``labdesk bench`` command."""


def _absolute_imports(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) for every absolute import, including those inside functions."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def _dynamic_imports(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, name) for ``importlib.import_module("x")`` and ``__import__("x")`` literals."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        first = node.args[0]
        if (
            name in {"import_module", "__import__"}
            and isinstance(first, ast.Constant)
            and isinstance(first.value, str)
        ):
            found.append((node.lineno, first.value))
    return found


def test_core_package_is_the_checked_out_source() -> None:
    assert CORE_DIR == REPO_ROOT / "labdesk"
    assert len(list(CORE_DIR.rglob("*.py"))) > 10


def test_core_never_imports_qt_ui_or_printers() -> None:
    offenders = []
    for path in sorted(CORE_DIR.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, module in _absolute_imports(tree) + _dynamic_imports(tree):
            if module.split(".")[0] in FORBIDDEN:
                offenders.append(f"{path.relative_to(REPO_ROOT)}:{line} imports {module}")
    assert offenders == [], "the core must stay free of Qt, ui and printers:\n" + "\n".join(
        offenders
    )


def test_benchmarks_live_outside_the_product_packages() -> None:
    """Benchmark scenarios and workers live in bench/, not in labdesk/, ui/ or printers/."""
    found = [
        str(path.relative_to(REPO_ROOT))
        for folder in PRODUCT_DIRS
        for path in sorted((REPO_ROOT / folder).rglob("*.py"))
        if "bench" in path.relative_to(REPO_ROOT).as_posix()
        and path.relative_to(REPO_ROOT) != BENCH_DOOR
    ]
    assert found == [], "benchmark code belongs in bench/:\n" + "\n".join(found)
    assert (REPO_ROOT / "bench" / "scenarios.py").is_file()


def test_product_packages_never_import_the_benchmarks() -> None:
    """Only the ``labdesk bench`` command imports ``bench``, and only inside its function
    (import-linter sees static imports only; this also catches ``import_module`` strings)."""
    offenders = []
    for folder in PRODUCT_DIRS:
        for path in sorted((REPO_ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            top_level = {id(node) for node in tree.body}
            for node in ast.walk(tree):
                if not isinstance(node, ast.Import | ast.ImportFrom | ast.Call):
                    continue
                for line, module in _absolute_imports(node) + _dynamic_imports(node):
                    if module.split(".")[0] != "bench":
                        continue
                    door = path.relative_to(REPO_ROOT) == BENCH_DOOR
                    if not door or id(node) in top_level:
                        offenders.append(f"{path.relative_to(REPO_ROOT)}:{line} imports {module}")
    assert offenders == [], "product code must not import bench:\n" + "\n".join(offenders)


def test_checker_sees_the_forms_it_forbids() -> None:
    source = (
        "import PySide6.QtCore\n"
        "from ui.screens import x\n"
        "def f():\n"
        "    import printers\n"
        "    importlib.import_module('PySide6.QtGui')\n"
        "from . import ui\n"  # relative: labdesk's own module, allowed
    )
    tree = ast.parse(source)
    found = [m for _, m in _absolute_imports(tree) + _dynamic_imports(tree)]
    assert found == ["PySide6.QtCore", "ui.screens", "printers", "PySide6.QtGui"]


def _lint_imports_command() -> list[str] | None:
    beside_python = Path(sys.executable).with_name("lint-imports")
    if beside_python.exists():
        return [str(beside_python)]
    found = shutil.which("lint-imports")
    return [found] if found else None


@pytest.mark.integration
def test_import_linter_contracts_hold() -> None:
    command = _lint_imports_command()
    if command is None:
        pytest.skip("lint-imports (import-linter) is not installed")
    proc = subprocess.run(
        [*command, "--no-cache"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert " 0 broken" in output, output


PAGES_USERS = {Path("ui/main_window.py"), Path("ui/navigation.py")}
"""The window that assembles the screens, and its page table: the only users of ``ui.screens``."""


def test_nothing_below_the_window_imports_the_screen_table() -> None:
    """Shared widgets and screen parts never import ``ui.screens`` (no upward imports)."""
    upward = []
    for path in sorted((REPO_ROOT / "ui").rglob("*.py")):
        relative = path.relative_to(REPO_ROOT)
        if relative == Path("ui/screens.py") or relative in PAGES_USERS:
            continue
        for line, module in _absolute_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if module == "ui.screens" or module.startswith("ui.screens."):
                upward.append(f"{relative}:{line} imports {module}")
    assert not upward, upward
