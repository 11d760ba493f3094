"""Virtual printers that write jobs to disk: file:// (ZPL + PNG preview) and pdf://.

Jobs carry patient data, so they are written owner-only (``printers.private_files``).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Final

from printers.errors import PrinterRejected
from printers.private_files import private_dir, write_private
from printers.status import PrinterStatus

logger = logging.getLogger(__name__)

_NUMBERED = re.compile(r"^(\d{4,})\.")
PDF_MAGIC = b"%PDF-"


class FilePrinter:
    """Writes each job as ``NNNN.zpl`` (plus ``NNNN.png`` when a preview is given).

    For development, demos and training: always ready, never loses a job.
    """

    language: Final = "zpl"
    wants_preview: Final = True

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def __repr__(self) -> str:
        return f"FilePrinter({str(self.directory)!r})"

    def send(self, payload: bytes, *, preview_png: bytes | None = None) -> None:
        """Write the job (and its preview) under the next free number.

        Raises:
            PrinterRejected: if the directory cannot be written.
        """
        path = _write_numbered(self.directory, ".pdf" if _is_pdf(payload) else ".zpl", payload)
        if preview_png is not None:
            _write(path.with_suffix(".png"), preview_png)
        logger.info("Wrote label job %s", path)

    def status(self) -> PrinterStatus:
        """A virtual printer is always ready."""
        return PrinterStatus.ok()


class PdfFilePrinter:
    """Writes PDF documents: to ``target`` if it ends in ``.pdf``, else as ``DIR/NNNN.pdf``."""

    language: Final = "pdf"

    def __init__(self, target: Path) -> None:
        self.target = target

    def __repr__(self) -> str:
        return f"PdfFilePrinter({str(self.target)!r})"

    def send(self, payload: bytes, *, preview_png: bytes | None = None) -> None:
        """Write one PDF document (a ``.pdf`` target is replaced by each job).

        Raises:
            PrinterRejected: if ``payload`` is not a PDF or the file cannot be written.
        """
        del preview_png
        if not _is_pdf(payload):
            raise PrinterRejected(
                "A pdf:// printer takes PDF documents, not printer commands.",
                hint="Render the labels with printers.pdf.render_pdf for this printer.",
            )
        if self.target.suffix.lower() == ".pdf":
            _write(self.target, payload)
            path = self.target
        else:
            path = _write_numbered(self.target, ".pdf", payload)
        logger.info("Wrote PDF job %s", path)

    def status(self) -> PrinterStatus:
        """A virtual printer is always ready."""
        return PrinterStatus.ok()


def _is_pdf(payload: bytes) -> bool:
    return payload.startswith(PDF_MAGIC)


def _write_numbered(directory: Path, suffix: str, payload: bytes) -> Path:
    """Write ``payload`` to the next free ``NNNN<suffix>``; exclusive create avoids races."""
    try:
        private_dir(directory)
        numbers = [int(m.group(1)) for p in directory.iterdir() if (m := _NUMBERED.match(p.name))]
        number = max(numbers, default=0) + 1
        while True:
            path = directory / f"{number:04d}{suffix}"
            try:
                write_private(path, payload, exclusive=True)
            except FileExistsError:
                number += 1
                continue
            return path
    except OSError as exc:
        raise PrinterRejected(
            f"Cannot write the job to {directory}: {exc.strerror or exc}.",
            hint="Pick a writable folder for the virtual printer.",
        ) from exc


def _write(path: Path, payload: bytes) -> None:
    try:
        write_private(path, payload)
    except OSError as exc:
        raise PrinterRejected(
            f"Cannot write {path}: {exc.strerror or exc}.",
            hint="Pick a writable location for the virtual printer.",
        ) from exc
