"""Every time shown to a person goes through ``labdesk.domain.timefmt`` (the clinic's zone).

An AST scan of the modules that format for people (command line, screens, the HL7
worklist): no ``strftime``/``isoformat`` of their own and no ``f"{when:%H:%M}"``, which
would print a UTC instant as if it were clinic time.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = sorted(
    {
        *ROOT.glob("labdesk/cli/*.py"),
        *ROOT.glob("ui/**/*.py"),
        ROOT / "labdesk/interface/worklist.py",
        ROOT / "printers/commands.py",
    }
    - {ROOT / "ui/resources_rc.py"}
)
DATES = frozenset({"birth_date"})
"""Attributes that hold calendar dates, not instants: ISO text is how they are shown."""


def _receiver(call: ast.Call) -> str:
    func = call.func
    assert isinstance(func, ast.Attribute)
    value = func.value
    if isinstance(value, ast.Attribute):
        return value.attr
    return value.id if isinstance(value, ast.Name) else ""


def own_time_formatting(source: str) -> list[tuple[int, str]]:
    """``(line, snippet)`` of every place ``source`` formats a time itself."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            method = node.func.attr
            if method == "strftime" or (method == "isoformat" and _receiver(node) not in DATES):
                found.append((node.lineno, ast.unparse(node)))
        elif isinstance(node, ast.FormattedValue) and node.format_spec is not None:
            spec = ast.unparse(node.format_spec)
            if "%" in spec:
                found.append((node.lineno, f"{{{ast.unparse(node.value)}:...%...}}"))
    return found


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('f"{row.received_at:%Y-%m-%d %H:%M}"', 1),
        ("row.at.astimezone(zone).strftime('%H:%M')", 1),
        ("when.isoformat()", 1),
        ("patient.birth_date.isoformat()", 0),
        ("format_local(row.at, tz)", 0),
        ('f"{count:>6,}"', 0),
    ],
    ids=["fstring", "strftime", "isoformat", "birth-date", "format-local", "number-spec"],
)
def test_the_scan_finds_own_formatting(source: str, expected: int) -> None:
    assert len(own_time_formatting(source)) == expected


def test_screens_and_commands_format_times_in_the_clinic_zone() -> None:
    assert len(SCANNED) > 50  # the globs still find the modules
    problems = [
        f"{path.relative_to(ROOT)}:{line}: {snippet}"
        for path in SCANNED
        for line, snippet in own_time_formatting(path.read_text(encoding="utf-8"))
    ]
    assert problems == [], "use labdesk.domain.timefmt.format_local:\n" + "\n".join(problems)
