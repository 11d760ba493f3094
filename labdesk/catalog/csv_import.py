"""Parse and validate catalog CSV files (container types and test definitions)."""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Sequence
from enum import StrEnum
from typing import TypeVar

from labdesk.domain.catalog import (
    ContainerType,
    Handling,
    SpecimenCategory,
    TemperatureClass,
    TestDefinition,
)
from labdesk.domain.errors import CatalogImportError, RowProblem
from resources import resource

CONTAINER_COLUMNS: tuple[str, ...] = (
    "code",
    "name",
    "cap_colour",
    "cap_hex",
    "additive",
    "draw_rank",
    "nominal_volume_ml",
    "inversions",
    "category",
)
"""Columns of ``containers.csv``, in the order the shipped file uses."""

TEST_COLUMNS: tuple[str, ...] = (
    "code",
    "loinc",
    "name",
    "specimen_type",
    "container_code",
    "preferred_volume_ml",
    "minimum_volume_ml",
    "stability_ambient_h",
    "stability_refrigerated_h",
    "stability_frozen_h",
    "transport_temperature",
    "routine_tat_min",
    "stat_tat_min",
    "working_days",
    "critical_low",
    "critical_high",
    "units",
    "handling",
)
"""Columns of ``tests.csv``, in the order the shipped file uses."""

NON_BLOOD_MIN_RANK = 100
"""Urine and other containers rank at or above this, after every blood tube."""

_LOINC_RE = re.compile(r"\d{1,7}-\d")
_HEX_RE = re.compile(r"#[0-9A-Fa-f]{6}")
_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})

_E = TypeVar("_E", bound=StrEnum)


class _Row:
    """Typed cell access for one data row; records problems instead of raising.

    Accessors return a harmless placeholder when a cell is bad. That is safe because a
    file with any problem is rejected as a whole, so placeholders never leave this module.
    """

    def __init__(self, number: int, values: dict[str, str], problems: list[RowProblem]) -> None:
        self.row_number = number
        self._values = values
        self._problems = problems
        self._bad_fields: set[str] = set()

    def add(self, field: str, why: str) -> None:
        """Record a problem with ``field`` in this row."""
        self._problems.append(RowProblem(self.row_number, field, why))
        self._bad_fields.add(field)

    def ok(self, *fields: str) -> bool:
        """Return True if none of ``fields`` has a problem recorded in this row."""
        return self._bad_fields.isdisjoint(fields)

    def text(self, field: str, *, required: bool = True) -> str:
        """Return the stripped cell text, recording a problem if required and empty."""
        value = self._values.get(field, "")
        if required and not value:
            self.add(field, "is required but the cell is empty")
        return value

    def optional_number(self, field: str, *, required: bool = False) -> float | None:
        """Return the cell as a finite number >= 0, or None if the cell is empty."""
        raw = self.text(field, required=required)
        if not raw:
            return None
        try:
            value = float(raw)
        except ValueError:
            self.add(field, f"'{raw}' is not a number")
            return None
        if not math.isfinite(value):
            self.add(field, f"'{raw}' is not a number")
            return None
        if value < 0:
            self.add(field, f"must be 0 or more, not {raw}")
            return None
        return value

    def number(self, field: str) -> float:
        """Return the required cell as a number >= 0 (0.0 if bad; the problem is recorded)."""
        value = self.optional_number(field, required=True)
        return 0.0 if value is None else value

    def optional_integer(self, field: str, *, required: bool = False) -> int | None:
        """Return the cell as a whole number >= 0, or None if the cell is empty."""
        raw = self.text(field, required=required)
        if not raw:
            return None
        try:
            value = int(raw)
        except ValueError:
            self.add(field, f"'{raw}' is not a whole number")
            return None
        if value < 0:
            self.add(field, f"must be 0 or more, not {raw}")
            return None
        return value

    def integer(self, field: str) -> int:
        """Return the required cell as a whole number >= 0 (0 if bad; the problem is recorded)."""
        value = self.optional_integer(field, required=True)
        return 0 if value is None else value

    def choice(self, field: str, enum_type: type[_E]) -> _E | None:
        """Return the required cell as a member of ``enum_type`` (case-insensitive)."""
        raw = self.text(field)
        if not raw:
            return None
        try:
            return enum_type(raw.lower())
        except ValueError:
            allowed = ", ".join(member.value for member in enum_type)
            self.add(field, f"'{raw}' is not allowed; use one of: {allowed}")
            return None

    def boolean(self, field: str) -> bool:
        """Return the cell as a boolean; empty means False."""
        raw = self.text(field, required=False)
        lowered = raw.lower()
        if not raw or lowered in _FALSE:
            return False
        if lowered in _TRUE:
            return True
        self.add(field, f"'{raw}' is not allowed; use one of: true, false, yes, no, 1, 0")
        return False


def _read_table(text: str, columns: Sequence[str]) -> tuple[list[_Row], list[RowProblem]]:
    """Split CSV text into rows keyed by column name, checking the header.

    Args:
        text: Whole file contents; a leading UTF-8 BOM and CRLF line ends are accepted.
        columns: Column names the header must contain (extra columns are ignored).

    Returns:
        The non-blank data rows, numbered as in a spreadsheet (header is row 1), and the
        problems found so far. No rows are returned when the header itself is bad.
    """
    problems: list[RowProblem] = []
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    try:
        header_cells = next(reader, None)
        if header_cells is None or not any(cell.strip() for cell in header_cells):
            expected = ", ".join(columns)
            problems.append(RowProblem(1, "header", f"no header row; expected: {expected}"))
            return [], problems
        header = [cell.strip().lower() for cell in header_cells]
        for name in sorted({name for name in header if name and header.count(name) > 1}):
            problems.append(RowProblem(1, name, "column appears more than once in the header"))
        for name in columns:
            if name not in header:
                problems.append(RowProblem(1, name, "column is missing from the header row"))
        if problems:
            return [], problems

        rows: list[_Row] = []
        width = len(header)
        for number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            if any(cell.strip() for cell in cells[width:]):
                problems.append(
                    RowProblem(
                        number,
                        "row",
                        f"has {len(cells)} cells but the header has {width} columns; "
                        "put cells that contain a comma in double quotes",
                    )
                )
            values = {name: cell.strip() for name, cell in zip(header, cells, strict=False)}
            rows.append(_Row(number, values, problems))
    except csv.Error as exc:
        problems.append(RowProblem(reader.line_num, "row", f"unreadable CSV: {exc}"))
        return [], problems
    return rows, problems


def _check_unique(row: _Row, code: str, seen: dict[str, int]) -> None:
    """Record a problem if ``code`` (case-insensitive) already appeared in an earlier row."""
    if not code:
        return
    key = code.casefold()
    if key in seen:
        row.add("code", f"duplicate code '{code}'; first used in row {seen[key]}")
    else:
        seen[key] = row.row_number


def _loinc_check_digit(number: str) -> int:
    """Return the LOINC mod-10 (Luhn) check digit for the part before the hyphen."""
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            digit = digit - 9 if digit > 9 else digit
        total += digit
    return (10 - total % 10) % 10


def _loinc(row: _Row) -> str:
    """Return the required LOINC code, checking its format and check digit."""
    raw = row.text("loinc")
    if not raw:
        return raw
    if not _LOINC_RE.fullmatch(raw):
        row.add("loinc", f"'{raw}' is not a LOINC code like 2345-7 (1-7 digits, '-', 1 digit)")
        return raw
    number, check = raw.split("-")
    expected = _loinc_check_digit(number)
    if int(check) != expected:
        row.add("loinc", f"'{raw}' has a wrong check digit (expected {number}-{expected})")
    return raw


def _handling(row: _Row) -> str:
    """Return the handling flags normalised to a ``;``-separated list without repeats."""
    flags: list[Handling] = []
    unknown: list[str] = []
    for part in row.text("handling", required=False).split(";"):
        name = part.strip().lower()
        if not name:
            continue
        try:
            flag = Handling(name)
        except ValueError:
            unknown.append(part.strip())
            continue
        if flag not in flags:
            flags.append(flag)
    if unknown:
        allowed = ", ".join(member.value for member in Handling)
        bad = ", ".join(f"'{name}'" for name in unknown)
        row.add("handling", f"unknown flag(s) {bad}; use any of: {allowed} (separated by ';')")
    return ";".join(flag.value for flag in flags)


def parse_containers(text: str) -> list[ContainerType]:
    """Parse ``containers.csv`` text, validating every row.

    Args:
        text: Whole file contents (UTF-8 BOM and CRLF line ends accepted).

    Returns:
        The container types in file order.

    Raises:
        CatalogImportError: If any row or the header is bad; lists every problem found.
    """
    rows, problems = _read_table(text, CONTAINER_COLUMNS)
    containers: list[ContainerType] = []
    seen: dict[str, int] = {}
    for row in rows:
        code = row.text("code")
        _check_unique(row, code, seen)
        cap_hex = row.text("cap_hex")
        if cap_hex and not _HEX_RE.fullmatch(cap_hex):
            row.add("cap_hex", f"'{cap_hex}' is not a colour like #9B7FD1")
        draw_rank = row.integer("draw_rank")
        category = row.choice("category", SpecimenCategory)
        if category is not None and row.ok("draw_rank"):
            if category is SpecimenCategory.BLOOD and draw_rank >= NON_BLOOD_MIN_RANK:
                row.add("draw_rank", f"blood tubes must rank below {NON_BLOOD_MIN_RANK}")
            elif category is not SpecimenCategory.BLOOD and draw_rank < NON_BLOOD_MIN_RANK:
                row.add(
                    "draw_rank",
                    f"{category.value} containers must rank {NON_BLOOD_MIN_RANK} or more "
                    "so they come after every blood tube",
                )
        container = ContainerType(
            code=code,
            name=row.text("name"),
            cap_colour=row.text("cap_colour"),
            cap_hex=cap_hex.upper(),
            additive=row.text("additive", required=False),
            draw_rank=draw_rank,
            nominal_volume_ml=row.number("nominal_volume_ml"),
            inversions=row.text("inversions", required=False),
            category=category or SpecimenCategory.OTHER,
        )
        containers.append(container)
    if problems:
        raise CatalogImportError(problems)
    return containers


def parse_tests(text: str, known_containers: set[str]) -> list[TestDefinition]:
    """Parse ``tests.csv`` text, validating every row.

    Args:
        text: Whole file contents (UTF-8 BOM and CRLF line ends accepted).
        known_containers: Container codes that ``container_code`` may name.

    Returns:
        The test definitions in file order.

    Raises:
        CatalogImportError: If any row or the header is bad; lists every problem found.
    """
    rows, problems = _read_table(text, TEST_COLUMNS)
    tests: list[TestDefinition] = []
    seen: dict[str, int] = {}
    for row in rows:
        code = row.text("code")
        _check_unique(row, code, seen)
        loinc = _loinc(row)
        container_code = row.text("container_code")
        if container_code and container_code not in known_containers:
            known = ", ".join(sorted(known_containers)) or "none"
            row.add(
                "container_code",
                f"unknown container code '{container_code}'; known codes: {known}",
            )

        preferred = row.number("preferred_volume_ml")
        minimum = row.number("minimum_volume_ml")
        if row.ok("preferred_volume_ml", "minimum_volume_ml") and minimum > preferred:
            row.add(
                "minimum_volume_ml",
                f"minimum volume {minimum:g} mL is more than the preferred {preferred:g} mL",
            )

        stability = {
            TemperatureClass.AMBIENT: row.optional_number("stability_ambient_h"),
            TemperatureClass.REFRIGERATED: row.optional_number("stability_refrigerated_h"),
            TemperatureClass.FROZEN: row.optional_number("stability_frozen_h"),
        }
        transport = row.choice("transport_temperature", TemperatureClass)
        stability_field = f"stability_{transport.value}_h" if transport is not None else ""
        if transport is not None and row.ok(stability_field) and stability[transport] is None:
            row.add(
                "transport_temperature",
                f"transport is {transport.value} but {stability_field} is empty "
                "(not acceptable at that temperature)",
            )

        routine = row.integer("routine_tat_min")
        stat = row.optional_integer("stat_tat_min")
        if row.ok("routine_tat_min", "stat_tat_min") and stat is not None and stat > routine:
            row.add(
                "stat_tat_min",
                f"STAT turnaround {stat} min is longer than routine {routine} min",
            )

        low = row.optional_number("critical_low")
        high = row.optional_number("critical_high")
        if low is not None and high is not None and low >= high:
            row.add("critical_high", f"critical high {high:g} must be above critical low {low:g}")
        units = row.text("units", required=False)
        if (low is not None or high is not None) and not units:
            row.add("units", "is required when a critical limit is given")

        handling = _handling(row)
        refrigerated = stability[TemperatureClass.REFRIGERATED]
        if Handling.DO_NOT_REFRIGERATE.value in handling.split(";") and refrigerated is not None:
            row.add(
                "stability_refrigerated_h",
                "must be empty because the test's handling says do_not_refrigerate",
            )

        test = TestDefinition(
            code=code,
            loinc=loinc,
            name=row.text("name"),
            specimen_type=row.text("specimen_type"),
            container_code=container_code,
            preferred_volume_ml=preferred,
            minimum_volume_ml=minimum,
            stability_ambient_h=stability[TemperatureClass.AMBIENT],
            stability_refrigerated_h=refrigerated,
            stability_frozen_h=stability[TemperatureClass.FROZEN],
            transport_temperature=transport or TemperatureClass.AMBIENT,
            routine_tat_min=routine,
            stat_tat_min=stat,
            working_days=row.boolean("working_days"),
            critical_low=low,
            critical_high=high,
            units=units,
            handling=handling,
        )
        tests.append(test)
    if problems:
        raise CatalogImportError(problems)
    return tests


def load_shipped_catalog() -> tuple[list[ContainerType], list[TestDefinition]]:
    """Load the catalog shipped in ``resources/catalog``.

    Returns:
        The container types and the test definitions, in file order.

    Raises:
        CatalogImportError: If a shipped file is bad (a packaging defect).
    """
    containers = parse_containers(resource("catalog", "containers.csv").read_text(encoding="utf-8"))
    known = {container.code for container in containers}
    tests = parse_tests(resource("catalog", "tests.csv").read_text(encoding="utf-8"), known)
    return containers, tests
