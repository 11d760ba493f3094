"""Row generators for benchmark databases: plain tuples, encoded for the database driver.

The fast path for a million rows: what a synthetic patient and order look like (names,
MRNs, wristbands, providers, numbering) comes from :mod:`labdesk.seed`, like everything the
demo and the test worlds build; only writing the rows as tuples is done here.

Values are encoded here exactly as the column types store them (``UTCDateTime`` and
SQLAlchemy's SQLite ``DATETIME``/``DATE``: naive UTC ``YYYY-MM-DD HH:MM:SS.ffffff``), so the
driver's ``executemany`` can take them without per-value bind processing; the integration
test reads rows back through the ORM to prove it.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from labdesk.domain.accession import make_accession
from labdesk.domain.order import OrderSource, OrderStatus, Priority, TestStatus
from labdesk.domain.specimen import SpecimenStatus
from labdesk.seed.names import NamePool, wristband_for
from labdesk.seed.reference import (
    BULK_PROVIDER,
    BULK_STAT_SHARE,
    bulk_placer_number,
    bulk_requisition,
)
from labdesk.station.patients import WRISTBAND_SYSTEM

Row = tuple[object, ...]

ACCESSION_YEAR = 2026
SITE_ID = 1
USER_ID = 1
SPECIMENS_PER_ORDER = 10

_HOUR = 3600
_DAY = 24 * _HOUR
_SPECIMENS_FROM = int(datetime(ACCESSION_YEAR, 1, 1, tzinfo=UTC).timestamp())
_SPECIMENS_SPAN = 320 * _DAY
_PATIENTS_FROM = int(datetime(2018, 1, 1, tzinfo=UTC).timestamp())
_IN_FLIGHT = tuple(
    s.value for s in (SpecimenStatus.LABELLED, SpecimenStatus.PACKED, SpecimenStatus.IN_TRANSIT)
)
_RECEIVED = SpecimenStatus.RECEIVED.value
_REJECTED = SpecimenStatus.REJECTED.value


@dataclass(frozen=True)
class TestRef:
    """What a generated specimen or order needs to know about a catalog test."""

    code: str
    container: str
    temperature: str


class Encoder:
    """Encodes values the way the column types store them on the target dialect."""

    def __init__(self, dialect: str) -> None:
        self.sqlite = dialect == "sqlite"
        self.placeholder = "?" if self.sqlite else "%s"
        self._hours: dict[int, str] = {}

    def ts(self, epoch: int) -> str | datetime:
        """A whole-second UTC instant as ``UTCDateTime`` stores it."""
        if not self.sqlite:
            return datetime.fromtimestamp(epoch, UTC)
        hour, rest = divmod(epoch, _HOUR)
        prefix = self._hours.get(hour)
        if prefix is None:
            prefix = datetime.fromtimestamp(hour * _HOUR, UTC).strftime("%Y-%m-%d %H:")
            self._hours[hour] = prefix
        minute, second = divmod(rest, 60)
        return f"{prefix}{minute:02d}:{second:02d}.000000"

    def day(self, value: date) -> str | date:
        """A date as ``Date`` stores it."""
        return value.isoformat() if self.sqlite else value


PATIENT_COLUMNS = (
    "id", "mrn", "family_name", "given_name", "name_key", "birth_date", "sex", "created_at",
)  # fmt: skip


def patient_rows(rng: random.Random, enc: Encoder, count: int) -> Iterator[Row]:
    """Patients ``1..count`` with made-up names."""
    names = NamePool()
    for pid in range(1, count + 1):
        p = names.person(rng, pid)
        yield (pid, p.mrn, p.family_name, p.given_name, p.name_key, enc.day(p.birth_date),
               p.sex.value, enc.ts(_PATIENTS_FROM + 420 * pid))  # fmt: skip


IDENTIFIER_COLUMNS = ("id", "patient_id", "system", "value")


def identifier_rows(count: int) -> Iterator[Row]:
    """One wristband identifier per patient."""
    for pid in range(1, count + 1):
        yield (pid, pid, WRISTBAND_SYSTEM, wristband_for(pid))


SPECIMEN_COLUMNS = (
    "id", "accession", "patient_id", "container_code", "site_id", "status",
    "temperature_class", "collected_at", "collected_by_id", "volume_ml", "collection_note",
    "status_changed_at", "created_at",
)  # fmt: skip


def collected_at(serial: int, count: int) -> int:
    """When specimen ``serial`` of ``count`` was collected (spread evenly over the span)."""
    return _SPECIMENS_FROM + _SPECIMENS_SPAN * serial // count


def test_of(serial: int, tests: Sequence[TestRef]) -> TestRef:
    """The test a specimen was drawn for (deterministic, so orders can match it)."""
    return tests[(serial * 7919) % len(tests)]


def specimen_rows(
    rng: random.Random, enc: Encoder, tests: Sequence[TestRef], owner: Sequence[int]
) -> Iterator[Row]:
    """Specimens ``1..len(owner)-1``: serial = id, patient ``owner[serial]``.

    The newest one percent are still on their way to the lab; the rest were received
    (two percent rejected).
    """
    count = len(owner) - 1
    recent = count - max(1, count // 100)
    for serial in range(1, count + 1):
        test = test_of(serial, tests)
        at = collected_at(serial, count)
        if serial > recent:
            status = rng.choice(_IN_FLIGHT)
        else:
            status = _REJECTED if rng.random() < 0.02 else _RECEIVED
        yield (serial, make_accession(ACCESSION_YEAR, serial), owner[serial], test.container,
               SITE_ID, status, test.temperature, enc.ts(at), USER_ID,
               rng.randrange(10, 50) / 10, "", enc.ts(at + 5 * _HOUR), enc.ts(at + 90))  # fmt: skip


ORDER_COLUMNS = (
    "id", "placer_order_number", "requisition", "patient_id", "ordering_provider",
    "ordering_provider_id", "priority", "source", "status", "cancel_reason", "ordered_at",
    "created_at",
)  # fmt: skip
ORDERED_TEST_COLUMNS = (
    "id", "order_id", "test_code", "status", "specimen_id", "status_changed_at",
)  # fmt: skip


def order_rows(
    rng: random.Random,
    enc: Encoder,
    tests: Sequence[TestRef],
    owner: Sequence[int],
    n_patients: int,
) -> tuple[list[Row], list[Row]]:
    """One order per ten specimens, and its tests.

    Four in five are completed, with one acknowledged test carried by a specimen of the
    same patient; one in five is active, with two tests not yet collected.
    """
    count = len(owner) - 1
    orders: list[Row] = []
    ordered: list[Row] = []
    latest = _SPECIMENS_FROM + _SPECIMENS_SPAN
    for oid in range(1, count // SPECIMENS_PER_ORDER + 1):
        serial = (oid - 1) * SPECIMENS_PER_ORDER + 1 + rng.randrange(SPECIMENS_PER_ORDER)
        priority = Priority.STAT if rng.random() < BULK_STAT_SHARE else Priority.ROUTINE
        if oid % 5 == 0:
            patient = rng.randrange(n_patients) + 1
            at = latest - 60 * rng.randrange(60 * 24 * 14)
            status = OrderStatus.ACTIVE
            for _ in range(2):
                code = tests[rng.randrange(len(tests))].code
                ordered.append((len(ordered) + 1, oid, code, TestStatus.ORDERED.value, None, None))
        else:
            patient = owner[serial]
            at = collected_at(serial, count) - 2 * _HOUR
            status = OrderStatus.COMPLETED
            ordered.append((len(ordered) + 1, oid, test_of(serial, tests).code,
                            TestStatus.ACKNOWLEDGED.value, serial, enc.ts(at + _DAY)))  # fmt: skip
        orders.append((oid, bulk_placer_number(oid), bulk_requisition(oid), patient,
                       BULK_PROVIDER, None, priority.value, OrderSource.HL7.value, status.value,
                       "", enc.ts(at), enc.ts(at)))  # fmt: skip
    return orders, ordered
