"""Courier manifests: a pickup at one site, its bags, its route and the printed manifest.

A manifest number is twelve digits, ``YY SSSSSSSSS C`` (year, clinic-wide serial, Damm check
digit): numeric so it prints as a compact Code 128 (subset C), and two digits longer than an
accession ID so a scan is never mistaken for a specimen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from labdesk.domain.accession import damm_digit
from labdesk.domain.catalog import TemperatureClass

MANIFEST_NUMBER_LENGTH = 12
MANIFEST_SERIAL_DIGITS = 9
MAX_MANIFEST_SERIAL = 10**MANIFEST_SERIAL_DIGITS - 1

# Bag (or box) barcodes: "BAG", the bag's temperature group, a number: BAGR0042.
_BAG = re.compile(r"^BAG([ARF])(\d{1,8})$")
_BAG_TEMPERATURE = {
    "A": TemperatureClass.AMBIENT,
    "R": TemperatureClass.REFRIGERATED,
    "F": TemperatureClass.FROZEN,
}


class ManifestStatus(StrEnum):
    """Where a manifest is in its journey."""

    OPEN = "open"
    """The courier is scanning at the site."""
    IN_TRANSIT = "in_transit"
    """Finished at the site (PIN re-entered); travelling to the lab."""
    RECEIVING = "receiving"
    """The lab has scanned the manifest and is scanning its specimens."""
    RECEIVED = "received"
    """The lab closed the reconciliation."""


class ReceiptOutcome(StrEnum):
    """What the lab found for one specimen of a manifest."""

    RECEIVED = "received"
    DAMAGED = "damaged"
    REJECTED = "rejected"
    UNEXPECTED = "unexpected"
    """Scanned at the lab but never picked up: a gap in the chain to investigate."""


@dataclass(eq=False, kw_only=True)
class Route:
    """A courier route and its expected transit time."""

    code: str
    name: str
    from_site_id: int
    to_site_id: int
    transit_minutes: int
    active: bool = True
    id: int | None = None


@dataclass(eq=False, kw_only=True)
class Manifest:
    """One pickup: a courier at a site, then the lab receiving it."""

    number: str
    site_id: int
    courier_id: int
    started_at: datetime
    status: ManifestStatus = ManifestStatus.OPEN
    station_code: str = ""
    route_id: int | None = None
    finished_at: datetime | None = None
    receipt_started_at: datetime | None = None
    received_at: datetime | None = None
    received_by_id: int | None = None
    id: int | None = None


@dataclass(eq=False, kw_only=True)
class ManifestItem:
    """One specimen on a manifest (``expected``) or found at the lab without being on it."""

    manifest_id: int
    specimen_id: int
    temperature_class: TemperatureClass
    scanned_at: datetime
    scanned_by_id: int
    bag_id: str = ""
    expected: bool = True
    lab_outcome: ReceiptOutcome | None = None
    lab_scanned_at: datetime | None = None
    lab_scanned_by_id: int | None = None
    id: int | None = None


@dataclass(frozen=True)
class BagId:
    """A scanned bag or box barcode and the temperature group it carries."""

    code: str
    temperature_class: TemperatureClass


def parse_bag_id(raw: str) -> BagId | None:
    """Return the bag a scan names, or None when the scan is not a bag barcode."""
    text = raw.strip().upper()
    match = _BAG.match(text)
    if match is None:
        return None
    return BagId(code=text, temperature_class=_BAG_TEMPERATURE[match.group(1)])


def make_manifest_number(year: int, serial: int) -> str:
    """The manifest number of ``serial`` in ``year``.

    Raises:
        ValueError: if the serial does not fit its nine digits.
    """
    if not 1 <= serial <= MAX_MANIFEST_SERIAL:
        raise ValueError(f"manifest serial {serial} outside 1..{MAX_MANIFEST_SERIAL}")
    body = f"{year % 100:02d}{serial:0{MANIFEST_SERIAL_DIGITS}d}"
    return f"{body}{damm_digit(body)}"


def is_manifest_number(raw: str) -> bool:
    """True when ``raw`` is a well-formed manifest number (length, digits, check digit)."""
    text = raw.strip()
    return (
        len(text) == MANIFEST_NUMBER_LENGTH
        and text.isascii()
        and text.isdigit()
        and damm_digit(text) == 0
    )


@dataclass(frozen=True)
class ManifestLine:
    """One specimen as the printed manifest lists it: never a patient name or DOB."""

    accession: str
    container: str
    temperature_class: TemperatureClass
    site_code: str
    bag_id: str = ""


@dataclass(frozen=True)
class ManifestDocument:
    """Everything printed on a courier manifest (times already in the clinic's zone)."""

    number: str
    site_code: str
    site_name: str
    destination: str
    route: str
    courier: str
    station_code: str
    started_at: str
    finished_at: str
    printed_at: str
    lines: tuple[ManifestLine, ...]

    def counts(self) -> tuple[tuple[TemperatureClass, int], ...]:
        """Specimens per temperature class, in the enum's order, zero classes left out."""
        found = [
            (temperature, sum(1 for line in self.lines if line.temperature_class is temperature))
            for temperature in TemperatureClass
        ]
        return tuple((temperature, n) for temperature, n in found if n)

    def bags(self) -> tuple[str, ...]:
        """Distinct bag IDs, in first-scanned order."""
        return tuple(dict.fromkeys(line.bag_id for line in self.lines if line.bag_id))
