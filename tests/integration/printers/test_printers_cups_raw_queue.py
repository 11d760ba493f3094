"""A real CUPS raw queue (socket backend to a loopback printer) passes ZPL through unchanged.

Needs a running scheduler and lpadmin rights (CI runs as root after .ci/start-services.sh
starts cupsd). Skipped locally without them; in CI (``CI`` set) a missing scheduler fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator

import pytest
from fakes_printer import FakeZebra

from labdesk.domain.printing import LabelContent
from printers.cups import CupsPrinter
from printers.presets import get_preset
from printers.zpl import render_labels_zpl

pytestmark = [pytest.mark.integration, pytest.mark.cups]


def _cups_unavailable() -> str:
    if shutil.which("lpadmin") is None or shutil.which("lp") is None:
        return "the CUPS tools (lpadmin, lp) are not installed"
    state = subprocess.run(["lpstat", "-r"], capture_output=True, text=True, check=False)
    if "scheduler is running" not in state.stdout:
        return "the CUPS scheduler is not running (.ci/start-services.sh starts it)"
    return ""


@pytest.fixture
def raw_queue(fake_zebra: FakeZebra) -> Iterator[str]:
    """A raw CUPS queue whose device is the loopback fake printer; removed afterwards."""
    problem = _cups_unavailable()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the CUPS test, but {problem}.", pytrace=False)
        pytest.skip(problem)
    queue = f"labdesk-test-{uuid.uuid4().hex[:8]}"
    # No -m/-P: a raw queue (deprecated since CUPS 2.2.7 but still supported; lpadmin warns).
    created = subprocess.run(
        ["lpadmin", "-p", queue, "-v", f"socket://127.0.0.1:{fake_zebra.port}", "-E"],
        capture_output=True,
        text=True,
        check=False,
    )
    if created.returncode != 0:
        pytest.skip(f"cannot create a CUPS queue here: {created.stderr.strip()}")
    try:
        yield queue
    finally:
        subprocess.run(["lpadmin", "-x", queue], capture_output=True, check=False)


def test_raw_queue_delivers_the_zpl_bytes_unchanged(
    raw_queue: str, fake_zebra: FakeZebra, make_content: Callable[..., LabelContent]
) -> None:
    labels = [
        make_content(family_name="Müller-O'Brien", given_name="Zoë ^XZ ~JR _5E"),
        make_content(family_name="山田", given_name="太郎", stat=True, reprint_count=2),
    ]
    payload = render_labels_zpl(labels, get_preset("2x1-203"))

    CupsPrinter(raw_queue, timeout=10).send(payload)

    jobs = fake_zebra.wait_for_jobs(1, timeout=20)
    assert jobs == [payload]
    assert CupsPrinter(raw_queue, timeout=10).status().ready
