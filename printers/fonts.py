"""Font files for the PDF and PNG renderers, with a CJK fallback for names Latin fonts lack."""

from __future__ import annotations

import functools
import logging
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from reportlab.pdfbase.ttfonts import TTFontFile

logger = logging.getLogger(__name__)

# First existing file wins. DejaVu Sans Condensed covers Latin, Greek and Cyrillic with
# accents; the fallback covers CJK. Windows and macOS paths keep previews usable there.
REGULAR_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSansCondensed.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "C:/Windows/Fonts/arial.ttf",
    "/Library/Fonts/Arial Unicode.ttf",
)
BOLD_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed-Bold.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSansCondensed-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "C:/Windows/Fonts/arialbd.ttf",
    "/Library/Fonts/Arial Bold.ttf",
)
# reportlab embeds only TrueType (glyf) outlines, so the PDF fallback must be a .ttf;
# Noto Sans CJK is CFF-based and only usable by pillow/FreeType.
CJK_TRUETYPE_FONTS = (
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/google-droid-sans-fonts/DroidSansFallbackFull.ttf",
    "C:/Windows/Fonts/simhei.ttf",
)
CJK_REGULAR_FONTS = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", *CJK_TRUETYPE_FONTS)
CJK_BOLD_FONTS = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", *CJK_REGULAR_FONTS)


@dataclass(frozen=True)
class FontSet:
    """Font files for one renderer; None means "not installed, use the built-in font"."""

    regular: Path | None
    bold: Path | None
    fallback: Path | None
    fallback_bold: Path | None

    def face(self, *, bold: bool, fallback: bool) -> Path | None:
        """Return the file for a style, or None when it is not installed."""
        if fallback:
            return self.fallback_bold if bold else self.fallback
        return self.bold if bold else self.regular


def find_font(candidates: tuple[str, ...]) -> Path | None:
    """Return the first existing file among ``candidates``, or None."""
    for candidate in candidates:
        path = Path(candidate)
        if path.is_file():
            return path
    logger.warning("None of these fonts is installed: %s", ", ".join(candidates))
    return None


@functools.cache
def pillow_fonts() -> FontSet:
    """Return the fonts for PNG previews (FreeType reads .ttf, .otf and .ttc)."""
    return FontSet(
        find_font(REGULAR_FONTS),
        find_font(BOLD_FONTS),
        find_font(CJK_REGULAR_FONTS),
        find_font(CJK_BOLD_FONTS),
    )


@functools.cache
def pdf_fonts() -> FontSet:
    """Return the fonts reportlab can embed (TrueType outlines only)."""
    cjk = find_font(CJK_TRUETYPE_FONTS)
    return FontSet(find_font(REGULAR_FONTS), find_font(BOLD_FONTS), cjk, cjk)


@functools.cache
def charset(path: Path) -> frozenset[int]:
    """Return the code points a TrueType font maps to glyphs (empty if unreadable)."""
    try:
        return frozenset(TTFontFile(str(path)).charToGlyph)
    except Exception:  # reportlab raises its own TTFError and plain errors alike.
        logger.warning("Cannot read the character map of %s", path, exc_info=True)
        return frozenset()


def covered_by(path: Path | None) -> Callable[[str], bool]:
    """Return a predicate telling whether a character has a glyph in ``path``.

    Without a font file the built-in fonts are assumed to cover Latin-1 only.
    """
    if path is None:
        return lambda ch: ord(ch) <= 0xFF
    chars = charset(path)
    if not chars:
        return lambda ch: True
    return lambda ch: ord(ch) in chars or ch.isspace()


def split_runs(text: str, covered: Callable[[str], bool]) -> list[tuple[str, bool]]:
    """Split ``text`` into runs of ``(chunk, needs_fallback)``.

    Combining marks stay with the run of their base character.
    """
    runs: list[tuple[str, bool]] = []
    for ch in text:
        fallback = runs[-1][1] if runs and _is_mark(ch) else not covered(ch)
        if runs and runs[-1][1] == fallback:
            runs[-1] = (runs[-1][0] + ch, fallback)
        else:
            runs.append((ch, fallback))
    return runs


def _is_mark(ch: str) -> bool:
    return unicodedata.category(ch).startswith("M")
