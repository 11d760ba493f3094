"""The one transaction rule: front ends send commands and queries; only the core commits.

``ui/``, ``labdesk/cli/`` and ``printers/`` hand work to ``labdesk.kernel.messagebus``. None
of them opens a unit of work (``x.uow()``), commits or rolls back; passing the factory on to
a core service that opens its own is allowed.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FRONT_ENDS = ("ui", "labdesk/cli", "printers")
FORBIDDEN_CALLS = {"commit", "rollback", "uow", "begin", "begin_nested"}


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name in FORBIDDEN_CALLS:
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {name}()")
    return found


def test_front_ends_never_open_a_unit_of_work_or_commit() -> None:
    problems = [
        problem
        for folder in FRONT_ENDS
        for path in sorted((ROOT / folder).rglob("*.py"))
        for problem in _violations(path)
    ]
    assert not problems, "send a command or a query through the bus instead:\n" + "\n".join(
        problems
    )


def test_the_rule_sees_a_commit(tmp_path: Path) -> None:
    sample = ROOT / "ui" / "_probe_for_rule.py"
    try:
        sample.write_text("def f(ctx):\n    with ctx.uow() as u:\n        u.commit()\n")
        assert [p.rsplit(": ", 1)[1] for p in _violations(sample)] == ["uow()", "commit()"]
    finally:
        sample.unlink()
