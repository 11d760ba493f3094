"""Accession IDs: ten digits, year prefix, serial and a Damm check digit.

Layout ``YY SSSSSSS C``: two-digit year, a seven-digit serial from the clinic-wide counter
(unique across every station because the database hands it out atomically) and a Damm
check digit. The Damm quasigroup detects every single-digit error and every adjacent
transposition. Ten digits is an even count, so Code 128 subset C packs the ID into five
symbol characters and the barcode stays short on a 2 x 1 in label.
"""

from __future__ import annotations

from labdesk.domain.errors import InvalidAccession

ACCESSION_LENGTH = 10
SERIAL_DIGITS = 7
MAX_SERIAL = 10**SERIAL_DIGITS - 1

# Totally anti-symmetric quasigroup of order 10 (Damm 2004).
_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)


def damm_digit(digits: str) -> int:
    """Return the Damm check digit for a string of decimal digits."""
    interim = 0
    for ch in digits:
        interim = _DAMM[interim][ord(ch) - 48]
    return interim


def make_accession(year: int, serial: int) -> str:
    """Build the accession ID for ``serial`` in ``year``.

    Raises:
        ValueError: if the serial does not fit the seven-digit field.
    """
    if not 1 <= serial <= MAX_SERIAL:
        raise ValueError(f"accession serial {serial} outside 1..{MAX_SERIAL}")
    body = f"{year % 100:02d}{serial:0{SERIAL_DIGITS}d}"
    return f"{body}{damm_digit(body)}"


def validate_accession(raw: str) -> str:
    """Return the normalised accession ID or raise a message a user can act on.

    Scanner suffixes (CR/LF/tab) and surrounding spaces are ignored.

    Raises:
        InvalidAccession: for anything that is not a well-formed, check-digit-valid ID.
    """
    text = raw.strip()
    if not text:
        raise InvalidAccession("Empty scan.", hint="Scan the specimen label again.")
    if not text.isascii() or not text.isdigit():
        raise InvalidAccession(
            f"'{text[:20]}' is not a specimen accession ID (IDs are {ACCESSION_LENGTH} digits).",
            hint="Scan the barcode on the specimen label, not another barcode.",
        )
    if len(text) != ACCESSION_LENGTH:
        raise InvalidAccession(
            f"'{text}' has {len(text)} digits; accession IDs have {ACCESSION_LENGTH}.",
            hint="Rescan the label; if it keeps failing, type the number printed under the bars.",
        )
    if damm_digit(text) != 0:
        raise InvalidAccession(
            f"'{text}' fails its check digit: a digit was misread or mistyped.",
            hint="Rescan the label or retype the number carefully.",
        )
    return text


def is_valid_accession(raw: str) -> bool:
    """Return True when ``raw`` is a well-formed accession ID."""
    try:
        validate_accession(raw)
    except InvalidAccession:
        return False
    return True
