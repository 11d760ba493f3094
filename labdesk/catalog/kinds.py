"""The kinds of compendium file a lab can import, recognised by their CSV header.

The lab's compendium is more than its test list: timed-draw series, patient preparation,
pediatric tubes ... each is its own CSV in ``resources/catalog`` with its own columns.
``labdesk catalog import FILE`` reads the header row and hands the file to the kind whose
``key_column`` it has; the tests file (key column ``loinc``) is the first kind. A kind
validates all of a file or refuses all of it, and loads its shipped file into a database
that has none (``labdesk db upgrade``, the demo).

A feature adds its kind with :func:`register` at import time of its catalog module, listed
in :data:`KIND_MODULES` so the registry is complete wherever it is used.
"""

from __future__ import annotations

import csv
import importlib
import io
from collections.abc import Callable
from dataclasses import dataclass

from labdesk.ports import UnitOfWork


@dataclass(frozen=True)
class CatalogKind:
    """One kind of compendium file."""

    name: str
    """Shown to the operator: "tests", "timed-draw series", ..."""
    key_column: str
    """A header column only this kind has."""
    import_text: Callable[[UnitOfWork, str], int]
    """Validate all of the text, then store it (raises CatalogImportError); rows stored."""
    ensure_shipped: Callable[[UnitOfWork], bool]
    """Load the shipped file when the database has none of this kind; True if it did."""
    row_noun: str = ""
    """What one stored row is, for the operator: "timed-draw series step" (default: the
    kind's name and "row")."""

    @property
    def noun(self) -> str:
        """The singular noun for one stored row."""
        return self.row_noun or f"{self.name} row"


TESTS_KIND_NAME = "tests"
"""The tests file: the kind without a key column of its own (header ``loinc``)."""


@dataclass(frozen=True)
class CatalogImported:
    """What ``labdesk catalog import`` stored: the kind of file and how many of its rows."""

    kind: str
    """The kind's name ("tests", "timed-draw series", ...)."""
    rows: int
    row_noun: str
    """One row, in words ("test", "timed-draw series step", ...)."""

    def summary(self, source: str) -> str:
        """``Imported 3 timed-draw series steps from series.csv.``"""
        noun = self.row_noun if self.rows == 1 else f"{self.row_noun}s"
        return f"Imported {self.rows} {noun} from {source}."


KIND_MODULES: tuple[str, ...] = (
    "labdesk.catalog.series",
    "labdesk.catalog.preparation",
    "labdesk.catalog.pediatric",
)
"""Modules that register a kind besides the tests file (imported by :func:`kinds`)."""

_KINDS: dict[str, CatalogKind] = {}


def register(kind: CatalogKind) -> CatalogKind:
    """Add ``kind`` (by name; registering again replaces it)."""
    _KINDS[kind.name] = kind
    return kind


def kinds() -> list[CatalogKind]:
    """Every registered kind besides the tests file, in registration order."""
    for module in KIND_MODULES:
        importlib.import_module(module)
    return list(_KINDS.values())


def header_of(text: str) -> list[str]:
    """The CSV header row's column names, trimmed and lower-cased."""
    first = next(csv.reader(io.StringIO(text)), [])
    return [column.strip().lower() for column in first]


def kind_for(text: str) -> CatalogKind | None:
    """The registered kind whose key column the file's header has (None: not one of them)."""
    header = set(header_of(text))
    for kind in kinds():
        if kind.key_column in header:
            return kind
    return None
