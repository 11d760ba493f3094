"""Device-independent text width estimates and the truncation rules for label fields."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

# Average advance per character as a fraction of the text height. Chosen on the wide side
# of DejaVu Sans Condensed (caps: 0.61 regular, 0.68 bold) and Zebra font 0 (narrower), so
# layout errs towards truncating; renderers still squeeze anything that measures wider.
REGULAR_FACTOR = 0.62
BOLD_FACTOR = 0.70
WIDE_FACTOR = 1.0  # CJK ideographs, kana, hangul and full-width forms are square.
ELLIPSIS = "…"


def clean_text(text: str) -> str:
    """Return ``text`` in NFC with control characters removed and whitespace collapsed."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(" " if ch.isspace() else ch for ch in text if ch.isprintable() or ch.isspace())
    return " ".join(text.split())


def estimate_width(text: str, height: int, *, bold: bool = False) -> int:
    """Return the estimated width in dots of ``text`` printed ``height`` dots tall."""
    narrow = BOLD_FACTOR if bold else REGULAR_FACTOR
    total = 0.0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        wide = unicodedata.east_asian_width(ch) in ("W", "F")
        total += WIDE_FACTOR if wide else narrow
    return round(total * height)


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


def _clusters(text: str) -> list[str]:
    """Split ``text`` into base characters with their trailing combining marks."""
    clusters: list[str] = []
    for ch in text:
        if clusters and unicodedata.combining(ch):
            clusters[-1] += ch
        else:
            clusters.append(ch)
    return clusters
