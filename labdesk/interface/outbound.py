"""The outbound queue: collection details for the lab, persisted, sent, retried with back-off.

Queueing (:func:`queue_collection_message`) happens inside the caller's transaction, so a
collection and the message announcing it are committed together or not at all (an outbox).
:func:`send_due_messages` delivers due messages over MLLP and records each answer: AA/CA is
delivered, AR/CR is refused for good (a person must look), anything else - AE, no answer,
garbage, a refused connection - is tried again later, keeping the same MSH-10 so the lab
can recognise a repeat.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from labdesk.domain.audit import AuditAction
from labdesk.domain.clock import Clock
from labdesk.domain.errors import NotFound, TransportError, ValidationError
from labdesk.domain.hl7 import OutboundMessage, OutboundStatus
from labdesk.domain.retry import RetryPolicy
from labdesk.domain.specimen import Specimen
from labdesk.hl7.outbound_build import (
    MESSAGE_TYPES,
    OML_O21,
    CollectionSnapshot,
    OrderedTestInfo,
    PatientInfo,
    SpecimenInfo,
    build_collection_message,
)
from labdesk.hl7.parse import Hl7Error, get, parse_message, segment_id
from labdesk.interface.order_notes import specimen_notes, with_notes
from labdesk.interface.preparation_aoe import with_preparation
from labdesk.interface.timed_notes import timed_draw_notes
from labdesk.kernel.audit import record_audit
from labdesk.ports import UnitOfWork, UowFactory

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 20
HL7_RETRY = RetryPolicy(
    base=timedelta(seconds=30), cap=timedelta(minutes=30), max_attempts=MAX_ATTEMPTS
)
"""The lab's interface: 30 s doubling, at most 30 minutes; failed for good after 20 attempts."""
BACKOFF_START = HL7_RETRY.base
BACKOFF_MAX = HL7_RETRY.cap
SEND_LEASE = timedelta(minutes=5)


class MessageTransport(Protocol):
    """Delivers one message and returns the peer's acknowledgement text."""

    def send(self, payload: str) -> str:
        """Send and wait for the answer; raise TransportError on failure."""
        ...


def queue_collection_message(
    uow: UnitOfWork,
    clock: Clock,
    specimen_ids: Sequence[int],
    *,
    message_type: str = OML_O21,
    user_id: int | None = None,
    force: bool = False,
    only_tests: Sequence[int] = (),
    note: str = "",
) -> int:
    """Queue the collection details of ``specimen_ids`` for the lab; returns the queue id.

    Call it inside the unit of work that records the collection, before ``commit()``: the
    message is committed with the collection (the caller commits). One message carries one
    patient's specimens, one ORC/OBR per ordered test with the SPM of its specimen.
    Calling it again for the same specimens returns the message already queued (or sent)
    unless ``force`` is true (for instance after a relabel).

    Args:
        uow: The caller's open unit of work.
        clock: Source of the message time.
        specimen_ids: Specimens just collected (one patient).
        message_type: ``OML^O21`` (default, with SPM) or ``ORM^O01``.
        user_id: Who collected, for the audit log.
        force: Queue a new message even if one exists for these specimens.
        only_tests: Send only these ordered tests (an add-on: the test joining a specimen
            already announced); the message is keyed by the tests too.
        note: An NTE after each test's OBR (why this message: an add-on); a recollection's
            note naming the original is added by itself (:mod:`labdesk.interface.order_notes`).

    Raises:
        NotFound: for an unknown specimen id.
        ValidationError: for no specimens, specimens of several patients, a specimen that
            carries no ordered test, or an unsupported message type.
    """
    if message_type not in MESSAGE_TYPES:
        raise ValidationError(
            f"Outbound message type {message_type} is not supported.",
            hint=f"Use one of {', '.join(MESSAGE_TYPES)}.",
        )
    specimens = [_specimen(uow, sid) for sid in dict.fromkeys(specimen_ids)]
    if not specimens:
        raise ValidationError("No specimen was given to send to the lab.")
    if len({s.patient_id for s in specimens}) > 1:
        raise ValidationError(
            "The specimens belong to several patients.",
            hint="Queue one message per patient.",
        )
    key = ",".join(sorted(s.accession for s in specimens))
    if only_tests:
        key += "+" + ",".join(str(t) for t in sorted(only_tests))
    key = key[:400]
    existing = uow.hl7.outbound_for_specimens(key)
    if existing is not None and not force:
        assert existing.id is not None
        return existing.id
    now = clock.now()
    control_id = f"LDO{uow.counters.next_value('hl7-outbound'):09d}"
    snapshot = _snapshot(uow, specimens, control_id, now, only_tests)
    notes = specimen_notes(uow, specimens)
    for accession, timed in timed_draw_notes(uow, specimens).items():
        notes.setdefault(accession, []).extend(timed)
    if note:
        for specimen in specimens:
            notes.setdefault(specimen.accession, []).append(note)
    message = OutboundMessage(
        control_id=control_id,
        message_type=message_type,
        specimen_key=key,
        payload=with_preparation(
            uow,
            with_notes(build_collection_message(snapshot, message_type), snapshot, notes),
            snapshot,
            specimens,
        ),
        status=OutboundStatus.PENDING,
        created_at=now,
        next_attempt_at=now,
    )
    uow.hl7.add_outbound(message)
    uow.hl7.flush()
    assert message.id is not None
    record_audit(
        uow,
        clock,
        action=AuditAction.EXPORT,
        entity="outbound_message",
        entity_id=message.id,
        user_id=user_id,
        station="hl7",
        detail=f"{message_type} queued for specimens {key}"[:400],
    )
    return message.id


def _specimen(uow: UnitOfWork, specimen_id: int) -> Specimen:
    specimen = uow.specimens.get(specimen_id)
    if specimen is None:
        raise NotFound(f"Specimen {specimen_id} does not exist.")
    return specimen


def _snapshot(
    uow: UnitOfWork,
    specimens: list[Specimen],
    control_id: str,
    now: datetime,
    only_tests: Sequence[int] = (),
) -> CollectionSnapshot:
    patient = uow.patients.get(specimens[0].patient_id)
    assert patient is not None
    tests: list[OrderedTestInfo] = []
    for specimen in specimens:
        container = uow.catalog.get_container(specimen.container_code)
        collector = uow.people.user(specimen.collected_by_id)
        assert specimen.id is not None
        carried = uow.orders.tests_for_specimen(specimen.id)
        if only_tests:
            carried = [t for t in carried if t.id in only_tests]
        if not carried:
            raise ValidationError(
                f"Specimen {specimen.accession} carries no ordered test.",
                hint="Link the specimen to its tests before sending it to the lab.",
            )
        info = SpecimenInfo(
            accession=specimen.accession,
            specimen_type="",
            container_code=specimen.container_code,
            container_name=container.name if container else specimen.container_code,
            collected_at=specimen.collected_at,
            collector_id=specimen.collected_by_id,
            collector_name=collector.display_name if collector else "",
            volume_ml=specimen.volume_ml,
        )
        for ot in carried:
            order = uow.orders.get(ot.order_id)
            definition = uow.catalog.get_test(ot.test_code)
            assert order is not None
            assert definition is not None
            tests.append(
                OrderedTestInfo(
                    placer_order_number=order.placer_order_number,
                    requisition=order.requisition,
                    priority=order.priority,
                    ordering_provider=order.ordering_provider,
                    ordered_at=order.ordered_at,
                    code=definition.code,
                    loinc=definition.loinc,
                    name=definition.name,
                    specimen=replace(info, specimen_type=definition.specimen_type),
                )
            )
    return CollectionSnapshot(
        control_id=control_id,
        created_at=now,
        sending_facility="CLINIC",
        patient=PatientInfo(
            patient.mrn,
            patient.family_name,
            patient.given_name,
            patient.birth_date,
            patient.sex.value,
        ),
        tests=tuple(tests),
    )


# ---------------------------------------------------------------- sending


@dataclass(frozen=True)
class SendReport:
    """What one pass over the queue did."""

    sent: int = 0
    rejected: int = 0
    retrying: int = 0
    failed: int = 0
    problems: tuple[str, ...] = ()


def backoff(attempts: int) -> timedelta:
    """Wait before the next try after ``attempts`` failed ones: 30 s doubling, at most 30 min."""
    return HL7_RETRY.delay(attempts)


def send_due_messages(
    uow_factory: UowFactory,
    clock: Clock,
    transport: MessageTransport,
    *,
    limit: int = 100,
    max_attempts: int = MAX_ATTEMPTS,
) -> SendReport:
    """Send every due queued message once and record the answers (each in its own commit)."""
    with uow_factory() as uow:
        due = list(uow.hl7.due_outbound(clock.now(), limit))
    counts = {"sent": 0, "rejected": 0, "retrying": 0, "failed": 0}
    problems: list[str] = []
    for outbound_id in due:
        with uow_factory() as uow:
            now = clock.now()
            if not uow.hl7.claim_outbound(outbound_id, now, now + SEND_LEASE):
                continue  # another sender has it
            uow.commit()
            message = uow.hl7.outbound(outbound_id)
            assert message is not None
            payload, control_id = message.payload, message.control_id
        try:
            code, text = _answer(transport.send(payload), control_id)
        except TransportError as exc:
            code, text = "", exc.message
        with uow_factory() as uow:
            message = uow.hl7.outbound(outbound_id)
            assert message is not None
            outcome = _record(message, code, text, clock.now(), max_attempts)
            uow.commit()
        counts[outcome] += 1
        if outcome != "sent":
            problems.append(f"{control_id}: {text}")
            logger.warning("outbound HL7 %s: %s (%s)", control_id, outcome, text)
    return SendReport(**counts, problems=tuple(problems))


def _answer(reply: str, control_id: str) -> tuple[str, str]:
    """(MSA-1, MSA-3) of the lab's answer; ("", why) when it is not an answer to us."""
    try:
        message = parse_message(reply)
    except Hl7Error as exc:
        return "", f"unreadable acknowledgement: {exc.reason}"
    msa = next((s for s in message if segment_id(s) == "MSA"), None)
    if msa is None:
        return "", "acknowledgement without MSA segment"
    if get(msa, 2).strip() != control_id:
        return "", f"acknowledgement for another message ({get(msa, 2)[:64]})"
    return get(msa, 1).strip().upper(), get(msa, 3).strip() or get(msa, 1).strip()


def _record(
    message: OutboundMessage, code: str, text: str, now: datetime, max_attempts: int
) -> str:
    message.attempts += 1
    message.ack_code = code[:2]
    if code in {"AA", "CA"}:
        message.status = OutboundStatus.SENT
        message.sent_at = now
        message.last_error = ""
        return "sent"
    message.last_error = text[:400] or f"answered {code}"
    if code in {"AR", "CR"}:
        message.status = OutboundStatus.REJECTED
        return "rejected"
    if message.attempts >= max_attempts:
        message.status = OutboundStatus.FAILED
        return "failed"
    message.next_attempt_at = HL7_RETRY.next_attempt_at(message.attempts, now)
    return "retrying"
