"""Every entry point sets up the same private log file (issue 15, item 5).

``labdesk app`` and ``labdesk demo`` used to log nowhere, and the one entry point that did
(``ui.app:main``) created the data directory 0755. Each case starts a fresh process on a
data directory that does not exist yet.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ENTRY_POINTS = {
    "labdesk app": ["-m", "labdesk", "app", "--exit-after-shown"],
    "labdesk demo": ["-m", "labdesk", "demo", "--exit-after-shown"],
    "ui.app:main": [
        "-c",
        "import sys; from ui.app import main; sys.exit(main(['--exit-after-shown']))",
    ],
    "labdesk db upgrade": ["-m", "labdesk", "db", "upgrade"],
}


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("argv", ENTRY_POINTS.values(), ids=ENTRY_POINTS.keys())
def test_entry_point_creates_the_private_log_file(tmp_path: Path, argv: list[str]) -> None:
    data = tmp_path / "fresh" / "data"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "LABDESK_DATA_DIR": str(data)}
    env["LABDESK_CONFIG"] = str(tmp_path / "absent.toml")
    env.pop("LABDESK_DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, *argv], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    log = data / "logs" / "labdesk.log"
    assert log.is_file()
    assert _mode(data) == 0o700
    assert _mode(log.parent) == 0o700
    assert _mode(log) == 0o600
    if argv[2:3] == ["demo"]:  # the README quick start still opens the app
        assert "Sign in as ma, courier, lab, doctor or admin" in done.stdout
        assert "core ready" in log.read_text(encoding="utf-8")
