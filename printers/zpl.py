"""ZPL II renderer: LabelLayout -> the exact bytes sent to a Zebra printer (UTF-8, ^CI28)."""

from __future__ import annotations

from collections.abc import Sequence

from labdesk.domain.printing import LabelContent
from printers.layout import BarcodeElement, BoxElement, LabelLayout, TextElement, layout_label
from printers.presets import Preset

# ^FH hex escapes: ``^`` and ``~`` would start a command (``~`` even inside field data) and
# ``_`` is the escape character itself. Control characters are escaped too so a stray CR/LF
# in patient data cannot break the format.
_ESCAPES = {ord("^"): "_5E", ord("~"): "_7E", ord("_"): "_5F"}
MAX_COPIES = 99_999_999


def escape_field(text: str) -> str:
    """Return ``text`` safe for a ``^FH^FD`` field: ``^`` ``~`` ``_`` and C0/DEL hex-escaped."""
    out: list[str] = []
    for ch in text:
        code = ord(ch)
        if code in _ESCAPES:
            out.append(_ESCAPES[code])
        elif code < 0x20 or code == 0x7F:
            out.append(f"_{code:02X}")
        else:
            out.append(ch)
    return "".join(out)


def render_zpl(layout: LabelLayout, *, copies: int = 1) -> bytes:
    """Return one ZPL II label format for ``layout``.

    Args:
        layout: The computed label layout.
        copies: Number of identical labels to print (``^PQ``).

    Returns:
        UTF-8 encoded ZPL from ``^XA`` to ``^XZ``.

    Raises:
        ValueError: if ``copies`` is outside 1..99,999,999.
    """
    if not 1 <= copies <= MAX_COPIES:
        raise ValueError(f"copies must be 1..{MAX_COPIES}, got {copies}")
    lines = [
        "^XA",
        "^CI28",  # UTF-8 field data; must precede the first ^FD.
        f"^PW{layout.width}",
        f"^LL{layout.height}",
        "^LH0,0",  # ^LH persists on the printer; reset it so our origins are absolute.
    ]
    lines += [_box(box) for box in layout.boxes]
    lines += [_text(text, layout.zpl_font) for text in layout.texts]
    lines.append(_barcode(layout.barcode))
    lines += [f"^PQ{copies},0,1,Y", "^XZ"]
    return ("\n".join(lines) + "\n").encode("utf-8")


def render_labels_zpl(
    contents: Sequence[LabelContent], preset: Preset, *, copies: int = 1
) -> bytes:
    """Lay out and render several labels as one ZPL job (one format per label)."""
    return b"".join(render_zpl(layout_label(c, preset), copies=copies) for c in contents)


def _box(box: BoxElement) -> str:
    # A ^GB whose border thickness equals its smaller side is a filled rectangle.
    thickness = min(box.width, box.height)
    return f"^FO{box.x},{box.y}^GB{box.width},{box.height},{thickness},B,0^FS"


def _text(text: TextElement, font: str) -> str:
    # Width = height gives the scalable font its normal proportions (an omitted width
    # falls back to the last ^CF). ^FB with one line holds the text inside max_width and
    # aligns it; ^FR prints it white on the black box drawn earlier.
    reverse = "^FR" if text.inverse else ""
    return (
        f"^FO{text.x},{text.y}^A{font}N,{text.height},{text.height}"
        f"^FB{text.max_width},1,0,{text.align},0{reverse}^FH^FD{escape_field(text.text)}^FS"
    )


def _barcode(bar: BarcodeElement) -> str:
    # No interpretation line: the layout prints its own grouped eye-readable ID. Mode A
    # lets the printer pick subset C for the digits, matching the layout's module count.
    return (
        f"^FO{bar.x},{bar.y}^BY{bar.module_width}"
        f"^BCN,{bar.height},N,N,N,A^FH^FD{escape_field(bar.data)}^FS"
    )
