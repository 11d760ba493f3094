"""A clinician acknowledging results (signed, with a meaning), and the drill-down of a test.

An acknowledgement is an electronic signature in the sense of 21 CFR 11.50: it records who
(shown with their printed name), when, and what it means (reviewed, patient notified,
action taken), plus a note. Several results are acknowledged at once only when every one
is a normal final result: an abnormal or critical value is always reviewed on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from labdesk.custody.stability import stability_caveat
from labdesk.domain import lifecycle
from labdesk.domain.audit import AuditAction
from labdesk.domain.clock import Clock
from labdesk.domain.errors import NotFound, ValidationError
from labdesk.domain.lifecycle import TestEvent
from labdesk.domain.order import OrderedTest, TestStatus
from labdesk.domain.overdue import OverduePolicy, posix
from labdesk.domain.permissions import Permission
from labdesk.domain.result import AbnormalFlag, AckMeaning, Acknowledgement, Result, ResultStatus
from labdesk.kernel.audit import audit_patient_access, record_audit
from labdesk.kernel.dto import SignedInUser, authorize
from labdesk.ports import UnitOfWork
from labdesk.results.ack_dto import AckRefusal, SigningLine, SigningPreview, SigningValue
from labdesk.results.board_dto import (
    AckOutcome,
    BoardRow,
    CustodyLine,
    EscalationLine,
    ResultLine,
    Signature,
    TestDetail,
)
from labdesk.results.overdue import evaluate_rows

NOTE_MAX = 400
MAX_BULK = 500
_CLOSED = frozenset({TestStatus.ACKNOWLEDGED, TestStatus.CANCELLED})


def current_results(results: Sequence[Result]) -> list[Result]:
    """Results still in force: not replaced by a correction, not retracted (W)."""
    replaced = {r.supersedes_id for r in results if r.supersedes_id is not None}
    return [r for r in results if r.id not in replaced and r.status is not ResultStatus.WRONG]


def is_abnormal(results: Sequence[Result]) -> bool:
    """True when any current result carries an abnormal or critical flag."""
    return any(
        r.abnormal_flag is not None and r.abnormal_flag is not AbnormalFlag.NORMAL
        for r in current_results(results)
    )


def refusal(status: TestStatus) -> AckRefusal | None:
    """Why a test in ``status`` cannot be acknowledged, or None when it can (or is closed).

    The one rule both :func:`signing_preview` (before the signature dialog opens) and
    :func:`acknowledge_results` (when signing) apply. Closed tests are not refused: they
    are skipped as already closed.
    """
    if status in _CLOSED or lifecycle.allows(status, TestEvent.ACKNOWLEDGED):
        return None
    return AckRefusal.NO_RESULT


def bulk_refusal(status: TestStatus, results: Sequence[Result]) -> AckRefusal | None:
    """Why a test cannot be signed together with others, or None when it can.

    Only a normal final result is signed in a group; ``results`` are the test's results
    (all of them: superseded and retracted ones are ignored here). Closed tests are not
    refused, as in :func:`refusal`.
    """
    alone = refusal(status)
    if alone is not None or status in _CLOSED:
        return alone
    if status is not TestStatus.FINAL or is_abnormal(results):
        return AckRefusal.NOT_NORMAL_FINAL
    return None


def acknowledge_results(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    ordered_test_ids: Sequence[int],
    meaning: AckMeaning,
    note: str = "",
    *,
    station: str = "",
) -> AckOutcome:
    """Sign off one result, or several normal final results at once (commits).

    Tests another clinician closed in the meantime are reported, not signed again.

    Raises:
        PermissionDenied: without ``ACKNOWLEDGE_RESULTS``.
        ValidationError: nothing selected, a note too long, a test without a result yet,
            or (when several are given) any that is not a normal final result.
        NotFound: an unknown ordered test.
    """
    authorize(actor, Permission.ACKNOWLEDGE_RESULTS)
    ids = list(dict.fromkeys(ordered_test_ids))
    note = note.strip()
    _check_request(ids, note)
    now = clock.now()
    done: list[int] = []
    closed: list[int] = []
    tests = {t.id: t for t in uow.board.lock_tests(ids)}
    missing = [i for i in ids if i not in tests]
    if missing:
        raise NotFound(
            f"No ordered test with id {missing[0]}.", hint="Reload the board and try again."
        )
    if len(ids) > 1:
        _check_bulk(uow, [tests[i] for i in ids if tests[i].status not in _CLOSED])
    for test_id in ids:
        test = tests[test_id]
        if test.status in _CLOSED:
            closed.append(test_id)
            continue
        if refusal(test.status) is not None:
            raise ValidationError(
                f"Test {test.test_code} has no result to acknowledge yet "
                f"(it is {test.status.value.replace('_', ' ')}).",
                hint="Acknowledge it once the lab has reported it.",
            )
        uow.results.add_acknowledgement(
            Acknowledgement(
                ordered_test_id=test_id,
                user_id=actor.id,
                meaning=meaning,
                acknowledged_at=now,
                note=note,
            )
        )
        # A reviewed preliminary result stays open: the final one still has to come.
        after = lifecycle.next_test_status(test.status, TestEvent.ACKNOWLEDGED)
        if after is not test.status:
            test.status = after
            test.status_changed_at = now
        record_audit(
            uow,
            clock,
            action=AuditAction.CREATE,
            entity="acknowledgement",
            entity_id=test_id,
            actor=actor,
            station=station,
            detail=f"meaning={meaning.value}; bulk={len(ids) > 1}",
        )
        done.append(test_id)
    uow.commit()
    return AckOutcome(
        acknowledged=done,
        already_closed=closed,
        signed_by=actor.display_name,
        signed_at=now,
        meaning=meaning,
    )


def _check_request(ids: list[int], note: str) -> None:
    if not ids:
        raise ValidationError("No result is selected.", hint="Select the results to acknowledge.")
    if len(ids) > MAX_BULK:
        raise ValidationError(
            f"{len(ids)} results selected; at most {MAX_BULK} are signed at once.",
            hint="Narrow the filter and sign them in smaller groups.",
        )
    if len(note) > NOTE_MAX:
        raise ValidationError(
            f"The note has {len(note)} characters; at most {NOTE_MAX} fit.",
            hint="Shorten the note.",
        )


def _check_bulk(uow: UnitOfWork, tests: Sequence[OrderedTest]) -> None:
    refused = [
        test.id
        for test in tests
        if test.id is None
        or bulk_refusal(test.status, uow.results.for_ordered_test(test.id)) is not None
    ]
    if refused:
        raise ValidationError(
            f"{len(refused)} of the selected results are abnormal, critical or not final; "
            "nothing was acknowledged.",
            hint="Only normal final results are signed together: open each of the others "
            "and acknowledge it on its own.",
        )


def signing_preview(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    ordered_test_ids: Sequence[int],
) -> SigningPreview:
    """What acknowledging these tests would sign: patient, test and current values of each.

    Asked before the signature dialog opens, so the clinician sees what they sign and a test
    that cannot be acknowledged is refused at once, not after signing. Applies the checks
    of :func:`acknowledge_results` (:func:`refusal`, and :func:`bulk_refusal` for several).
    Records that the actor saw these patients' results (commits).

    Raises:
        PermissionDenied: without ``ACKNOWLEDGE_RESULTS``.
        ValidationError: nothing selected, or more than ``MAX_BULK``.
        NotFound: an unknown ordered test.
    """
    authorize(actor, Permission.ACKNOWLEDGE_RESULTS)
    ids = list(dict.fromkeys(ordered_test_ids))
    _check_request(ids, "")
    preview = SigningPreview(to_sign=[], refused=[], already_closed=[])
    # Tuples in BOARD_COLUMNS order: one joined read of the tests and their patients.
    rows = {r[0]: r for r in uow.board.board_rows(tuple(TestStatus), None, ids)}
    missing = [i for i in ids if i not in rows]
    if missing:
        raise NotFound(
            f"No ordered test with id {missing[0]}.", hint="Reload the board and try again."
        )
    names: dict[str, str] = {}
    for test_id in ids:
        line = _signing_line(uow, rows[test_id], names, several=len(ids) > 1)
        if line.status in _CLOSED:
            preview.already_closed.append(line)
        elif line.refusal is not None:
            preview.refused.append(line)
        else:
            preview.to_sign.append(line)
    audit_patient_access(
        uow,
        clock,
        actor,
        AuditAction.VIEW,
        sorted({r[10] for r in rows.values()}),
        how="results sign-off",
    )
    uow.commit()
    return preview


def _signing_line(
    uow: UnitOfWork, row: tuple[Any, ...], names: dict[str, str], *, several: bool
) -> SigningLine:
    test_id: int = row[0]
    code: str = row[3]
    status = TestStatus(row[1])
    if code not in names:
        definition = uow.catalog.get_test(code)
        names[code] = definition.name if definition is not None else code
    results = uow.results.for_ordered_test(test_id)
    values = tuple(
        SigningValue(
            observation_name=r.observation_name,
            value=r.value,
            units=r.units,
            reference_range=r.reference_range,
            abnormal_flag=r.abnormal_flag,
            status=r.status,
        )
        for r in current_results(results)
    )
    return SigningLine(
        ordered_test_id=test_id,
        patient_id=row[10],
        patient_name=f"{row[12]}, {row[13]}",
        mrn=row[11],
        test_code=code,
        test_name=names[code],
        status=status,
        values=values,
        refusal=bulk_refusal(status, results) if several else refusal(status),
        caveat=_caveat(uow, test_id),
    )


def _caveat(uow: UnitOfWork, ordered_test_id: int) -> str | None:
    """The stability caveat of the test's specimen (None without one or before receipt)."""
    test = uow.board.ordered_test(ordered_test_id)
    if test is None or test.specimen_id is None:
        return None
    return stability_caveat(uow, test.specimen_id)


def _pending_note(uow: UnitOfWork, row: BoardRow) -> str:
    """Why a test still waiting for collection was not drawn ("" once collected)."""
    if row.status is not TestStatus.ORDERED:
        return ""
    found = uow.preparation.missed_note(row.ordered_test_id)
    if found is None:
        return ""
    reason, at, by = found
    return f"{reason} (at the chair, {by}, {at:%Y-%m-%d %H:%M} UTC)"


def result_detail(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    policy: OverduePolicy,
    ordered_test_id: int,
    *,
    station: str = "",
) -> TestDetail:
    """Everything about one ordered test: values, corrections, custody, signatures.

    Records the view in the audit log (commits).

    Raises:
        PermissionDenied: without ``VIEW_RESULTS``.
        NotFound: for an unknown ordered test.
    """
    authorize(actor, Permission.VIEW_RESULTS)
    rows = evaluate_rows(uow, policy, posix(clock.now()), test_ids=[ordered_test_id])
    if not rows:
        raise NotFound(f"No ordered test with id {ordered_test_id}.", hint="Reload the board.")
    results = uow.results.for_ordered_test(ordered_test_id)
    replaced = {r.supersedes_id for r in results if r.supersedes_id is not None}
    lines = [
        ResultLine(
            id=r.id or 0,
            observation_code=r.observation_code,
            observation_name=r.observation_name,
            value=r.value,
            units=r.units,
            reference_range=r.reference_range,
            abnormal_flag=r.abnormal_flag,
            status=r.status,
            observed_at=r.observed_at,
            received_at=r.received_at,
            supersedes_id=r.supersedes_id,
            superseded=r.id in replaced or r.status is ResultStatus.WRONG,
        )
        for r in results
    ]
    custody = _custody(uow, ordered_test_id)
    caveat = _caveat(uow, ordered_test_id)
    pending_note = _pending_note(uow, rows[0])
    signatures = [
        Signature(printed_name=name, signed_at=at, meaning=AckMeaning(meaning), note=note)
        for at, name, meaning, note in uow.board.acknowledgement_rows(ordered_test_id)
    ]
    escalations = uow.board.escalations_for(ordered_test_id)
    names = uow.board.user_names(e.to_user_id for e in escalations if e.to_user_id)
    escalation_lines = [
        EscalationLine(
            reason=e.reason,
            since_at=e.since_at,
            escalated_at=e.escalated_at,
            to_name=names.get(e.to_user_id or 0, ""),
        )
        for e in escalations
    ]
    record_audit(
        uow,
        clock,
        action=AuditAction.VIEW,
        entity="ordered_test",
        entity_id=ordered_test_id,
        actor=actor,
        station=station,
        detail="result detail",
    )
    uow.commit()
    return TestDetail(
        row=rows[0],
        results=lines,
        custody=custody,
        signatures=signatures,
        escalations=escalation_lines,
        caveat=caveat,
        pending_note=pending_note,
    )


def _custody(uow: UnitOfWork, ordered_test_id: int) -> list[CustodyLine]:
    test = uow.board.ordered_test(ordered_test_id)
    if test is None or test.specimen_id is None:
        return []
    events = uow.custody.for_specimen(test.specimen_id)
    names = uow.board.user_names(e.actor_id for e in events)
    return [
        CustodyLine(
            seq=e.seq,
            kind=e.kind.value,
            occurred_at=e.occurred_at,
            location=e.location,
            actor=names.get(e.actor_id, ""),
            reason=e.reason,
            note=e.note,
        )
        for e in events
    ]
