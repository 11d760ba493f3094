"""The patient-preparation file of the compendium (``preparation.csv``): parse, validate, store.

One row per test: ``test_code, fasting_hours, last_dose_hours, first_morning_urine,
question, met_when``. ``fasting_hours`` (empty: no fasting) is met when the patient last
ate at least that long before the draw; ``last_dose_hours`` (empty: no last-dose question)
asks the time of the last dose of the drug the test measures, met when at least that many
hours before (0: the time is recorded); ``first_morning_urine`` asks whether the urine is
the first of the morning. ``question`` is what the station asks, ``met_when`` what counts
as met, in the lab's words. The rules are in :mod:`labdesk.domain.preparation`.

Validation lists every bad row and stores nothing when one is bad: unknown or repeated
test codes, a row that asks nothing, hours outside 0-72, first-morning urine on a test that
is not a urine test. Registered as the catalog kind "patient preparation" (key column
``first_morning_urine``).
"""

from __future__ import annotations

from collections.abc import Mapping

from labdesk.catalog.csv_import import _read_table, _Row, load_shipped_catalog
from labdesk.catalog.kinds import CatalogKind, register
from labdesk.domain.catalog import TestDefinition
from labdesk.domain.errors import CatalogImportError
from labdesk.domain.preparation import PreparationRule
from labdesk.ports import UnitOfWork
from resources import resource

PREPARATION_COLUMNS: tuple[str, ...] = (
    "test_code",
    "fasting_hours",
    "last_dose_hours",
    "first_morning_urine",
    "question",
    "met_when",
)
"""Columns of ``preparation.csv``, in the order the shipped file uses."""

MAX_HOURS = 72.0
"""No preparation asks for more than three days."""


def _hours(row: _Row, field: str) -> float | None:
    value = row.optional_number(field)
    if value is not None and value > MAX_HOURS:
        row.add(field, f"{value:g} h is more than {MAX_HOURS:g} h; give hours, not minutes")
    return value


def parse_preparation(text: str, tests: Mapping[str, TestDefinition]) -> list[PreparationRule]:
    """Parse ``preparation.csv`` text, validating every row.

    Args:
        text: Whole file contents (UTF-8 BOM and CRLF line ends accepted).
        tests: The catalog's tests by code (``test_code`` must name one).

    Raises:
        CatalogImportError: If any row or the header is bad; lists every problem found.
    """
    rows, problems = _read_table(text, PREPARATION_COLUMNS)
    rules: list[PreparationRule] = []
    seen: dict[str, int] = {}
    for row in rows:
        code = row.text("test_code")
        if code and code not in tests:
            row.add("test_code", f"unknown test code '{code}'; add the test to tests.csv first")
        elif code in seen:
            row.add("test_code", f"test '{code}' already has a row (row {seen[code]})")
        elif code:
            seen[code] = row.row_number
        fasting = _hours(row, "fasting_hours")
        if fasting == 0:
            row.add("fasting_hours", "0 h asks nothing; leave the cell empty for no fasting")
        last_dose = _hours(row, "last_dose_hours")
        morning = row.boolean("first_morning_urine")
        if row.ok("fasting_hours", "last_dose_hours", "first_morning_urine") and (
            fasting is None and last_dose is None and not morning
        ):
            row.add(
                "row",
                "asks nothing: give fasting_hours, last_dose_hours or first_morning_urine",
            )
        definition = tests.get(code)
        if morning and definition is not None and "urine" not in definition.specimen_type:
            row.add(
                "first_morning_urine",
                f"'{code}' is a {definition.specimen_type} test, not a urine test",
            )
        question = row.text("question")
        if len(question) > 200:
            row.add("question", "is longer than 200 characters")
        met_when = row.text("met_when", required=False)
        if len(met_when) > 200:
            row.add("met_when", "is longer than 200 characters")
        rules.append(
            PreparationRule(
                test_code=code,
                fasting_hours=fasting,
                last_dose_hours=last_dose,
                first_morning_urine=morning,
                question=question,
                met_when=met_when,
            )
        )
    if problems:
        raise CatalogImportError(problems)
    return rules


def import_preparation_text(uow: UnitOfWork, text: str) -> int:
    """Validate all of ``preparation.csv`` against the catalog's tests, then store it
    (replacing the row of every test it names); returns the number of rows stored."""
    rules = parse_preparation(text, {t.code: t for t in uow.catalog.tests()})
    uow.preparation.replace_rules(rules)
    return len(rules)


def shipped_preparation_text() -> str:
    """The shipped ``resources/catalog/preparation.csv``."""
    return resource("catalog", "preparation.csv").read_text(encoding="utf-8")


def ensure_shipped_preparation(uow: UnitOfWork) -> bool:
    """Load the shipped rules when the database has none; True if it did.

    Rows for tests the lab's catalog does not have are left out (it does not offer them).
    """
    if uow.preparation.count_rules() > 0:
        return False
    known = {t.code: t for t in uow.catalog.tests()}
    shipped = {t.code: t for t in load_shipped_catalog()[1]}
    rules = parse_preparation(shipped_preparation_text(), {**shipped, **known})
    uow.preparation.replace_rules(r for r in rules if r.test_code in known)
    return True


KIND = register(
    CatalogKind(
        name="patient preparation",
        key_column="first_morning_urine",
        import_text=import_preparation_text,
        ensure_shipped=ensure_shipped_preparation,
        row_noun="patient preparation rule",
    )
)
