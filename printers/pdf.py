"""PDF renderer (reportlab): one label per page, or a sheet of labels for sheet presets."""

from __future__ import annotations

import functools
import io
import logging
from collections.abc import Sequence
from pathlib import Path

from reportlab.lib.units import inch
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from labdesk.domain.printing import LabelContent
from printers.code128 import bar_runs
from printers.fonts import covered_by, pdf_fonts, split_runs
from printers.layout import LabelLayout, TextElement, layout_label
from printers.presets import Preset

logger = logging.getLogger(__name__)

# Standard PDF fonts, used only when no TrueType font is installed (Latin-1 only).
BUILTIN_REGULAR = "Helvetica"
BUILTIN_BOLD = "Helvetica-Bold"


def render_pdf(contents: Sequence[LabelContent], preset: Preset) -> bytes:
    """Lay out ``contents`` and return them as a PDF document.

    Label presets give one label per page at the label's size; sheet presets fill the
    sheet's positions left to right, top to bottom, and start new pages as needed.

    Raises:
        LabelDoesNotFit: if a label cannot be laid out on ``preset``.
    """
    return render_layouts_pdf([layout_label(c, preset) for c in contents], preset)


def render_layouts_pdf(layouts: Sequence[LabelLayout], preset: Preset) -> bytes:
    """Return already computed layouts as a PDF document (see ``render_pdf``)."""
    buffer = io.BytesIO()
    page = _page_size(preset)
    # invariant=True leaves out timestamps and random IDs: the same labels give the same
    # bytes, which keeps stored print jobs comparable.
    canvas = Canvas(buffer, pagesize=page, invariant=True, pageCompression=1)
    canvas.setTitle("Specimen labels")
    canvas.setCreator("LabDesk")
    slots = _slots(preset)
    for index, layout in enumerate(layouts):
        if index and index % len(slots) == 0:
            canvas.showPage()
        left, bottom = slots[index % len(slots)]
        _draw_label(canvas, layout, left, bottom, preset.dpi)
    if not layouts:
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _page_size(preset: Preset) -> tuple[float, float]:
    if preset.sheet is None:
        return preset.width_in * inch, preset.height_in * inch
    return preset.sheet.page_width_in * inch, preset.sheet.page_height_in * inch


def _slots(preset: Preset) -> list[tuple[float, float]]:
    """Return the bottom-left corner (points) of each label position on one page."""
    sheet = preset.sheet
    if sheet is None:
        return [(0.0, 0.0)]
    return [
        (
            (sheet.left_margin_in + column * sheet.column_pitch_in) * inch,
            (sheet.page_height_in - sheet.top_margin_in - row * sheet.row_pitch_in) * inch
            - preset.height_in * inch,
        )
        for row in range(sheet.rows)
        for column in range(sheet.columns)
    ]


def _draw_label(canvas: Canvas, layout: LabelLayout, left: float, bottom: float, dpi: int) -> None:
    """Draw one label with its bottom-left corner at (left, bottom), working in dots."""
    canvas.saveState()
    canvas.translate(left, bottom)
    canvas.scale(inch / dpi, inch / dpi)
    canvas.setFillGray(0)
    for box in layout.boxes:
        canvas.rect(box.x, layout.height - box.y - box.height, box.width, box.height, 0, 1)
    bar = layout.barcode
    for start, width in bar_runs(bar.modules):
        x = bar.x + start * bar.module_width
        y = layout.height - bar.y - bar.height
        canvas.rect(x, y, width * bar.module_width, bar.height, stroke=0, fill=1)
    for text in layout.texts:
        _draw_text(canvas, text, layout.height)
    canvas.restoreState()


def _draw_text(canvas: Canvas, text: TextElement, label_height: int) -> None:
    """Draw ``text``; squeeze it horizontally if it measures wider than ``max_width``."""
    runs = _font_runs(text)
    width = sum(pdfmetrics.stringWidth(chunk, font, text.height) for chunk, font in runs)
    scale = min(1.0, text.max_width / width) if width else 1.0
    shown = width * scale
    x = (
        text.x
        + {"L": 0.0, "C": (text.max_width - shown) / 2, "R": text.max_width - shown}[text.align]
    )
    obj = canvas.beginText(x, label_height - text.baseline)
    obj.setHorizScale(scale * 100)
    obj.setFillGray(1 if text.inverse else 0)
    for chunk, font in runs:
        obj.setFont(font, text.height)
        obj.textOut(chunk)
    canvas.drawText(obj)


def _font_runs(text: TextElement) -> list[tuple[str, str]]:
    """Split ``text`` into (chunk, registered font name) runs."""
    fonts = pdf_fonts()
    primary = fonts.face(bold=text.bold, fallback=False)
    runs: list[tuple[str, str]] = []
    for chunk, fallback in split_runs(text.text, covered_by(primary)):
        path = fonts.face(bold=text.bold, fallback=fallback)
        font = _registered(path) if path is not None else None
        if font is None:
            # Built-in fonts only know Latin-1; show '?' rather than wrong glyphs.
            safe = "".join(ch if ord(ch) <= 0xFF else "?" for ch in chunk)
            runs.append((safe, BUILTIN_BOLD if text.bold else BUILTIN_REGULAR))
        else:
            runs.append((chunk, font))
    return runs


@functools.cache
def _registered(path: Path) -> str | None:
    """Register a TrueType font with reportlab once; return its name, None if unusable."""
    name = f"LabDesk-{path.stem}"
    try:
        pdfmetrics.registerFont(TTFont(name, str(path)))
    except Exception:  # reportlab raises TTFError and plain errors for unusable files.
        logger.warning("Cannot embed font %s; using Helvetica", path, exc_info=True)
        return None
    return name
