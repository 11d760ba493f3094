"""CUPS transport with stand-in lp/lpstat scripts (no scheduler needed)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from labdesk.domain.printing import Delivery
from printers.cups import CupsPrinter
from printers.errors import (
    PrinterConfigError,
    PrinterNotReady,
    PrinterRejected,
    PrinterUnconfirmed,
)

pytestmark = pytest.mark.integration


def _script(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text(f"#!{sys.executable}\nimport sys\n{body}\n")
    path.chmod(0o755)
    return str(path)


def _lpstat(tmp_path: Path, *, queue_state: str = "is idle.", completed: str = "") -> str:
    """A stand-in lpstat: ``-p`` says ``queue_state``; ``-W completed`` lists ``completed``."""
    return _script(
        tmp_path,
        "lpstat",
        f"print({completed!r} if '-W' in sys.argv else 'printer ZebraLab ' + {queue_state!r})",
    )


def _lp(tmp_path: Path, log: Path) -> str:
    """A stand-in lp that logs its arguments and input and answers a request id."""
    return _script(
        tmp_path,
        "lp",
        f"open({str(log)!r}, 'wb').write(repr(sys.argv[1:]).encode() + b'\\n' "
        "+ sys.stdin.buffer.read()); print('request id is ZebraLab-7 (1 file(s))')",
    )


def test_send_pipes_payload_to_lp_raw_and_waits_for_completion(tmp_path: Path) -> None:
    log = tmp_path / "lp.log"
    lpstat = _lpstat(tmp_path, completed="ZebraLab-6 root 10 Mon\nZebraLab-7 root 6 Mon")
    CupsPrinter("ZebraLab", lp_command=_lp(tmp_path, log), lpstat_command=lpstat).send(b"^XA^XZ")
    args, payload = log.read_bytes().split(b"\n", 1)
    assert b"'-d', 'ZebraLab', '-o', 'raw'" in args
    assert payload == b"^XA^XZ"


def test_a_job_cups_never_completes_is_unconfirmed(tmp_path: Path) -> None:
    log = tmp_path / "lp.log"
    lpstat = _lpstat(tmp_path, completed="ZebraLab-6 root 10 Mon")  # an older job only
    printer = CupsPrinter(
        "ZebraLab", lp_command=_lp(tmp_path, log), lpstat_command=lpstat, confirm_timeout=0.1
    )
    with pytest.raises(PrinterUnconfirmed, match="cancel ZebraLab-7") as caught:
        printer.send(b"^XA^XZ")
    assert caught.value.delivery is Delivery.UNCERTAIN
    assert log.exists()  # it was queued: it may still print, so never resent


def test_a_disabled_queue_gets_nothing(tmp_path: Path) -> None:
    log = tmp_path / "lp.log"
    lpstat = _lpstat(tmp_path, queue_state="disabled since Mon -\n\tPaused")
    printer = CupsPrinter("ZebraLab", lp_command=_lp(tmp_path, log), lpstat_command=lpstat)
    with pytest.raises(PrinterNotReady, match="nothing was sent") as caught:
        printer.send(b"^XA^XZ")
    assert caught.value.delivery is Delivery.RETRY
    assert not log.exists()


def test_refused_job_raises_rejected(tmp_path: Path) -> None:
    lp = _script(
        tmp_path,
        "lp",
        "sys.stderr.write('lp: The printer or class does not exist.\\n'); sys.exit(1)",
    )
    with pytest.raises(PrinterRejected, match="does not exist"):
        CupsPrinter("Nope", lp_command=lp, lpstat_command=_lpstat(tmp_path)).send(b"^XA^XZ")


def test_missing_lp_is_a_config_error(tmp_path: Path) -> None:
    printer = CupsPrinter(
        "ZebraLab", lp_command=str(tmp_path / "no-such-lp"), lpstat_command=_lpstat(tmp_path)
    )
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
