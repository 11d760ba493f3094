"""Owner-only writes tighten files the program owns, never a device or pipe it is given."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from printers.private_files import write_private


def test_a_new_file_is_owner_only(tmp_path: Path) -> None:
    target = tmp_path / "jobs" / "label.zpl"
    write_private(target, b"^XA^XZ")
    assert target.read_bytes() == b"^XA^XZ"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700


def test_an_existing_file_is_tightened(tmp_path: Path) -> None:
    target = tmp_path / "label.zpl"
    target.write_bytes(b"old")
    target.chmod(0o644)
    write_private(target, b"new")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_pipe_is_written_but_its_mode_is_left_alone(tmp_path: Path) -> None:
    # Rendering "-o /dev/null" once made /dev/null root-only for the whole machine. A pipe
    # stands in for any special file the user names: it gets the bytes, keeps its mode.
    pipe = tmp_path / "printer.fifo"
    os.mkfifo(pipe, 0o666)
    pipe.chmod(0o666)  # mkfifo's mode is masked by the umask
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(pipe.read_bytes()))
    reader.start()
    write_private(pipe, b"^XA^FDS1^FS^XZ")
    reader.join(timeout=5)
    assert received == [b"^XA^FDS1^FS^XZ"]
    assert stat.S_ISFIFO(pipe.stat().st_mode)
    assert stat.S_IMODE(pipe.stat().st_mode) == 0o666
