"""Reprints: a reason, the REPRINT mark with its count, an audit entry, the original content."""

from __future__ import annotations

import pytest
from fakes_printer import FakeZebra
from print_commands import print_labels, reprint
from spool_world import World, build_world, decode_png, make_setup
from sqlalchemy import Engine

from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.domain.audit import AuditAction
from labdesk.domain.clock import FixedClock
from labdesk.domain.errors import PermissionDenied, ValidationError
from labdesk.domain.label_snapshot import LabelSnapshot
from labdesk.domain.people import Role
from labdesk.domain.printing import PrintJobStatus

pytestmark = pytest.mark.integration


@pytest.fixture
def uows(engine: Engine) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(engine)


@pytest.fixture
def world(uows: UnitOfWorkFactory, clock: FixedClock) -> World:
    return build_world(uows, clock, containers=("SST",))


def _payload(uows: UnitOfWorkFactory, job_id: int) -> str:
    with uows() as uow:
        job = uow.print_queue.get(job_id)
        assert job is not None
        return job.payload.decode()


def test_reprint_reproduces_the_original_after_the_patient_was_renamed(
    uows: UnitOfWorkFactory, clock: FixedClock, world: World, fake_zebra: FakeZebra
) -> None:
    setup = make_setup()
    (original,) = print_labels(
        uows, clock, world.ma, setup, world.accessions, printer_uri=fake_zebra.uri
    )
    with uows() as uow:  # the name is corrected after the label printed
        patient = uow.patients.get(world.patient_id)
        assert patient is not None
        patient.family_name = "Renamed"
        uow.commit()

    first = reprint(
        uows, clock, world.ma, setup, original.id, "label smudged", printer_uri=fake_zebra.uri
    )
    second = reprint(
        uows, clock, world.ma, setup, first.id, "  tube   relabelled ", printer_uri=fake_zebra.uri
    )

    assert first.status is second.status is PrintJobStatus.DONE
    assert first.reprint_of_id == second.reprint_of_id == original.id
    assert second.reprint_reason == "tube relabelled"
    for row, count in ((first, 1), (second, 2)):
        payload = _payload(uows, row.id)
        assert "O'BRIEN, Siobhán" in payload
        assert "RENAMED" not in payload
        assert f"^FDREPRINT {count}^FS" in payload
        assert decode_png(row.preview_png) == world.accessions
        with uows() as uow:
            job = uow.print_queue.get(row.id)
            assert job is not None
            (label,) = LabelSnapshot.from_json(job.content_json).labels
        assert (label.family_name, label.reprint_count) == ("O'Brien", count)
    assert "REPRINT" not in _payload(uows, original.id)
    assert len(fake_zebra.wait_for_jobs(3)) == 3
    with uows() as uow:
        entries = [
            (e.detail, e.user_id) for e in uow.audit.all_in_order() if e.action is AuditAction.PRINT
        ]
    assert [detail for detail, _ in entries][-2:] == [
        f"reprint 1 of label job {original.id} as job {first.id}; reason: label smudged",
        f"reprint 2 of label job {original.id} as job {second.id}; reason: tube relabelled",
    ]
    assert {user_id for _, user_id in entries} == {world.ma.id}
    assert "O'Brien" not in " ".join(detail for detail, _ in entries)


@pytest.mark.parametrize("reason", ["", "   ", "x"], ids=["empty", "blank", "too-short"])
def test_reprint_needs_a_reason(
    uows: UnitOfWorkFactory,
    clock: FixedClock,
    world: World,
    fake_zebra: FakeZebra,
    reason: str,
) -> None:
    setup = make_setup()
    (original,) = print_labels(
        uows, clock, world.ma, setup, world.accessions, printer_uri=fake_zebra.uri
    )
    with pytest.raises(ValidationError, match="needs a reason"):
        reprint(uows, clock, world.ma, setup, original.id, reason, printer_uri=fake_zebra.uri)
    with uows() as uow:
        assert uow.print_queue.reprints_of(original.id) == 0


def test_a_job_still_waiting_for_the_printer_cannot_be_reprinted(
    uows: UnitOfWorkFactory, clock: FixedClock, world: World, closed_port: int
) -> None:
    uri = f"tcp://127.0.0.1:{closed_port}"
    (queued,) = print_labels(uows, clock, world.ma, make_setup(), world.accessions, printer_uri=uri)
    with pytest.raises(ValidationError, match="has not printed yet"):
        reprint(uows, clock, world.ma, make_setup(), queued.id, "lost", printer_uri=uri)


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.MEDICAL_ASSISTANT, True),
        (Role.ADMIN, True),
        (Role.LAB_RECEIVER, False),
        (Role.COURIER, False),
        (Role.CLINICIAN, False),
    ],
)
def test_reprint_permission_follows_the_matrix(
    uows: UnitOfWorkFactory,
    clock: FixedClock,
    world: World,
    fake_zebra: FakeZebra,
    role: Role,
    allowed: bool,
) -> None:
    setup = make_setup()
    (original,) = print_labels(
        uows, clock, world.ma, setup, world.accessions, printer_uri=fake_zebra.uri
    )
    actor = world.users[role]
    if allowed:
        assert reprint(
            uows, clock, actor, setup, original.id, "damaged", printer_uri=fake_zebra.uri
        ).printed
    else:
        with pytest.raises(PermissionDenied):
            reprint(uows, clock, actor, setup, original.id, "damaged", printer_uri=fake_zebra.uri)
