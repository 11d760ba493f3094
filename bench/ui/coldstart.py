"""Cold start: a fresh ``labdesk app`` process until its window is shown, then exit.

The app is started as a subprocess (``labdesk`` itself never imports Qt) with
``--exit-after-shown``: it quits once the sign-in window has painted and takes input (the
database is bootstrapped behind it, so that is not included). The floor is a process that
shows a bare ``QWidget`` of the same size and quits after its first paint. Both use the
offscreen platform plugin, a private data directory and no config file; one untimed run
of each warms the OS file cache first.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.harness.errors import BenchError
from bench.harness.model import Context, Scenario

TIMEOUT_S = 60.0
APP_COMMAND = (sys.executable, "-m", "labdesk", "app", "--exit-after-shown")
BARE_QT_CODE = """
import sys; from PySide6.QtCore import QTimer; from PySide6.QtWidgets import QApplication, QWidget

class Window(QWidget):
    def paintEvent(self, event):
        super().paintEvent(event)
        QTimer.singleShot(0, app.quit)  # painted and back in the event loop: usable

app = QApplication(sys.argv)
window = Window()
window.resize(1280, 800)
window.show()
sys.exit(app.exec())
"""
BARE_QT_COMMAND = (sys.executable, "-c", BARE_QT_CODE)
_KEPT_STDERR = 600


@dataclass(frozen=True)
class ColdStart:
    """Environment shared by the app and floor processes."""

    env: dict[str, str]
    cwd: Path


def setup(ctx: Context) -> ColdStart:
    """A private data directory and config path, and the offscreen Qt platform."""
    data_dir = ctx.workdir / "cold-start-data"
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "LABDESK_DATABASE_URL"}
    env |= {
        "QT_QPA_PLATFORM": "offscreen",
        "LABDESK_DATA_DIR": str(data_dir),
        "LABDESK_CONFIG": str(ctx.workdir / "no-config.toml"),
    }
    return ColdStart(env=env, cwd=ctx.workdir)


def spawn(state: ColdStart, command: tuple[str, ...], what: str) -> None:
    """Run ``command`` to completion.

    Raises:
        BenchError: naming ``what``, if it hangs or exits non-zero (with its stderr tail).
    """
    try:
        done = subprocess.run(
            command,
            env=state.env,
            cwd=state.cwd,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"{what} did not exit within {TIMEOUT_S:.0f} s.") from exc
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip()[-_KEPT_STDERR:]
        raise BenchError(f"{what} exited with status {done.returncode}: {tail}")


def start_app(state: ColdStart, _i: int) -> object:
    """Start ``labdesk app --exit-after-shown`` and wait for it to exit.

    Raises:
        BenchError: if it fails or hangs, with the end of its error output.
    """
    spawn(state, APP_COMMAND, "'labdesk app --exit-after-shown'")
    return None


def start_bare_qt(state: ColdStart, _i: int) -> object:
    """Start a Python process that shows a bare Qt window and exits.

    Raises:
        BenchError: if it fails or hangs.
    """
    spawn(state, BARE_QT_COMMAND, "The bare Qt window process")
    return None


COLD_START_TARGET_MS = 1500.0

SCENARIO: Scenario[ColdStart] = Scenario(
    name="cold-start",
    title="Cold start to a usable window",
    setup=setup,
    run_once=start_app,
    floor=start_bare_qt,
    target_p95_ms=COLD_START_TARGET_MS,
    per_size=False,
    in_process=False,
)
"""Registered in :data:`bench.scenarios.SCENARIOS` (last of the core's, before the extras)."""
