"""The courier manifest as a PDF (reportlab), and the printer that sends it.

A letter page: the manifest number as a Code 128 barcode (the lab scans it to start the
receipt), where from and to, the courier, counts per temperature class and the bags, then
one line per specimen: ID, container, temperature class, site, bag. Minimum necessary: no
patient name or date of birth exists in :class:`ManifestDocument`, so none can be printed.
Built-in Helvetica keeps the file small and fast to write; text outside Latin-1 prints as
``?`` (site and staff names are ASCII in practice).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from reportlab.lib.pagesizes import letter
from reportlab.lib.units import inch, mm
from reportlab.pdfgen.canvas import Canvas

from labdesk.domain.manifest import ManifestDocument, ManifestLine
from printers.code128 import QUIET_ZONE_MODULES, bar_runs, code128_modules
from printers.errors import PrinterConfigError
from printers.transports import open_printer

MODULE_PT = 0.4 * mm
"""Narrowest bar: 0.4 mm reads on any handheld scanner and decodes at 300 dpi."""
BAR_HEIGHT_PT = 14 * mm
MARGIN = 0.6 * inch
LINE_PT = 13.0
FIRST_PAGE_ROWS = 38
ROWS_PER_PAGE = 48
COLUMNS = (
    ("#", 0.0),
    ("Specimen ID", 28.0),
    ("Container", 120.0),
    ("Temperature", 200.0),
    ("Site", 300.0),
    ("Bag", 370.0),
)
REGULAR = "Helvetica"
BOLD = "Helvetica-Bold"


def _latin1(text: str) -> str:
    return "".join(ch if ord(ch) <= 0xFF else "?" for ch in text)


def render_manifest_pdf(document: ManifestDocument) -> bytes:
    """Return the manifest as a PDF document (same document, same bytes)."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=letter, invariant=True, pageCompression=1)
    canvas.setTitle(f"Courier manifest {document.number}")
    canvas.setCreator("LabDesk")
    pages = _paginate(document.lines)
    for page_no, lines in enumerate(pages, start=1):
        top = letter[1] - MARGIN
        if page_no == 1:
            top = _header(canvas, document, top)
        else:
            canvas.setFont(BOLD, 11)
            canvas.drawString(MARGIN, top - 11, f"Courier manifest {document.number} (continued)")
            top -= 28
        first = sum(len(p) for p in pages[: page_no - 1])
        _table(canvas, lines, first, top)
        _footer(canvas, document, page_no, len(pages))
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _paginate(lines: Sequence[ManifestLine]) -> list[Sequence[ManifestLine]]:
    pages: list[Sequence[ManifestLine]] = [lines[:FIRST_PAGE_ROWS]]
    rest = lines[FIRST_PAGE_ROWS:]
    while rest:
        pages.append(rest[:ROWS_PER_PAGE])
        rest = rest[ROWS_PER_PAGE:]
    return pages


def _barcode(canvas: Canvas, data: str, right: float, top: float) -> None:
    """Draw ``data`` as Code 128 with its quiet zones, right-aligned, text underneath."""
    modules = code128_modules(data)
    width = (len(modules) + 2 * QUIET_ZONE_MODULES) * MODULE_PT
    left = right - width + QUIET_ZONE_MODULES * MODULE_PT
    bottom = top - BAR_HEIGHT_PT
    canvas.setFillGray(0)
    for start, run in bar_runs(modules):
        canvas.rect(left + start * MODULE_PT, bottom, run * MODULE_PT, BAR_HEIGHT_PT, 0, 1)
    canvas.setFont(REGULAR, 10)
    canvas.drawCentredString(left + len(modules) * MODULE_PT / 2, bottom - 11, data)


def _header(canvas: Canvas, doc: ManifestDocument, top: float) -> float:
    right = letter[0] - MARGIN
    _barcode(canvas, doc.number, right, top)
    canvas.setFont(BOLD, 18)
    canvas.drawString(MARGIN, top - 18, "Courier manifest")
    canvas.setFont(REGULAR, 10)
    facts = (
        ("From", f"{doc.site_code} - {doc.site_name}"),
        ("To", doc.destination or "-"),
        ("Route", doc.route or "-"),
        ("Courier", doc.courier),
        ("Station", doc.station_code or "-"),
        ("Picked up", f"{doc.started_at} to {doc.finished_at}"),
        ("Printed", doc.printed_at),
    )
    y = top - 40
    for label, value in facts:
        canvas.setFont(BOLD, 10)
        canvas.drawString(MARGIN, y, f"{label}:")
        canvas.setFont(REGULAR, 10)
        canvas.drawString(MARGIN + 70, y, _latin1(value))
        y -= LINE_PT
    counts = ", ".join(f"{t.value} {n}" for t, n in doc.counts()) or "none"
    y -= 4
    canvas.setFont(BOLD, 11)
    canvas.drawString(MARGIN, y, f"Specimens: {len(doc.lines)}  ({counts})")
    bags = doc.bags()
    y -= LINE_PT
    canvas.setFont(REGULAR, 10)
    canvas.drawString(MARGIN, y, _latin1(f"Bags: {', '.join(bags) if bags else 'none'}"))
    return y - 2 * LINE_PT


def _table(canvas: Canvas, lines: Sequence[ManifestLine], first: int, top: float) -> None:
    canvas.setFont(BOLD, 10)
    for title, x in COLUMNS:
        canvas.drawString(MARGIN + x, top, title)
    canvas.line(MARGIN, top - 3, letter[0] - MARGIN, top - 3)
    canvas.setFont(REGULAR, 10)
    y = top - LINE_PT - 2
    for index, line in enumerate(lines, start=first + 1):
        values = (
            str(index),
            line.accession,
            line.container,
            line.temperature_class.value,
            line.site_code,
            line.bag_id,
        )
        for (_, x), value in zip(COLUMNS, values, strict=True):
            canvas.drawString(MARGIN + x, y, _latin1(value))
        y -= LINE_PT


def _footer(canvas: Canvas, doc: ManifestDocument, page: int, pages: int) -> None:
    canvas.setFont(REGULAR, 9)
    if page == pages:
        canvas.drawString(
            MARGIN,
            MARGIN + 24,
            "Received at the lab by ______________________  date/time ______________  count ______",
        )
    canvas.drawString(MARGIN, MARGIN, f"Manifest {doc.number}")
    canvas.drawRightString(letter[0] - MARGIN, MARGIN, f"Page {page} of {pages}")


class PdfManifestPrinter:
    """Sends manifests to a document printer given by URI (``pdf://`` writes files).

    Implements ``labdesk.custody.manifest_print.ManifestPrinter``.
    """

    def __init__(self, uri: str) -> None:
        self.uri = uri

    def print_manifest(self, document: ManifestDocument) -> str:
        """Render and send ``document``; return the printer's address.

        Raises:
            PrinterConfigError: no document printer set, or a label (ZPL) printer.
            PrinterError: subclasses from the transport.
        """
        if not self.uri:
            raise PrinterConfigError(
                "No document printer is set for this station.",
                hint="Set LABDESK_DOCUMENT_PRINTER (e.g. pdf:///var/tmp/manifests).",
            )
        printer = open_printer(self.uri)
        if printer.language != "pdf":
            raise PrinterConfigError(
                f"{self.uri} is a label printer; manifests need a document printer.",
                hint="Set LABDESK_DOCUMENT_PRINTER to a pdf:// address.",
            )
        printer.send(render_manifest_pdf(document))
        return self.uri
