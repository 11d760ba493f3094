"""Regression tests for issue 11 item 4: HL7 matching no longer guesses or overrides lab facts.

(a) An accession that is sent decides the specimen: unknown, of another order or another
patient, or disagreeing with SPM-2, the group goes to the worklist; only a group that names
no specimen is matched by its placer order alone. (b) A result for a specimen the lab
rejected or lost is kept as a discrepancy (the board flags it) and the test keeps its
status; every status change the ingest makes goes through the state model, on the bulk and
the one-query-at-a-time lookups alike. (c) The worklist services behind the screen: match
a discrepancy (the result applies, audited) or dismiss it (the rejection stands); both
clear the board's flag.

Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from hl7_world import ACC_LAV, ACC_PST, PLACER, World, build_world, group, obx, order_message, oru
from sqlalchemy import Engine

from labdesk.custody.events import Handoff, record_event, report_lost
from labdesk.custody.receipt import reject_specimen
from labdesk.domain.accession import make_accession
from labdesk.domain.clock import FixedClock
from labdesk.domain.custody import CustodyEventKind
from labdesk.domain.errors import ValidationError
from labdesk.domain.hl7 import UnmatchedStatus
from labdesk.domain.lifecycle import IllegalTransition
from labdesk.domain.loss import LossReason
from labdesk.domain.order import Order, OrderedTest, OrderSource, Priority
from labdesk.domain.order import TestStatus as Status
from labdesk.domain.overdue import FlagReason, OverduePolicy
from labdesk.domain.patient import Patient, Sex
from labdesk.domain.people import Role
from labdesk.domain.recollection import RejectionReason
from labdesk.domain.specimen import Specimen, SpecimenStatus
from labdesk.hl7.prepare import prepare_message
from labdesk.interface.apply_results import Match, NoMatch, apply_group, match_group
from labdesk.interface.catalog_index import CatalogIndex
from labdesk.interface.lookup import Lookup
from labdesk.interface.worklist import (
    UnmatchedRow,
    dismiss_unmatched,
    list_unmatched,
    match_candidates,
    match_unmatched,
    match_unmatched_by_accession,
)
from labdesk.results.board import load_board
from labdesk.results.board_dto import BoardRow
from labdesk.results.board_query import BoardQuery

POLICY = OverduePolicy()
UNKNOWN = make_accession(2026, 99)  # well formed, check digit valid, never issued
MISREAD = UNKNOWN[:-1] + str((int(UNKNOWN[-1]) + 1) % 10)  # one digit off: fails the check
ACC_OTHER_PATIENT = make_accession(2026, 3)
ACC_OTHER_ORDER = make_accession(2026, 4)


@dataclass
class Extra:
    """Tests of the second patient and of a second order of the first patient."""

    other_patient_k: int
    other_order_k: int


@pytest.fixture
def world(engine: Engine, clock: FixedClock) -> World:
    return build_world(engine, clock)


@pytest.fixture
def extra(world: World) -> Extra:
    """Patient M0000002 with order PO300 (K on its own tube); order PO400 of M0000001."""
    now = world.clock.now()
    with world.uow() as uow:
        other = Patient(
            mrn="M0000002",
            family_name="Otherpatient",
            given_name="Beta",
            birth_date=now.date() - timedelta(days=40 * 365),
            sex=Sex.MALE,
            created_at=now,
        )
        uow.patients.add(other)
        uow.patients.flush()
        assert other.id is not None
        ids = [
            _order_with_k(uow, world, other.id, "PO300", ACC_OTHER_PATIENT),
            _order_with_k(uow, world, world.patient_id, "PO400", ACC_OTHER_ORDER),
        ]
        uow.commit()
    return Extra(*ids)


def _order_with_k(uow, world: World, patient_id: int, placer: str, accession: str) -> int:  # type: ignore[no-untyped-def]
    now = world.clock.now()
    order = Order(
        placer_order_number=placer,
        patient_id=patient_id,
        ordering_provider="Dr Test",
        priority=Priority.ROUTINE,
        source=OrderSource.MANUAL,
        ordered_at=now - timedelta(hours=3),
        created_at=now,
    )
    uow.orders.add(order)
    uow.orders.flush()
    site = uow.specimens.get(world.specimen_ids[ACC_PST]).site_id
    specimen = Specimen(
        accession=accession,
        patient_id=patient_id,
        container_code="PST",
        site_id=site,
        status=SpecimenStatus.RECEIVED,
        collected_at=now - timedelta(hours=2),
        collected_by_id=world.users[Role.MEDICAL_ASSISTANT].id,
        created_at=now,
    )
    uow.specimens.add(specimen)
    uow.specimens.flush()
    test = OrderedTest(
        order_id=order.id,
        test_code="K",
        status=Status.RECEIVED,
        specimen_id=specimen.id,
        status_changed_at=now,
    )
    uow.orders.add_test(test)
    uow.orders.flush()
    return int(test.id)


# ---------------------------------------------------------------- helpers


def _status(world: World, test_id: int) -> Status:
    with world.uow() as uow:
        ot = uow.hl7.ordered_test(test_id)
        assert ot is not None
        return ot.status


def _result_count(world: World, test_id: int) -> int:
    with world.uow() as uow:
        return len(uow.results.for_ordered_test(test_id))


def _open_rows(world: World) -> list[UnmatchedRow]:
    with world.uow() as uow:
        return list_unmatched(uow, world.clock, world.users[Role.CLINICIAN])


def _outcome(found: Match | NoMatch) -> tuple[object, ...]:
    if isinstance(found, Match):
        return ("match", found.ordered_test.id, found.specimen_id)
    return ("unmatched", found.reason, found.discrepancy_test_id)


def _match_both_ways(world: World, message: str) -> dict[str, tuple[object, ...]]:
    """``match_group`` on the ORM lookup and on the prefetched (bulk) one."""
    prepared = prepare_message(message, "test", ZoneInfo("UTC"))
    assert prepared.error is None
    assert prepared.patient is not None
    (only,) = prepared.groups
    outcomes = {}
    for path in ("orm", "bulk"):
        with world.uow() as uow:
            find = Lookup(uow) if path == "orm" else Lookup.prefetch(uow, [only])
            found = match_group(find, CatalogIndex.load(uow), prepared.patient, only)
            outcomes[path] = _outcome(found)
    return outcomes


def _walk(world: World, accession: str, *kinds: CustodyEventKind) -> None:
    """Give a tube its custody history from the draw (its tests start collected)."""
    with world.uow() as uow:
        specimen = uow.specimens.by_accession(accession)
        assert specimen is not None
        assert specimen.id is not None
        for test in uow.orders.tests_for_specimen(specimen.id):
            test.status = Status.COLLECTED
        for kind in (CustodyEventKind.COLLECTED, *kinds):
            record_event(
                uow,
                world.clock,
                specimen,
                kind,
                Handoff(actor_id=world.users[Role.MEDICAL_ASSISTANT].id, location="CLINIC"),
            )
        uow.commit()


_TO_THE_LAB = (CustodyEventKind.LABELLED, CustodyEventKind.VERIFIED, CustodyEventKind.PICKED_UP)


def _reject(world: World, accession: str) -> None:
    _walk(world, accession, *_TO_THE_LAB, CustodyEventKind.RECEIVED)
    with world.uow() as uow:
        reject_specimen(
            uow, world.clock, world.users[Role.ADMIN], accession, RejectionReason.HAEMOLYSED
        )


def _lose(world: World, accession: str) -> None:
    _walk(world, accession, *_TO_THE_LAB)
    with world.uow() as uow:
        report_lost(
            uow,
            world.clock,
            world.users[Role.ADMIN],
            accession,
            LossReason.NOT_IN_BAG,
            note="bag not delivered",
            location="Route 2",
        )


def _board_row(world: World, test_id: int) -> BoardRow:
    with world.uow() as uow:
        board = load_board(
            uow,
            world.clock,
            world.users[Role.CLINICIAN],
            POLICY,
            BoardQuery(include_closed=True),
            audit=False,
        )
    return next(r for r in board.rows if r.ordered_test_id == test_id)


def _reasons(row: BoardRow) -> list[FlagReason]:
    return [flag.reason for flag in row.flags]


# ---------------------------------------------------------------- (a) matching


@pytest.mark.parametrize(
    ("segments", "reason"),
    [
        (
            group("K", "F", obx("2823-3", "4.0"), filler=UNKNOWN),
            f"Specimen {UNKNOWN} (OBR-3) does not exist here; it was not matched through order "
            f"{PLACER} instead",
        ),
        (
            group("K", "F", obx("2823-3", "4.0"), spm=UNKNOWN),
            f"Specimen {UNKNOWN} (SPM-2) does not exist here",
        ),
        (
            group("K", "F", obx("2823-3", "4.0"), filler=MISREAD),
            f"OBR-3 '{MISREAD}' is not a LabDesk accession ID (it fails the check digit)",
        ),
        (
            group("K", "F", obx("2823-3", "4.0"), filler=ACC_OTHER_PATIENT),
            "The specimen and the order named belong to different patients.",
        ),
        (
            group("K", "F", obx("2823-3", "4.0"), filler=ACC_OTHER_PATIENT, placer=""),
            f"PID-3 MRN M0000001 is not the MRN of the patient specimen {ACC_OTHER_PATIENT}",
        ),
        (
            group("K", "F", obx("2823-3", "4.0"), filler=ACC_OTHER_ORDER),
            f"Specimen {ACC_OTHER_ORDER} carries no test of order {PLACER}",
        ),
        (
            group("K", "F", obx("2823-3", "4.0"), filler=ACC_PST, spm=ACC_LAV),
            f"OBR-3 names specimen {ACC_PST} but SPM-2 names {ACC_LAV}",
        ),
        (  # K is on the PST tube of the same order: it used to be applied there
            group("K", "F", obx("2823-3", "4.0"), filler=ACC_LAV),
            f"Test K was not ordered on specimen {ACC_LAV}.",
        ),
    ],
    ids=[
        "unknown-obr3-valid-placer",
        "unknown-spm2-valid-placer",
        "misread-accession",
        "other-patients-accession-and-placer",
        "other-patients-accession-alone",
        "accession-of-another-order",
        "obr3-and-spm2-disagree",
        "test-not-on-the-named-specimen",
    ],
)
def test_an_accession_sent_decides_and_is_never_bypassed_through_the_order(
    world: World, extra: Extra, segments: list[str], reason: str
) -> None:
    outcomes = _match_both_ways(world, oru("A1", segments))
    assert outcomes["orm"] == outcomes["bulk"]
    kind, text, discrepancy = outcomes["bulk"]
    assert kind == "unmatched"
    assert reason in str(text)
    assert discrepancy is None


def test_unknown_accession_with_a_valid_placer_goes_to_the_worklist(world: World) -> None:
    code, text = world.ingest(oru("A2", group("K", "F", obx("2823-3", "4.0"), filler=UNKNOWN)))
    assert (code, "unmatched" in text) == ("AA", True)
    [row] = _open_rows(world)
    assert f"Specimen {UNKNOWN} (OBR-3) does not exist here" in row.reason
    assert not row.is_discrepancy
    assert _result_count(world, world.tests["K"]) == 0
    assert _status(world, world.tests["K"]) is Status.RECEIVED


def test_another_patients_accession_goes_to_the_worklist(world: World, extra: Extra) -> None:
    world.ingest(oru("A3", group("K", "F", obx("2823-3", "4.0"), filler=ACC_OTHER_PATIENT)))
    [row] = _open_rows(world)
    assert "different patients" in row.reason
    assert _result_count(world, world.tests["K"]) == 0
    assert _result_count(world, extra.other_patient_k) == 0


@pytest.mark.parametrize(
    "segments",
    [
        group("K", "F", obx("2823-3", "4.0")),  # no accession at all: the order decides
        group("K", "F", obx("2823-3", "4.0"), filler="LAB-778", spm=ACC_PST),  # lab's own id
    ],
    ids=["placer-alone", "lab-filler-number-and-spm2"],
)
def test_without_an_accession_of_ours_the_placer_order_matches(
    world: World, segments: list[str]
) -> None:
    outcomes = _match_both_ways(world, oru("A4", segments))
    assert outcomes["orm"] == outcomes["bulk"]
    assert outcomes["bulk"] == ("match", world.tests["K"], world.specimen_ids[ACC_PST])


# ---------------------------------------------------------------- (b) lab facts stand


@pytest.mark.parametrize(
    ("fate", "status", "flag", "words"),
    [
        (_reject, Status.REJECTED, FlagReason.NO_RECOLLECTION, "the lab rejected (haemolysed)"),
        (_lose, Status.LOST, FlagReason.LOST, "was reported lost (not in the bag at receipt)"),
    ],
    ids=["rejected", "lost"],
)  # fmt: skip
def test_a_result_on_a_rejected_or_lost_specimen_is_kept_as_a_discrepancy(
    world: World,
    fate,
    status: Status,
    flag: FlagReason,
    words: str,  # type: ignore[no-untyped-def]
) -> None:
    fate(world, ACC_PST)
    k = world.tests["K"]
    assert _status(world, k) is status
    code, text = world.ingest(oru("B1", group("K", "F", obx("2823-3", "4.0"), filler=ACC_PST)))
    assert (code, "unmatched" in text) == ("AA", True)

    assert _status(world, k) is status  # the lab's fact stands
    assert _result_count(world, k) == 0
    [row] = _open_rows(world)
    assert row.discrepancy_test_id == k
    assert f"Result for specimen {ACC_PST}, which {words} at " in row.reason
    assert "stands until someone resolves this" in row.reason
    board = _board_row(world, k)
    assert board.status is status
    assert FlagReason.RESULT_DISCREPANCY in _reasons(board)
    world.clock.advance(timedelta(days=3))
    assert set(_reasons(_board_row(world, k))) >= {flag, FlagReason.RESULT_DISCREPANCY}


def test_the_bulk_and_orm_lookups_both_keep_a_discrepancy(world: World) -> None:
    _reject(world, ACC_PST)
    outcomes = _match_both_ways(world, oru("B2", group("K", "F", obx("2823-3", "4.0"))))
    assert outcomes["orm"] == outcomes["bulk"]
    kind, reason, discrepancy = outcomes["bulk"]
    assert (kind, discrepancy) == ("unmatched", world.tests["K"])
    assert "rejected (haemolysed)" in str(reason)


@pytest.mark.parametrize("path", ["orm", "bulk"])
def test_applying_a_result_moves_the_test_only_as_the_state_model_allows(
    world: World, path: str
) -> None:
    """Even applied directly (no matching), a rejected test refuses a result, on both paths."""
    _reject(world, ACC_PST)
    prepared = prepare_message(
        oru("B3", group("K", "F", obx("2823-3", "4.0"), filler=ACC_PST)), "t", ZoneInfo("UTC")
    )
    (only,) = prepared.groups
    with world.uow() as uow:
        find = Lookup(uow) if path == "orm" else Lookup.prefetch(uow, [only])
        [test] = find.tests_for_specimen(world.specimen_ids[ACC_PST])
        with pytest.raises(IllegalTransition, match="rejected cannot be given a final result"):
            apply_group(
                uow,
                CatalogIndex.load(uow),
                Match(test, test.specimen_id),
                only,
                control_id="B3",
                now=world.clock.now(),
                find=find,
            )
    assert _status(world, world.tests["K"]) is Status.REJECTED


@pytest.mark.parametrize("path", ["orm", "bulk"])
def test_both_lookups_give_the_same_statuses_and_discrepancy(world: World, path: str) -> None:
    """A group with an order message reads one query at a time (ORM); ORU only, in bulk."""
    _reject(world, ACC_PST)
    frames = [
        oru("C1", group("HGB", "P", obx("718-7", "13.0", status="P"), filler=ACC_LAV)),
        oru("C2", group("HGB", "F", obx("718-7", "13.1"), filler=ACC_LAV)),
        oru("C3", group("CBC", "X", filler=ACC_LAV, nte="clotted")),
        oru("C4", group("K", "F", obx("2823-3", "4.0"), filler=ACC_PST)),
    ]
    if path == "orm":
        frames.insert(0, order_message("C0", ("NW", "PO200", "K")))
    replies = world.ingestor.handle_frames([(f, "t") for f in frames])
    assert {o.ack_code.value for r in replies for o in r.outcomes} == {"AA"}
    statuses = {code: _status(world, world.tests[code]) for code in ("K", "HGB", "CBC")}
    assert statuses == {"K": Status.REJECTED, "HGB": Status.FINAL, "CBC": Status.NOT_PERFORMED}
    [row] = _open_rows(world)
    assert row.discrepancy_test_id == world.tests["K"]


# ---------------------------------------------------------------- (c) worklist services


def test_dismissing_a_discrepancy_keeps_the_rejection_and_clears_the_flag(world: World) -> None:
    _reject(world, ACC_PST)
    world.ingest(oru("D1", group("K", "F", obx("2823-3", "4.0"), filler=ACC_PST)))
    [row] = _open_rows(world)
    doctor = world.users[Role.CLINICIAN]
    with world.uow() as uow, pytest.raises(ValidationError):
        dismiss_unmatched(uow, world.clock, doctor, row.id, "  ")
    with world.uow() as uow:
        dismiss_unmatched(uow, world.clock, doctor, row.id, "lab confirmed the haemolysis")

    k = world.tests["K"]
    assert _open_rows(world) == []
    assert _status(world, k) is Status.REJECTED
    assert _result_count(world, k) == 0
    board = _board_row(world, k)
    assert board.status is Status.REJECTED
    assert FlagReason.RESULT_DISCREPANCY not in _reasons(board)
    with world.uow() as uow:
        item = uow.hl7.unmatched(row.id)
        assert item is not None
        assert item.status is UnmatchedStatus.DISMISSED
        assert "lab confirmed the haemolysis" in item.reason
        [entry] = [e for e in uow.audit.all_in_order() if e.entity == "unmatched_result"]
        assert "keeps the lab's rejection" in entry.detail


def test_matching_a_discrepancy_applies_the_result_by_a_persons_decision(world: World) -> None:
    _reject(world, ACC_PST)
    world.ingest(oru("D2", group("K", "F", obx("2823-3", "4.0"), filler=ACC_PST)))
    [row] = _open_rows(world)
    doctor = world.users[Role.CLINICIAN]
    k = world.tests["K"]
    with world.uow() as uow:
        candidates = match_candidates(uow, world.clock, doctor, row.id)
    assert candidates[0].ordered_test_id == k
    assert (candidates[0].named, candidates[0].status) == (True, Status.REJECTED)
    assert {c.test_code for c in candidates} == {"K", "HGB", "CBC"}

    with world.uow() as uow:
        added = match_unmatched(uow, world.clock, doctor, row.id, k, timezone="UTC")
    assert added == 1
    assert _status(world, k) is Status.FINAL
    assert _result_count(world, k) == 1
    assert FlagReason.RESULT_DISCREPANCY not in _reasons(_board_row(world, k))
    with world.uow() as uow:
        entries = [e for e in uow.audit.all_in_order() if e.entity == "unmatched_result"]
        assert "which was rejected: result accepted" in entries[-1].detail


def test_matching_by_accession_and_test_code(world: World) -> None:
    world.ingest(oru("D3", group("K", "F", obx("2823-3", "4.0"), filler=UNKNOWN)))
    [row] = _open_rows(world)
    doctor = world.users[Role.CLINICIAN]
    with world.uow() as uow, pytest.raises(ValidationError, match="not in the catalog"):
        match_unmatched_by_accession(uow, world.clock, doctor, row.id, ACC_PST, "NOPE")
    with world.uow() as uow:
        added = match_unmatched_by_accession(
            uow, world.clock, doctor, row.id, ACC_PST, "k", timezone="UTC"
        )
    assert added == 1
    assert _status(world, world.tests["K"]) is Status.FINAL
    assert _open_rows(world) == []


def test_a_cancelled_test_is_matched_by_hand_through_the_state_model(world: World) -> None:
    cancel = order_message(
        "E1", ("CA", PLACER, ""), mrn="M0000001", name="Testpatient^Alpha", dob="19800102"
    )
    assert world.ingest(cancel)[0] == "AA"
    world.ingest(oru("E2", group("K", "F", obx("2823-3", "4.0"), filler=ACC_PST)))
    [row] = _open_rows(world)
    assert not row.is_discrepancy
    with world.uow() as uow:
        match_unmatched_by_accession(
            uow, world.clock, world.users[Role.CLINICIAN], row.id, ACC_PST, "K", timezone="UTC"
        )
    assert _status(world, world.tests["K"]) is Status.FINAL
