"""The timed-draw series file of the compendium (``series.csv``): parse, validate, store.

One row per step: ``series_code, series_name, label, step, step_label, test_code, anchor,
offset, window_before_min, window_after_min, reason_required``. ``anchor`` is
``first_draw`` (``offset`` in minutes after the series' first draw), ``clock`` (``offset``
is a local wall-clock time ``HH:MM``) or ``dose`` (``offset`` in minutes from the dose,
negative before it). The rules themselves are in :mod:`labdesk.domain.series`.

Validation lists every bad row and stores nothing when one is bad: unknown test codes, a
test in two steps, steps out of order or missing, overlapping windows, offsets that go
backwards or do not fit their anchor, windows of no width. Registered as the catalog kind
"timed-draw series" (key column ``series_code``).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import time

from labdesk.catalog.csv_import import _read_table, _Row, load_shipped_catalog
from labdesk.catalog.kinds import CatalogKind, register
from labdesk.domain.errors import CatalogImportError
from labdesk.domain.series import Anchor, SeriesStep
from labdesk.ports import UnitOfWork
from resources import resource

SERIES_COLUMNS: tuple[str, ...] = (
    "series_code",
    "series_name",
    "label",
    "step",
    "step_label",
    "test_code",
    "anchor",
    "offset",
    "window_before_min",
    "window_after_min",
    "reason_required",
)
"""Columns of ``series.csv``, in the order the shipped file uses."""

_CLOCK_RE = re.compile(r"(\d{1,2}):(\d{2})")
_INT_RE = re.compile(r"[+-]?\d+")
_MAX_OFFSET_MIN = 7 * 24 * 60


def _offset(row: _Row, anchor: Anchor | None) -> tuple[int, time | None]:
    """The offset in minutes, or the wall-clock time of a clock step."""
    raw = row.text("offset")
    if not raw or anchor is None:
        return 0, None
    if anchor is Anchor.CLOCK:
        match = _CLOCK_RE.fullmatch(raw)
        if match is None or int(match[1]) > 23 or int(match[2]) > 59:
            row.add("offset", f"'{raw}' is not a wall-clock time like 08:00 (clock anchor)")
            return 0, None
        return 0, time(int(match[1]), int(match[2]))
    if not _INT_RE.fullmatch(raw):
        row.add("offset", f"'{raw}' is not a whole number of minutes ({anchor.value} anchor)")
        return 0, None
    value = int(raw)
    if anchor is Anchor.FIRST_DRAW and value < 0:
        row.add("offset", f"minutes after the first draw must be 0 or more, not {raw}")
    elif abs(value) > _MAX_OFFSET_MIN:
        row.add("offset", f"{raw} minutes is more than a week")
    return value, None


def parse_series(text: str, known_tests: Collection[str]) -> list[SeriesStep]:
    """Parse ``series.csv`` text, validating every row.

    Args:
        text: Whole file contents (UTF-8 BOM and CRLF line ends accepted).
        known_tests: Test codes of the catalog that ``test_code`` may name.

    Returns:
        The steps in file order.

    Raises:
        CatalogImportError: If any row or the header is bad; lists every problem found.
    """
    rows, problems = _read_table(text, SERIES_COLUMNS)
    steps: list[SeriesStep] = []
    last: dict[str, tuple[_Row, SeriesStep]] = {}
    names: dict[str, tuple[str, str, int]] = {}
    labels: dict[tuple[str, str], int] = {}
    tests_used: dict[str, int] = {}
    for row in rows:
        code = row.text("series_code")
        name = row.text("series_name")
        label = row.text("label")
        number = row.integer("step")
        step_label = row.text("step_label").upper()
        test_code = row.text("test_code")
        anchor = row.choice("anchor", Anchor)
        offset, clock_time = _offset(row, anchor)
        before = row.integer("window_before_min")
        after = row.integer("window_after_min")
        reason = row.boolean("reason_required")
        if test_code and test_code not in known_tests:
            row.add(
                "test_code",
                f"unknown test code '{test_code}'; add it to the tests file first",
            )
        elif test_code in tests_used:
            row.add(
                "test_code",
                f"test '{test_code}' is already a step in row {tests_used[test_code]}; "
                "each step needs its own test",
            )
        elif test_code:
            tests_used[test_code] = row.row_number
        if code and code in names:
            first_name, first_label, first_row = names[code]
            if (name, label) != (first_name, first_label):
                row.add(
                    "series_name",
                    f"series {code} has another name or label in row {first_row}; "
                    "use the same on every step",
                )
        elif code:
            names[code] = (name, label, row.row_number)
        if code and step_label:
            key = (code, step_label)
            if key in labels:
                row.add("step_label", f"'{step_label}' is already used in row {labels[key]}")
            else:
                labels[key] = row.row_number
        step = SeriesStep(
            series_code=code,
            series_name=name,
            label=label,
            step_no=number,
            step_label=step_label,
            test_code=test_code,
            anchor=anchor or Anchor.FIRST_DRAW,
            offset_min=offset,
            clock_time=clock_time,
            window_before_min=before,
            window_after_min=after,
            reason_required=reason,
        )
        _check_order(row, step, last.get(code))
        if row.ok("step") and code:
            last[code] = (row, step)
        steps.append(step)
    if problems:
        raise CatalogImportError(problems)
    return steps


def _check_order(row: _Row, step: SeriesStep, previous: tuple[_Row, SeriesStep] | None) -> None:
    """Steps 1, 2, 3… in file order; elapsed offsets forward; windows apart and not empty."""
    if not row.ok("step", "anchor", "offset", "window_before_min", "window_after_min"):
        return
    expected = 1 if previous is None else previous[1].step_no + 1
    if step.step_no != expected:
        row.add(
            "step",
            f"step {step.step_no} is out of order in series {step.series_code}; "
            f"expected step {expected} (list the steps 1, 2, 3… in order)",
        )
        return
    first = previous is None
    if first and step.anchor is Anchor.FIRST_DRAW and step.offset_min != 0:
        row.add("offset", "the first step is the first draw: its offset must be 0")
    anchor_draw = first and step.anchor is Anchor.FIRST_DRAW
    if not anchor_draw and step.window_before_min + step.window_after_min == 0:
        row.add(
            "window_after_min",
            "the window has no width; give minutes before or after the due time",
        )
    if previous is None:
        return
    prior = previous[1]
    if step.anchor is Anchor.FIRST_DRAW and prior.anchor is Anchor.FIRST_DRAW:
        if step.offset_min <= prior.offset_min:
            row.add(
                "offset",
                f"{step.offset_min} min is not after step {prior.step_no} "
                f"({prior.offset_min} min); offsets must grow with the steps",
            )
        elif prior.offset_min + prior.window_after_min >= step.offset_min - step.window_before_min:
            row.add(
                "window_before_min",
                f"the window overlaps step {prior.step_no}'s "
                f"(which closes {prior.offset_min + prior.window_after_min} min after the "
                f"first draw; this one opens {step.offset_min - step.window_before_min} min)",
            )
    both_dose = step.anchor is Anchor.DOSE and prior.anchor is Anchor.DOSE
    if both_dose and step.offset_min <= prior.offset_min:
        row.add("offset", f"must be after step {prior.step_no}'s {prior.offset_min} min")


def _store(uow: UnitOfWork, steps: list[SeriesStep]) -> int:
    uow.timed_draws.replace_series(steps)
    return len(steps)


def import_series_text(uow: UnitOfWork, text: str) -> int:
    """Validate all of ``series.csv`` against the catalog's tests, then store it (replacing
    the steps of every series it names); returns the number of steps stored."""
    known = {t.code for t in uow.catalog.tests()}
    return _store(uow, parse_series(text, known))


def shipped_series_text() -> str:
    """The shipped ``resources/catalog/series.csv``."""
    return resource("catalog", "series.csv").read_text(encoding="utf-8")


def ensure_shipped_series(uow: UnitOfWork) -> bool:
    """Load the shipped series when the database has none (adding the shipped tests they
    use that an older catalog lacks); True if it did."""
    if uow.timed_draws.count_steps() > 0:
        return False
    text = shipped_series_text()
    known = {t.code for t in uow.catalog.tests()}
    containers = {c.code for c in uow.catalog.containers()}
    shipped = {t.code: t for t in load_shipped_catalog()[1] if t.container_code in containers}
    steps = parse_series(text, known | shipped.keys())
    for step in steps:
        if step.test_code not in known:
            uow.catalog.merge_test(shipped[step.test_code])
    uow.catalog.flush()
    _store(uow, steps)
    return True


KIND = register(
    CatalogKind(
        name="timed-draw series",
        key_column="series_code",
        import_text=import_series_text,
        ensure_shipped=ensure_shipped_series,
        row_noun="timed-draw series step",
    )
)
