"""Device-independent text width estimates and the truncation rules for label fields."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from functools import cache

# Average advance per character class as a fraction of the text height, (regular, bold).
# Measured on DejaVu Sans Condensed and rounded up; Zebra font 0 is narrower. Layout thus
# errs towards shortening text, and renderers squeeze anything that still measures wider.
_FACTORS: dict[str, tuple[float, float]] = {
    "upper": (0.62, 0.70),
    "lower": (0.53, 0.60),
    "digit": (0.58, 0.64),
    "space": (0.29, 0.32),
    "punct": (0.36, 0.42),
    "wide": (1.0, 1.0),  # CJK ideographs, kana, hangul and full-width forms are square.
}
ELLIPSIS = "…"


def clean_text(text: str) -> str:
    """Return ``text`` in NFC with control characters removed and whitespace collapsed."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(" " if ch.isspace() else ch for ch in text if ch.isprintable() or ch.isspace())
    return " ".join(text.split())


def estimate_width(text: str, height: int, *, bold: bool = False) -> int:
    """Return the estimated width in dots of ``text`` printed ``height`` dots tall."""
    column = 1 if bold else 0
    return round(sum(_advance(ch)[column] for ch in text) * height)


_NO_ADVANCE = (0.0, 0.0)


@cache
def _advance(ch: str) -> tuple[float, float]:
    """``(regular, bold)`` advance of ``ch``; a combining mark adds none (a pure function of
    the character, so cached: a label measures the same few dozen characters many times)."""
    return _NO_ADVANCE if unicodedata.combining(ch) else _FACTORS[_char_class(ch)]


def _char_class(ch: str) -> str:
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return "wide"
    category = unicodedata.category(ch)
    if category in ("Ll", "Lm", "Lo"):
        return "lower"
    if category == "Nd":
        return "digit"
    if category == "Zs":
        return "space"
    if category[0] in ("P", "S"):
        return "punct"
    return "upper"


def fits(text: str, height: int, max_width: int, *, bold: bool = False) -> bool:
    """Return True when ``text`` is estimated to fit in ``max_width`` dots."""
    return estimate_width(text, height, bold=bold) <= max_width


def truncate(text: str, height: int, max_width: int, *, bold: bool = False, mark: str = "") -> str:
    """Return the longest prefix of ``text`` (plus ``mark`` when cut) that fits ``max_width``.

    Cuts never split a base character from its combining marks.
    """
    if fits(text, height, max_width, bold=bold):
        return text
    clusters = _clusters(text)
    for end in range(len(clusters) - 1, -1, -1):
        candidate = "".join(clusters[:end]).rstrip() + mark
        if fits(candidate, height, max_width, bold=bold):
            return candidate
    return ""


def fit_patient_name(family: str, given: str, height: int, max_width: int) -> str:
    """Return the patient name as ``FAMILY, Given``, shortened to fit ``max_width``.

    The family name is the identifier staff read first, so it is the last thing to lose
    characters. In order, the first that fits wins:

    1. ``FAMILY, Given`` (family name upper-cased);
    2. ``FAMILY, G.``: the given name shortened to its initial;
    3. ``FAMILY``: the given name dropped;
    4. ``FAMIL``: the family name cut to the longest prefix that fits, with **no** ellipsis,
       because an ellipsis would hide one more letter of the name.

    The name is always printed bold.
    """
    family = clean_text(family).upper()
    given = clean_text(given)
    if not family:  # Mononymous patients: the given name is the whole name.
        return truncate(given, height, max_width, bold=True)
    candidates = [family]
    if given:
        initial = _clusters(given)[0]
        candidates[:0] = [f"{family}, {given}", f"{family}, {initial}."]
    for candidate in candidates:
        if fits(candidate, height, max_width, bold=True):
            return candidate
    return truncate(family, height, max_width, bold=True)


def fit_list(items: Sequence[str], height: int, max_width: int, *, bold: bool = False) -> str:
    """Return as many leading ``items`` as fit, space-separated, with ``+N`` for the rest."""
    items = [clean_text(item) for item in items if clean_text(item)]
    for count in range(len(items), 0, -1):
        rest = len(items) - count
        text = " ".join(items[:count]) + (f" +{rest}" if rest else "")
        if fits(text, height, max_width, bold=bold):
            return text
    if not items:
        return ""
    more = f" +{len(items) - 1}" if len(items) > 1 else ""
    room = max_width - estimate_width(more, height, bold=bold)
    return truncate(items[0], height, room, bold=bold, mark=ELLIPSIS) + more


def wrap_list(
    items: Sequence[str], height: int, max_width: int, lines: int, *, bold: bool = False
) -> list[str]:
    """Spread whole ``items`` over at most ``lines`` lines; the last one ends in ``+N`` if cut.

    Returns only the lines actually used (at least one).
    """
    items = [clean_text(item) for item in items if clean_text(item)]
    out: list[str] = []
    while len(out) < lines - 1 and items:
        count = 1
        while count < len(items) and fits(
            " ".join(items[: count + 1]), height, max_width, bold=bold
        ):
            count += 1
        if count == len(items) or not fits(items[0], height, max_width, bold=bold):
            break
        out.append(" ".join(items[:count]))
        items = items[count:]
    out.append(fit_list(items, height, max_width, bold=bold))
    return out


def _clusters(text: str) -> list[str]:
    """Split ``text`` into base characters with their trailing combining marks."""
    clusters: list[str] = []
    for ch in text:
        if clusters and unicodedata.combining(ch):
            clusters[-1] += ch
        else:
            clusters.append(ch)
    return clusters
