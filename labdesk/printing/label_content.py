"""Label content from the database: what one specimen's label says.

Collection time is printed in the time zone of the site where the specimen was collected
(the clinic's zone), in 24-hour ``YYYY-MM-DD HH:MM``; the date of birth as ``YYYY-MM-DD``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime

from labdesk.domain.accession import make_accession, validate_accession
from labdesk.domain.errors import LabdeskError, NotFound
from labdesk.domain.order import OrderedTest, Priority, TestStatus
from labdesk.domain.printing import LabelContent
from labdesk.domain.specimen import Specimen
from labdesk.domain.timefmt import format_local
from labdesk.ports import UnitOfWork

TEST_ACCESSION = make_accession(2000, 1)
"""Accession of the test label: valid (it scans and passes the check digit) but from the
year 2000, before any LabDesk specimen, so it can never be mistaken for a real one."""


def find_specimen(uow: UnitOfWork, accession: str) -> Specimen:
    """The specimen with a scanned or typed accession ID.

    Raises:
        InvalidAccession: for a malformed ID or a failed check digit.
        NotFound: when no specimen has this ID.
    """
    accession = validate_accession(accession)
    specimen = uow.specimens.by_accession(accession)
    if specimen is None:
        raise NotFound(
            f"No specimen has accession ID {accession}.",
            hint="Check the number on the tube or the order; the specimen must be collected "
            "in LabDesk before its label can print.",
        )
    return specimen


def find_specimens(uow: UnitOfWork, accessions: Sequence[str]) -> list[Specimen]:
    """The specimens with these accession IDs, in order, all checked before any is used.

    Raises:
        InvalidAccession: for a malformed ID or a failed check digit.
        NotFound: for the first ID no specimen has.
    """
    wanted = [validate_accession(accession) for accession in accessions]
    found = uow.print_queue.specimens(wanted)
    for accession in wanted:
        if accession not in found:
            find_specimen(uow, accession)  # raises NotFound with the message users see
    return [found[accession] for accession in wanted]


@dataclasses.dataclass(frozen=True)
class SpecimenMarks:
    """What marks the tests on a label: timed-draw time points and add-on test codes."""

    time_points: Mapping[int, tuple[str, ...]]
    """Per specimen id, in step order (specimens without any are left out)."""
    added_on: Mapping[int, frozenset[str]]
    """Per specimen id, the test codes added on after the draw."""


def specimen_marks(uow: UnitOfWork, specimen_ids: Sequence[int]) -> SpecimenMarks:
    """The marks of several specimens' labels: two queries, whatever their number."""
    points: dict[int, dict[str, None]] = {}
    for draw in uow.timed_draws.for_specimens(specimen_ids):
        if draw.specimen_id is not None:
            points.setdefault(draw.specimen_id, {})[draw.time_point] = None
    added = uow.add_ons.added_on(list(specimen_ids))
    return SpecimenMarks(
        time_points={i: tuple(p) for i, p in points.items()},
        added_on={i: frozenset(r.test_code for r in rows) for i, rows in added.items()},
    )


def label_content(
    uow: UnitOfWork,
    specimen: Specimen,
    tests: Sequence[OrderedTest] | None = None,
    marks: SpecimenMarks | None = None,
) -> LabelContent:
    """Everything printed on ``specimen``'s label, read from the database now.

    ``tests`` are the ordered tests it carries, and ``marks`` those of a batch of labels
    (:func:`specimen_marks`), when the caller already has them.

    Raises:
        LabdeskError: if the specimen's patient, container or site is missing (a broken
            database, not user error).
    """
    assert specimen.id is not None
    patient = uow.patients.get(specimen.patient_id)
    container = uow.catalog.get_container(specimen.container_code)
    site = uow.people.site(specimen.site_id)
    if patient is None or container is None or site is None:
        raise LabdeskError(
            f"Specimen {specimen.accession} refers to a missing patient, container or site.",
            hint="Report this to the administrator; the database is inconsistent.",
        )
    carried = uow.orders.tests_for_specimen(specimen.id) if tests is None else tests
    tests = [t for t in carried if t.status != TestStatus.CANCELLED]
    tests.sort(key=lambda t: t.id or 0)
    specimen_types: list[str] = []
    stat = False
    for order_id in dict.fromkeys(t.order_id for t in tests):
        order = uow.orders.get(order_id)
        stat = stat or (order is not None and order.priority is Priority.STAT)
    for test in tests:
        definition = uow.catalog.get_test(test.test_code)
        if definition is not None and definition.specimen_type not in specimen_types:
            specimen_types.append(definition.specimen_type)
    collector = uow.people.user(specimen.collected_by_id)
    if marks is None:
        marks = specimen_marks(uow, [specimen.id])
    return LabelContent(
        accession=specimen.accession,
        family_name=patient.family_name,
        given_name=patient.given_name,
        birth_date=patient.birth_date.isoformat(),
        mrn=patient.mrn,
        collected_at=format_local(specimen.collected_at, site.timezone),
        collector_initials=collector.initials if collector is not None else "",
        container=f"{container.code} {container.nominal_volume_ml:g} mL",
        cap_colour=container.cap_colour,
        tests=marks.time_points.get(specimen.id, ())
        + _marked_add_ons(
            marks.added_on.get(specimen.id, frozenset()),
            tuple(dict.fromkeys(t.test_code for t in tests)),
        ),
        specimen_type="/".join(specimen_types) or container.category.value,
        stat=stat,
    )


def _marked_add_ons(added: frozenset[str], codes: tuple[str, ...]) -> tuple[str, ...]:
    """The label's tests, those added on after the draw first and marked ``ADD-ON``."""
    if not added.intersection(codes):
        return codes
    return tuple(f"ADD-ON {c}" for c in codes if c in added) + tuple(
        c for c in codes if c not in added
    )


def with_aliquots(content: LabelContent, count: int) -> list[LabelContent]:
    """The primary label and ``count - 1`` aliquot labels marked ``ALQ 1``, ``ALQ 2``…"""
    return [content] + [
        dataclasses.replace(content, aliquot=str(number)) for number in range(1, count)
    ]


def printer_test_content(now: datetime, timezone: str) -> LabelContent:
    """A label that exercises every field and scans, but names no patient."""
    return LabelContent(
        accession=TEST_ACCESSION,
        family_name="TEST LABEL",
        given_name="not a specimen",
        birth_date="0000-00-00",
        mrn="TEST",
        collected_at=format_local(now, timezone),
        collector_initials="--",
        container="TEST",
        cap_colour="no tube",
        tests=("PRINTER", "TEST"),
        specimen_type="none",
    )
