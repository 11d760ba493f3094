"""CUPS transport with stand-in lp/lpstat scripts (no scheduler needed)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from printers.cups import CupsPrinter
from printers.errors import PrinterConfigError, PrinterRejected

pytestmark = pytest.mark.integration


def _script(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text(f"#!{sys.executable}\nimport sys\n{body}\n")
    path.chmod(0o755)
    return str(path)


def test_send_pipes_payload_to_lp_raw(tmp_path: Path) -> None:
    log = tmp_path / "lp.log"
    lp = _script(
        tmp_path,
        "lp",
        f"open({str(log)!r}, 'wb').write(repr(sys.argv[1:]).encode() + b'\\n' "
        "+ sys.stdin.buffer.read())",
    )
    CupsPrinter("ZebraLab", lp_command=lp).send(b"^XA^XZ")
    args, payload = log.read_bytes().split(b"\n", 1)
    assert b"'-d', 'ZebraLab', '-o', 'raw'" in args
    assert payload == b"^XA^XZ"


def test_refused_job_raises_rejected(tmp_path: Path) -> None:
    lp = _script(
        tmp_path,
        "lp",
        "sys.stderr.write('lp: The printer or class does not exist.\\n'); sys.exit(1)",
    )
    with pytest.raises(PrinterRejected, match="does not exist"):
        CupsPrinter("Nope", lp_command=lp).send(b"^XA^XZ")


def test_missing_lp_is_a_config_error(tmp_path: Path) -> None:
    printer = CupsPrinter("ZebraLab", lp_command=str(tmp_path / "no-such-lp"))
    with pytest.raises(PrinterConfigError, match="not installed"):
        printer.send(b"^XA^XZ")
    assert not CupsPrinter("ZebraLab", lpstat_command=str(tmp_path / "nope")).status().ready


@pytest.mark.parametrize(
    ("output", "code", "ready"),
    [
        ("printer ZebraLab is idle.  enabled since Mon 02 Mar 2026", 0, True),
        ("printer ZebraLab disabled since Mon 02 Mar 2026 -\n\tPaused", 0, False),
        ("lpstat: Scheduler is not running.", 1, False),
    ],
)
def test_status_parses_lpstat(tmp_path: Path, output: str, code: int, ready: bool) -> None:
    lpstat = _script(tmp_path, "lpstat", f"print({output!r}); sys.exit({code})")
    assert CupsPrinter("ZebraLab", lpstat_command=lpstat).status().ready is ready


@pytest.mark.skipif(shutil.which("lpstat") is None, reason="needs the CUPS client")
def test_real_lpstat_for_unknown_queue_is_not_ready() -> None:
    status = CupsPrinter("labdesk-no-such-queue", timeout=10).status()
    assert not status.ready
    assert status.problems
