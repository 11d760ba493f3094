"""The test catalog as HL7 codes meet it: by LabDesk code or by LOINC."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from labdesk.domain.catalog import TestDefinition
from labdesk.ports import UnitOfWork


@dataclass(frozen=True)
class CatalogEntry:
    """What matching and flagging need from a test definition."""

    code: str
    loinc: str
    name: str
    specimen_type: str
    units: str
    critical_low: float | None
    critical_high: float | None
    active: bool

    @classmethod
    def of(cls, test: TestDefinition) -> CatalogEntry:
        """Copy out of an ORM-mapped definition."""
        return cls(
            code=test.code,
            loinc=test.loinc,
            name=test.name,
            specimen_type=test.specimen_type,
            units=test.units,
            critical_low=test.critical_low,
            critical_high=test.critical_high,
            active=test.active,
        )

    def units_compatible(self, units: str) -> bool:
        """False when both sides name units and they differ (then limits do not apply)."""
        mine, theirs = self.units.strip().lower(), units.strip().lower()
        return not mine or not theirs or mine == theirs


class CatalogIndex:
    """Immutable lookup of catalog tests by code (first) or LOINC."""

    def __init__(self, entries: Iterable[CatalogEntry]) -> None:
        self._by_code: dict[str, CatalogEntry] = {}
        self._by_loinc: dict[str, CatalogEntry] = {}
        for entry in entries:
            self._by_code[entry.code.upper()] = entry
            if entry.loinc:
                self._by_loinc.setdefault(entry.loinc.upper(), entry)

    @classmethod
    def load(cls, uow: UnitOfWork) -> CatalogIndex:
        """Read the whole catalog (a few hundred rows at most)."""
        return cls(CatalogEntry.of(t) for t in uow.catalog.tests())

    def find(self, *codes: str) -> CatalogEntry | None:
        """The first test any of ``codes`` names, by LabDesk code or LOINC."""
        for code in codes:
            key = code.strip().upper()
            if not key:
                continue
            entry = self._by_code.get(key) or self._by_loinc.get(key)
            if entry is not None:
                return entry
        return None
