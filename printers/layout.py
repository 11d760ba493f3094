"""Specimen label layout: LabelContent + Preset -> device-independent elements in dots.

The layout is computed once here; the ZPL, PDF and PNG renderers only draw what it says.

Zones (CLSI AUTO12 field set; patient name top-left and largest)::

    +------------------------------------------------------+
    | FAMILY, Given (bold, largest)               [STAT]   |
    | DOB 1984-03-05                       MRN 00123456    |
    |  ||||||||||||||||||||||||||       CBC BMP +2         |
    |  ||||||||||||||||||||||||||       EDTA 3 mL Lavender |
    |  ||||||||||||||||||||||||||       BLD  ALQ 2         |
    |         26 0001234 5                                 |
    | Coll 2026-03-05 08:15 JD                [REPRINT 1]  |
    +------------------------------------------------------+

Identifiers (name, DOB, MRN, accession, collection time and collector, STAT and REPRINT
marks) are never cut, except the name by the rule in ``textfit.fit_patient_name``; if one
cannot fit, ``LabelDoesNotFit`` is raised. Container, tests and specimen type are
shortened (``…`` or ``+N``) because the order holds them in full.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Literal

from labdesk.domain.printing import LabelContent
from printers.code128 import QUIET_ZONE_MODULES, code128_modules
from printers.errors import LabelDoesNotFit
from printers.presets import Preset
from printers.textfit import (
    ELLIPSIS,
    clean_text,
    estimate_width,
    fit_patient_name,
    fits,
    truncate,
    wrap_list,
)

Align = Literal["L", "C", "R"]

# Sizes in inches, converted to dots per preset. 0.09 in is 6.5 pt: the smallest text that
# prints cleanly at 203 dpi.
NAME_IN = 0.14
ID_IN = 0.10
SMALL_IN = 0.09
GAP_IN = 0.015
BOX_PAD_IN = 0.012
MIN_BAR_IN = 0.18
MAX_BAR_IN = 0.45
MIN_COLUMN_IN = 0.5
# Baseline position as a fraction of the text height (DejaVu Sans ascent 0.76 em).
ASCENT_RATIO = 0.76


@dataclass(frozen=True, kw_only=True)
class TextElement:
    """One line of text; ``max_width`` is a hard limit every renderer must respect."""

    x: int
    y: int
    height: int
    max_width: int
    text: str
    bold: bool = False
    inverse: bool = False
    align: Align = "L"

    @property
    def baseline(self) -> int:
        """Y of the text baseline, for renderers that position text by baseline."""
        return self.y + round(self.height * ASCENT_RATIO)


@dataclass(frozen=True, kw_only=True)
class BarcodeElement:
    """A Code 128 symbol; ``x`` is the first bar, quiet zones lie outside ``width``."""

    x: int
    y: int
    module_width: int
    height: int
    data: str
    modules: str

    @property
    def width(self) -> int:
        """Width of the bars in dots, without quiet zones."""
        return len(self.modules) * self.module_width

    @property
    def quiet_zone(self) -> int:
        """Blank space kept on each side, in dots."""
        return QUIET_ZONE_MODULES * self.module_width


@dataclass(frozen=True, kw_only=True)
class BoxElement:
    """A filled black rectangle (background of inverse text)."""

    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True, kw_only=True)
class LabelLayout:
    """Everything to draw on one label, in dots from the top-left corner."""

    width: int
    height: int
    dpi: int
    zpl_font: str
    boxes: tuple[BoxElement, ...]
    texts: tuple[TextElement, ...]
    barcode: BarcodeElement


@dataclass(frozen=True)
class _Metrics:
    width: int
    height: int
    margin: int
    name_h: int
    id_h: int
    small_h: int
    gap: int
    pad: int

    @classmethod
    def of(cls, preset: Preset) -> _Metrics:
        def dots(inches: float) -> int:
            return max(1, round(inches * preset.dpi))

        return cls(
            preset.width_dots,
            preset.height_dots,
            preset.margin_dots,
            dots(NAME_IN),
            dots(ID_IN),
            dots(SMALL_IN),
            dots(GAP_IN),
            dots(BOX_PAD_IN),
        )


def group_accession(accession: str) -> str:
    """Return the eye-readable form ``YY SSSSSSS C`` of a ten-digit accession ID."""
    if len(accession) == 10 and accession.isdigit():
        return f"{accession[:2]} {accession[2:9]} {accession[9]}"
    return accession


def layout_label(content: LabelContent, preset: Preset) -> LabelLayout:
    """Lay out one specimen label.

    Args:
        content: What to print.
        preset: Label size and resolution.

    Returns:
        The elements to draw, in dots.

    Raises:
        LabelDoesNotFit: if the bar code or an identifier does not fit on the label.
        ValidationError: if the accession cannot be encoded in Code 128.
    """
    m = _Metrics.of(preset)
    boxes: list[BoxElement] = []
    texts: list[TextElement] = []
    _header(content, m, boxes, texts)
    bottom_y = _footer(content, m, boxes, texts)
    barcode = _barcode_band(
        content,
        preset,
        m,
        top=m.margin + m.name_h + m.id_h + 2 * m.gap,
        bottom=bottom_y - m.gap,
        texts=texts,
    )
    layout = LabelLayout(
        width=m.width,
        height=m.height,
        dpi=preset.dpi,
        zpl_font=preset.zpl_font,
        boxes=tuple(boxes),
        texts=tuple(texts),
        barcode=barcode,
    )
    check_layout(layout)
    return layout


def _header(
    content: LabelContent, m: _Metrics, boxes: list[BoxElement], texts: list[TextElement]
) -> None:
    """Add the name row (with the STAT flag) and the DOB/MRN row."""
    name_right = m.width - m.margin
    if content.stat:
        box = _flag(m, "STAT", right=name_right, y=m.margin, height=m.name_h, texts=texts)
        boxes.append(box)
        name_right = box.x - 2 * m.gap
    name_width = name_right - m.margin
    name = fit_patient_name(content.family_name, content.given_name, m.name_h, name_width)
    texts.append(_text(m.margin, m.margin, m.name_h, name_width, name, bold=True))

    row_y = m.margin + m.name_h + m.gap
    dob = clean_text(f"DOB {content.birth_date}")
    mrn = clean_text(f"MRN {content.mrn}")
    dob_width = estimate_width(dob, m.id_h, bold=True)
    mrn_left = m.margin + dob_width + m.id_h
    mrn_width = m.width - m.margin - mrn_left
    _require(mrn, m.id_h, mrn_width, bold=True)
    texts.append(_text(m.margin, row_y, m.id_h, dob_width, dob, bold=True))
    texts.append(_text(mrn_left, row_y, m.id_h, mrn_width, mrn, bold=True, align="R"))


def _footer(
    content: LabelContent, m: _Metrics, boxes: list[BoxElement], texts: list[TextElement]
) -> int:
    """Add the collection row (with the REPRINT mark); return the row's top."""
    y = m.height - m.margin - m.small_h
    right = m.width - m.margin
    if content.reprint_count > 0:
        label = f"REPRINT {content.reprint_count}"
        box = _flag(m, label, right=right, y=y, height=m.small_h, texts=texts)
        boxes.append(box)
        right = box.x - 2 * m.gap
    collected = clean_text(f"Coll {content.collected_at} {content.collector_initials}")
    _require(collected, m.small_h, right - m.margin)
    texts.append(_text(m.margin, y, m.small_h, right - m.margin, collected))
    return y


def _barcode_band(
    content: LabelContent,
    preset: Preset,
    m: _Metrics,
    *,
    top: int,
    bottom: int,
    texts: list[TextElement],
) -> BarcodeElement:
    """Place the bar code, its eye-readable line, and the order column to its right."""
    data = content.accession.strip()
    modules = code128_modules(data)
    module = preset.module_dots
    quiet = QUIET_ZONE_MODULES * module
    bar_x = max(m.margin, quiet)
    column_x = bar_x + len(modules) * module + quiet
    column_width = m.width - m.margin - column_x
    if column_width < MIN_COLUMN_IN * preset.dpi:
        raise LabelDoesNotFit(
            f"The bar code for '{data}' needs {column_x} dots with its quiet zones; "
            f"label '{preset.name}' is {m.width} dots wide and needs room for the order.",
            hint="Choose a wider label preset.",
        )
    eye_y = bottom - m.id_h
    bar_h = min(eye_y - m.gap - top, round(MAX_BAR_IN * preset.dpi))
    if bar_h < round(MIN_BAR_IN * preset.dpi):
        raise LabelDoesNotFit(
            f"Only {bar_h} dots are left for the bar code on label '{preset.name}'; "
            f"at least {round(MIN_BAR_IN * preset.dpi)} are needed to scan it.",
            hint="Choose a taller label preset.",
        )
    eye_y = top + bar_h + m.gap
    eye = group_accession(data)
    _require(eye, m.id_h, len(modules) * module + 2 * quiet, bold=True)
    texts.append(_text(bar_x, eye_y, m.id_h, len(modules) * module, eye, bold=True, align="C"))
    _order_column(content, m, x=column_x, top=top, bottom=eye_y + m.id_h, texts=texts)
    return BarcodeElement(
        x=bar_x, y=top, module_width=module, height=bar_h, data=data, modules=modules
    )


def _order_column(
    content: LabelContent, m: _Metrics, *, x: int, top: int, bottom: int, texts: list[TextElement]
) -> None:
    """Add tests, container/cap and specimen type/aliquot beside the bar code.

    Tests get a second line when the band has room for four lines.
    """
    width = m.width - m.margin - x
    h = m.small_h
    capacity = (bottom - top + m.gap) // (h + m.gap)
    if capacity < 3:
        raise LabelDoesNotFit("No room beside the bar code for tests, container and specimen.")
    container = clean_text(f"{content.container} {content.cap_colour}")
    lines = [
        (line, True) for line in wrap_list(content.tests, h, width, min(2, capacity - 2), bold=True)
    ]
    lines += [
        (truncate(container, h, width, mark=ELLIPSIS), False),
        (_specimen_line(content, h, width), False),
    ]
    # Spread the lines so the first is level with the bars' top and the last with the
    # bottom of the eye-readable ID.
    pitch = (bottom - top - h) / (len(lines) - 1)
    for index, (text, bold) in enumerate(lines):
        texts.append(_text(x, top + round(index * pitch), h, width, text, bold=bold))


def _specimen_line(content: LabelContent, height: int, width: int) -> str:
    """Return ``specimen type  ALQ n``; the aliquot mark is kept whole, the type may be cut."""
    specimen = clean_text(content.specimen_type)
    aliquot = clean_text(content.aliquot)
    if not aliquot:
        return truncate(specimen, height, width, mark=ELLIPSIS)
    mark = f"ALQ {aliquot}"
    _require(mark, height, width)
    room = width - estimate_width(f"  {mark}", height)
    specimen = truncate(specimen, height, room, mark=ELLIPSIS)
    return f"{specimen}  {mark}" if specimen else mark


def _flag(
    m: _Metrics, label: str, *, right: int, y: int, height: int, texts: list[TextElement]
) -> BoxElement:
    """Add white-on-black ``label`` ending at ``right``; return its box."""
    text_width = estimate_width(label, height, bold=True)
    # Flags are capitals and digits: the box hugs the cap height so the text sits centred.
    box = BoxElement(
        x=right - text_width - 4 * m.pad,
        y=y - m.pad,
        width=text_width + 4 * m.pad,
        height=round(height * ASCENT_RATIO) + 2 * m.pad,
    )
    texts.append(_text(box.x + 2 * m.pad, y, height, text_width, label, bold=True, inverse=True))
    return box


def _text(
    x: int,
    y: int,
    height: int,
    max_width: int,
    text: str,
    *,
    bold: bool = False,
    inverse: bool = False,
    align: Align = "L",
) -> TextElement:
    return TextElement(
        x=x,
        y=y,
        height=height,
        max_width=max_width,
        text=text,
        bold=bold,
        inverse=inverse,
        align=align,
    )


def _require(text: str, height: int, max_width: int, *, bold: bool = False) -> None:
    """Raise LabelDoesNotFit when an identifier that must never be cut does not fit."""
    if not fits(text, height, max_width, bold=bold):
        raise LabelDoesNotFit(
            f"'{text}' does not fit on the label ({estimate_width(text, height, bold=bold)} of "
            f"{max_width} dots).",
            hint="Choose a larger label preset or shorten the field at its source.",
        )


def check_layout(layout: LabelLayout) -> None:
    """Check that nothing leaves the label and no two elements overlap.

    Raises:
        LabelDoesNotFit: naming the offending elements.
    """
    bar = layout.barcode
    rects: list[tuple[str, tuple[int, int, int, int]]] = [
        (
            "bar code",
            (bar.x - bar.quiet_zone, bar.y, bar.x + bar.width + bar.quiet_zone, bar.y + bar.height),
        ),
    ]
    rects += [(f"box {b.x},{b.y}", (b.x, b.y, b.x + b.width, b.y + b.height)) for b in layout.boxes]
    rects += [
        (repr(t.text), (t.x, t.y, t.x + t.max_width, t.y + t.height))
        for t in layout.texts
        if not t.inverse
    ]
    for name, (left, top, right, bottom) in rects:
        if left < 0 or top < 0 or right > layout.width or bottom > layout.height:
            raise LabelDoesNotFit(f"{name} runs off the {layout.width}x{layout.height} label.")
    for (name_a, a), (name_b, b) in itertools.combinations(rects, 2):
        if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]:
            raise LabelDoesNotFit(f"{name_a} overlaps {name_b} on the label.")
