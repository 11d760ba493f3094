"""Reading a date of birth as a person types it, in the clinic's own date formats."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from labdesk.domain.errors import ValidationError

#: US clinics: ISO first (the unambiguous form), then month-first forms.
DEFAULT_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%m-%d-%Y", "%m/%d/%y")
#: Shown in "type it as …" messages, written in the clinic's first format.
EXAMPLE_DATE = date(1945, 1, 13)
#: Written and read back to check a configured format: day, month and year all distinct
#: and a year that two-digit ``%y`` reads back as itself.
_PROBE_DATE = date(2011, 12, 31)


def example_date(formats: Sequence[str]) -> str:
    """``EXAMPLE_DATE`` in the first of ``formats`` (ISO if there are none)."""
    return EXAMPLE_DATE.strftime(formats[0] if formats else "%Y-%m-%d")


def parse_birth_date(text: str, formats: Sequence[str], *, today: date | None = None) -> date:
    """Read a date of birth typed in one of ``formats`` (``strptime`` codes).

    Every format is tried: text that two formats read as different dates (``01/02/1945``
    when a clinic accepts both month-first and day-first) is refused rather than guessed.
    A two-digit year is a birth year, so never in the future: with ``today`` given,
    ``01/13/45`` is 1945, not 2045.

    Args:
        text: what was typed; surrounding spaces are ignored.
        formats: the clinic's accepted formats, preferred first (``Config.date_formats``).
        today: the clinic's date, for two-digit years; None keeps ``strptime``'s pivot.

    Returns:
        The date.

    Raises:
        ValidationError: ``text`` is in none of ``formats``, or is ambiguous between them.
    """
    value = text.strip()
    found: set[date] = set()
    for fmt in formats:
        try:
            parsed = datetime.strptime(value, fmt).date()  # noqa: DTZ007 - a date, no time zone
        except ValueError:
            continue
        if today is not None and "%y" in fmt and parsed > today:
            parsed = parsed.replace(year=parsed.year - 100)
        found.add(parsed)
    example = example_date(formats)
    if not found:
        raise ValidationError(f"Date not understood: type it as {example}.")
    if len(found) > 1:
        raise ValidationError(
            f"Date is ambiguous (day and month could be swapped): type it as {example}."
        )
    return found.pop()


def check_date_formats(formats: Sequence[str]) -> str:
    """The first format that cannot read back a date it wrote, or '' when all can.

    A format missing its year, month or day (``%m/%d``) or holding a typo (``%Y-%m-%`` )
    would never match what a person types, so a configuration naming one is refused.
    """
    for fmt in formats:
        try:
            written = _PROBE_DATE.strftime(fmt)
            if datetime.strptime(written, fmt).date() != _PROBE_DATE:  # noqa: DTZ007
                return fmt
        except ValueError:
            return fmt
    return ""
