"""file:// and pdf:// virtual printers write what would have been printed."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from labdesk.domain.printing import LabelContent
from printers.errors import PrinterRejected
from printers.jobs import print_labels
from printers.pdf import render_pdf
from printers.presets import get_preset
from printers.transports import open_printer

pytestmark = pytest.mark.integration


def _pdf_uri(path: Path) -> str:
    return "pdf://" + path.as_uri().removeprefix("file://")


def test_file_printer_numbers_jobs_and_writes_previews(
    tmp_path: Path, make_content: Callable[..., LabelContent]
) -> None:
    printer = open_printer((tmp_path / "spool").as_uri())
    assert printer.status().ready
    job = print_labels(printer, [make_content()], get_preset("2x1-203"))
    printer.send(b"^XA^XZ")
    names = sorted(p.name for p in (tmp_path / "spool").iterdir())
    assert names == ["0001.png", "0001.zpl", "0002.zpl"]
    assert (tmp_path / "spool" / "0001.zpl").read_bytes() == job.payload
    assert (tmp_path / "spool" / "0001.png").read_bytes() == job.preview_png


def test_file_printer_continues_after_existing_jobs(tmp_path: Path) -> None:
    (tmp_path / "0041.zpl").write_bytes(b"old")
    open_printer(tmp_path.as_uri()).send(b"^XA^XZ")
    assert (tmp_path / "0042.zpl").read_bytes() == b"^XA^XZ"


def test_file_printer_reports_unwritable_directory(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("file in the way")
    with pytest.raises(PrinterRejected, match="Cannot write"):
        open_printer(blocker.as_uri()).send(b"^XA^XZ")


def test_pdf_printer_writes_the_named_file(
    tmp_path: Path, make_content: Callable[..., LabelContent]
) -> None:
    target = tmp_path / "out" / "labels.pdf"
    printer = open_printer(_pdf_uri(target))
    assert printer.language == "pdf"
    assert printer.status().ready
    job = print_labels(printer, [make_content()] * 3, get_preset("sheet-letter-30"))
    assert target.read_bytes() == job.payload
    assert job.payload.startswith(b"%PDF-")


def test_pdf_printer_numbers_documents_in_a_directory(
    tmp_path: Path, make_content: Callable[..., LabelContent]
) -> None:
    printer = open_printer(_pdf_uri(tmp_path))
    pdf = render_pdf([make_content()], get_preset("2x1-300"))
    printer.send(pdf)
    printer.send(pdf)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0001.pdf", "0002.pdf"]


def test_pdf_printer_refuses_zpl(tmp_path: Path) -> None:
    with pytest.raises(PrinterRejected, match="PDF"):
        open_printer(_pdf_uri(tmp_path)).send(b"^XA^XZ")


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)  # the usual default: files 0644, folders 0755
    yield
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("umask_022")
def test_file_printer_jobs_and_previews_are_owner_only(
    tmp_path: Path, make_content: Callable[..., LabelContent]
) -> None:
    spool = tmp_path / "clinic" / "spool"
    print_labels(open_printer(spool.as_uri()), [make_content()], get_preset("2x1-203"))
    assert {p.name: _mode(p) for p in spool.iterdir()} == {"0001.zpl": 0o600, "0001.png": 0o600}
    assert (_mode(spool), _mode(spool.parent)) == (0o700, 0o700)  # both folders were new


@pytest.mark.usefixtures("umask_022")
def test_pdf_printer_files_are_owner_only_even_when_replacing_one(
    tmp_path: Path, make_content: Callable[..., LabelContent]
) -> None:
    target = tmp_path / "labels" / "out.pdf"
    target.parent.mkdir()
    target.write_bytes(b"%PDF-old")
    target.chmod(0o644)
    open_printer(_pdf_uri(target)).send(render_pdf([make_content()], get_preset("2x1-203")))
    assert _mode(target) == 0o600
    numbered = tmp_path / "pdfs"
    open_printer(_pdf_uri(numbered)).send(render_pdf([make_content()], get_preset("2x1-203")))
    assert [_mode(p) for p in numbered.iterdir()] == [0o600]
    assert _mode(numbered) == 0o700
