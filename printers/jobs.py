"""Render label jobs for a printer: one layout feeds both the payload and the preview."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from labdesk.domain.printing import LabelContent
from printers.image import render_png
from printers.layout import layout_label
from printers.pdf import render_layouts_pdf
from printers.presets import Preset
from printers.transports import Language, Printer
from printers.zpl import render_zpl


@dataclass(frozen=True)
class RenderedJob:
    """The exact bytes for the printer and a PNG preview of the first label."""

    payload: bytes = field(repr=False)
    preview_png: bytes | None = field(repr=False)
    language: Language


def render_job(
    contents: Sequence[LabelContent],
    preset: Preset,
    *,
    language: Language = "zpl",
    copies: int = 1,
    preview: bool = True,
) -> RenderedJob:
    """Lay out each label once and render it for ``language`` plus a PNG preview.

    ``preview=False`` leaves the preview out (it costs more than the ZPL itself).

    Raises:
        LabelDoesNotFit: if a label cannot be laid out on ``preset``.
        ValueError: if ``copies`` is not positive.
    """
    if copies < 1:
        raise ValueError(f"copies must be at least 1, got {copies}")
    layouts = [layout_label(content, preset) for content in contents]
    if language == "pdf":
        payload = render_layouts_pdf([lay for lay in layouts for _ in range(copies)], preset)
    else:
        payload = b"".join(render_zpl(lay, copies=copies) for lay in layouts)
    png = render_png(layouts[0]) if layouts and preview else None
    return RenderedJob(payload, png, language)


def print_labels(
    printer: Printer, contents: Sequence[LabelContent], preset: Preset, *, copies: int = 1
) -> RenderedJob:
    """Render ``contents`` in the printer's language, send them, and return what was sent.

    Raises:
        PrinterError: subclasses from the transport or the layout.
    """
    job = render_job(contents, preset, language=printer.language, copies=copies)
    printer.send(job.payload, preview_png=job.preview_png)
    return job
