"""Library log lines carry no patient data into any log (issue 15, item 5).

python-hl7 logs the field it cannot decode ("Error decoding value [...]") under a logger
named after its file path; a vendor library may have its own handlers, added before or
after LabDesk sets up logging. Each case runs in a fresh process, as an entry point would.
"""

from __future__ import annotations

import logging
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

from labdesk.log_setup import log_to_file

SCRIPT = textwrap.dedent(
    r"""
    import logging, sys
    from pathlib import Path

    data, early_file, late_file = (Path(a) for a in sys.argv[1:4])
    early = logging.getLogger("vendor.sdk")  # its own handler, added before the set-up
    early.propagate = False
    early.addHandler(logging.FileHandler(early_file))

    from labdesk.log_setup import setup_logging

    log = setup_logging(data)

    late = logging.getLogger("late.lib")  # and one added after it
    late.propagate = False
    late.addHandler(logging.FileHandler(late_file))

    from labdesk.hl7.parse import get, parse_message

    message = parse_message(
        "MSH|^~\\&|EHR|CLINIC|LD|LAB|20260302140000||ORU^R01|M1|P|2.5.1\r"
        "PID|1||P900001^^^CLINIC^MR||\\QZabriskie\\^Quintessa||19610517|F\r"
    )
    get(message[1], 5)  # python-hl7 logs "Error decoding value [QZabriskie], field ..."
    early.error("patient %s born %s", "Vanterpool", "1990-09-02")
    late.warning("lookup of %r failed", {"family": "Marigold"})
    try:
        int("Ottoline")
    except ValueError:
        logging.getLogger("/opt/site-packages/vendor/util.py").exception("bad %s", "x")
    logging.getLogger("labdesk.test").info("ordered test id %s checked", 4711)
    logging.shutdown()
    """
)
PHI = ("Zabriskie", "Quintessa", "Vanterpool", "1990-09-02", "Marigold", "Ottoline")


def test_library_log_lines_lose_their_data_on_every_handler(tmp_path: Path) -> None:
    data, early, late = tmp_path / "data", tmp_path / "early.log", tmp_path / "late.log"
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(data), str(early), str(late)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    logged = (data / "logs" / "labdesk.log").read_text(encoding="utf-8")
    assert "Error decoding value [***]" in logged  # the line is there, its data is not
    assert "ValueError: ***" in logged
    assert "ordered test id 4711 checked" in logged  # LabDesk's own arguments are kept
    outputs = {
        "log file": logged,
        "vendor handler added before": early.read_text(encoding="utf-8"),
        "vendor handler added after": late.read_text(encoding="utf-8"),
        "stderr": done.stderr,
    }
    assert "patient *** born ***" in outputs["vendor handler added before"]
    assert "lookup of *** failed" in outputs["vendor handler added after"]
    leaks = {where: [w for w in PHI if w in text] for where, text in outputs.items()}
    assert leaks == {key: [] for key in outputs}


def test_log_set_up_creates_the_data_directory_owner_only(tmp_path: Path) -> None:
    data = tmp_path / "new" / "data"
    root = logging.getLogger()
    before = list(root.handlers), root.level
    try:
        log = log_to_file(data)
    finally:
        for handler in root.handlers[:]:
            if handler not in before[0]:
                root.removeHandler(handler)
                handler.close()
        root.setLevel(before[1])
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE(log.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
