"""Open ordered tests for the clinician board's benchmark databases (SQLite and PostgreSQL).

Orders whose tests stand in every open status, with results (some abnormal, a few critical,
some corrected) and a few acknowledgements, all in the two weeks before :data:`BOARD_NOW`.
One generator for both loaders (:mod:`bench.core.board_data` adds the rows to a SQLite
board database, :mod:`bench.data.pg_copy` COPYs them into PostgreSQL), so both boards hold
the same kind of data. Instants are UTC text in SQLite's ``UTCDateTime`` form
(``YYYY-MM-DD HH:MM:SS.ffffff``), which PostgreSQL reads as UTC in a session whose time zone
is UTC (the loader sets it).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bench.data.rows import ACCESSION_YEAR, USER_ID
from labdesk.domain.order import TestStatus

BOARD_NOW = datetime(ACCESSION_YEAR, 11, 17, 15, 0, tzinfo=UTC)
"""The bench clock: just after the newest generated activity."""
TESTS_PER_ORDER = 3
PROVIDERS = ("Dr. Ada Moreau", "Dr. Ben Okafor", "Dr. Chen Li", "Dr. Dana Ruiz", "Dr. Eli Stone")
DOCTOR_ID = USER_ID + 1
"""The clinician user the first provider's orders point at (``benchdoc``)."""

STATUS_MIX = (
    (TestStatus.ORDERED, 15),
    (TestStatus.COLLECTED, 5),
    (TestStatus.IN_TRANSIT, 5),
    (TestStatus.RECEIVED, 20),
    (TestStatus.PRELIMINARY, 5),
    (TestStatus.FINAL, 42),
    (TestStatus.REJECTED, 3),
    (TestStatus.NOT_PERFORMED, 5),
)
NOW_S = int(BOARD_NOW.timestamp())
SPAN_S = 14 * 24 * 3600

Row = tuple[object, ...]

ORDER_COLUMNS = (
    "id, placer_order_number, requisition, patient_id, ordering_provider, "
    "ordering_provider_id, priority, source, status, cancel_reason, ordered_at, created_at"
)
TEST_COLUMNS = "id, order_id, test_code, status, specimen_id, status_changed_at"
RESULT_COLUMNS = (
    "id, ordered_test_id, specimen_id, observation_code, observation_name, value, "
    "units, reference_range, abnormal_flag, status, observed_at, received_at, supersedes_id, "
    "message_id"
)
ACK_COLUMNS = "ordered_test_id, user_id, meaning, note, acknowledged_at"


def ts(epoch: int) -> str:
    """A whole-second UTC instant as SQLite's ``UTCDateTime`` text."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S.000000")


def doctor_row() -> Row:
    """The ``benchdoc`` clinician (``users``: id, username, display_name, initials, role,
    password_hash, active, failed_attempts, created_at)."""
    return (DOCTOR_ID, "benchdoc", PROVIDERS[0], "BD", "clinician", "!", True, 0,
            ts(NOW_S - SPAN_S))  # fmt: skip


@dataclass
class OpenTests:
    """Rows of :func:`open_test_rows`, in the column orders above."""

    orders: list[Row] = field(default_factory=list)
    tests: list[Row] = field(default_factory=list)
    results: list[Row] = field(default_factory=list)
    acks: list[Row] = field(default_factory=list)


def open_test_rows(
    rng: random.Random,
    count: int,
    *,
    first_order: int,
    first_test: int,
    first_result: int,
    specimens: int,
    patients: int,
    codes: Sequence[str],
) -> OpenTests:
    """``count`` open tests, three per order, after the given ids (exclusive).

    Tests past ``ordered`` carry a random specimen ``1..specimens``; results and a few
    acknowledgements follow the status.
    """
    statuses = [s for s, weight in STATUS_MIX for _ in range(weight)]
    out = OpenTests()
    order_id, test_id, result_id = first_order, first_test, first_result
    while len(out.tests) < count:
        order_id += 1
        ordered = NOW_S - rng.randrange(SPAN_S)
        provider = rng.randrange(len(PROVIDERS))
        out.orders.append((order_id, f"BO{order_id:08d}", "", rng.randrange(patients) + 1,
                           PROVIDERS[provider], DOCTOR_ID if provider == 0 else None,
                           "stat" if rng.random() < 0.05 else "routine", "hl7", "active", "",
                           ts(ordered), ts(ordered)))  # fmt: skip
        specimen = rng.randrange(specimens) + 1
        for _ in range(min(TESTS_PER_ORDER, count - len(out.tests))):
            test_id += 1
            status = rng.choice(statuses)
            changed = min(NOW_S, ordered + rng.randrange(60, 3 * 24 * 3600))
            has_specimen = status is not TestStatus.ORDERED
            out.tests.append((test_id, order_id, rng.choice(codes), status.value,
                              specimen if has_specimen else None, ts(changed)))  # fmt: skip
            if status in {TestStatus.PRELIMINARY, TestStatus.FINAL, TestStatus.NOT_PERFORMED}:
                result_id = _results(rng, out.results, result_id, test_id, specimen, changed)
                if rng.random() < 0.05:
                    out.acks.append((test_id, DOCTOR_ID, "reviewed", "", ts(changed + 600)))
    return out


def _results(rng: random.Random, out: list[Row], rid: int, test: int, spec: int, at: int) -> int:
    """One to three observations; about 15 % abnormal, 2 % critical, 3 % corrected."""
    for component in range(rng.choice((1, 2, 3))):
        rid += 1
        roll = rng.random()
        flag = "HH" if roll < 0.02 else ("H" if roll < 0.15 else "N")
        out.append((rid, test, spec, f"OBS{component}", f"Component {component}",
                    f"{rng.uniform(1, 9):.1f}", "mmol/L", "1.0-5.0", flag, "F", ts(at),
                    ts(at), None, ""))  # fmt: skip
        if rng.random() < 0.03:  # a correction superseding the row just added
            rid += 1
            out.append((rid, test, spec, f"OBS{component}", f"Component {component}",
                        f"{rng.uniform(1, 9):.1f}", "mmol/L", "1.0-5.0", "N", "C",
                        ts(at + 900), ts(at + 900), rid - 1, ""))  # fmt: skip
    return rid
