"""docs/ARCHITECTURE.md matches the tree: every package is named, every named path exists."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DOC = (REPO_ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")


def _packages(top: str) -> list[str]:
    root = REPO_ROOT / top
    return sorted(
        p.name
        for p in root.iterdir()
        if p.is_dir() and (p / "__init__.py").exists() and p.name != "migrations"
    )


def test_every_core_and_ui_package_is_in_the_map() -> None:
    missing = [f"labdesk/{name}/" for name in _packages("labdesk") if f"{name}/" not in DOC]
    missing += [f"ui/{name}/" for name in _packages("ui") if f"ui/{name}/" not in DOC]
    assert not missing, f"docs/ARCHITECTURE.md does not mention {missing}"


def test_every_path_the_map_names_exists() -> None:
    named = set(re.findall(r"`((?:labdesk|ui|printers|bench|docs|tests)/[\w/.<>-]*)`", DOC))
    gone = [
        path
        for path in sorted(named)
        if "<" not in path and not (REPO_ROOT / path.rstrip("/")).exists()
    ]
    assert not gone, f"docs/ARCHITECTURE.md names paths that are not in the tree: {gone}"


def test_every_feature_exception_in_the_contracts_is_written_down() -> None:
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    (features,) = [c for c in contracts if c["type"] == "independence" and "labdesk" in str(c)]
    for rule in features["ignore_imports"]:
        source, _, target = (part.strip() for part in rule.partition("->"))
        short_source = source.removeprefix("labdesk.")
        short_target = target.removeprefix("labdesk.").removesuffix(".*").split(".")[0]
        assert short_source in DOC, f"{rule}: {short_source} is not named in ARCHITECTURE.md"
        assert short_target in DOC, f"{rule}: {short_target} is not named in ARCHITECTURE.md"
