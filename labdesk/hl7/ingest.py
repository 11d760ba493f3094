"""Store, then acknowledge: every received frame is committed before its answer is built.

:class:`Ingestor` is what the MLLP listener and ``labdesk hl7 import`` both call. For each
message it checks the header (AR when LabDesk cannot take the message at all), skips a
repeated MSH-10 from the same sender (AA, noted as a duplicate), applies the message and
commits the raw text with the changes in one transaction (AA). A content error rolls the
changes back and commits the raw text alone as a dead letter (AE). Only when even that
cannot be stored (database down) is the answer an AE without a stored row: the sender keeps
the message and sends it again, so nothing is lost.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from labdesk.domain.audit import AuditAction
from labdesk.domain.clock import Clock
from labdesk.domain.errors import LabdeskError
from labdesk.domain.hl7 import AckCode, InboundMessage, MessageStatus
from labdesk.hl7.ack import build_ack, build_batch_ack
from labdesk.hl7.apply_orders import apply_orders
from labdesk.hl7.apply_results import Match, apply_group, match_group, unmatched_row
from labdesk.hl7.catalog_index import CatalogIndex
from labdesk.hl7.order_semantics import read_order_lines
from labdesk.hl7.parse import (
    INTERNAL_ERROR,
    Header,
    Hl7Error,
    check_header,
    decode,
    parse_message,
    read_header,
    split_frame,
)
from labdesk.hl7.semantics import read_groups
from labdesk.hl7.values import parse_dtm, read_patient
from labdesk.ports import UnitOfWork, UowFactory
from labdesk.services.audit import record_audit

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What happened to one message."""

    control_id: str
    message_id: int | None
    """Row in ``hl7_messages``; None only when the database could not store it."""
    status: MessageStatus | None
    ack_code: AckCode
    text: str
    results: int = 0
    unmatched: int = 0


@dataclass(frozen=True)
class FrameReply:
    """The outcomes of one frame (several for a batch) and the acknowledgement to send."""

    outcomes: tuple[Outcome, ...]
    ack: str


@dataclass(frozen=True)
class _Applied:
    text: str
    results: int = 0
    unmatched: int = 0


class Ingestor:
    """Applies received HL7 under the store-then-acknowledge rule (thread-safe per call).

    Args:
        uow_factory: Opens a unit of work per message.
        clock: Source of ``received_at`` and ACK timestamps.
        timezone: Zone of HL7 timestamps that carry no offset (the clinic's).
        catalog_ttl_s: How long the catalog lookup is reused before it is read again.
    """

    def __init__(
        self,
        uow_factory: UowFactory,
        clock: Clock,
        *,
        timezone: str = "America/New_York",
        catalog_ttl_s: float = 60.0,
    ) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._zone = ZoneInfo(timezone)
        self._ttl = catalog_ttl_s
        self._catalog: CatalogIndex | None = None
        self._catalog_at = 0.0

    # ------------------------------------------------------------ frames

    def handle_frame(self, data: bytes | str, source: str) -> FrameReply:
        """Apply one MLLP frame or file chunk: a message or an FHS/BHS batch."""
        text = storable(decode(data) if isinstance(data, bytes) else data)
        try:
            messages = split_frame(text)
        except Hl7Error as exc:
            try:
                outcome, ack = self._refuse(text, source, None, exc)
            except LabdeskError as failure:
                return self._unstored(None, failure)
            return FrameReply((outcome,), ack)
        if len(messages) == 1:
            outcome, ack = self.handle_message(messages[0], source, raw=text)
            return FrameReply((outcome,), ack)
        replies = [self.handle_message(m, source) for m in messages]
        ack = build_batch_ack([a for _, a in replies], now=self._clock.now())
        return FrameReply(tuple(o for o, _ in replies), ack)

    def record_broken_frame(self, data: bytes, source: str, reason: str) -> Outcome:
        """Keep a frame that never completed (truncated, timed out, oversized) as a dead letter."""
        outcome, _ = self._refuse(
            decode(data), source, None, Hl7Error(reason, ack=AckCode.REJECT, code="100")
        )
        return outcome

    def reject_frame(self, source: str, reason: str) -> FrameReply:
        """Answer (AR) and record a frame the transport could not deliver whole."""
        error = Hl7Error(reason, ack=AckCode.REJECT, code="100")
        outcome, ack = self._refuse("", source, None, error)
        return FrameReply((outcome,), ack)

    # ------------------------------------------------------------ messages

    def handle_message(
        self, text: str, source: str, *, raw: str | None = None
    ) -> tuple[Outcome, str]:
        """Store and apply one message; returns its outcome and the ACK text."""
        text = storable(text)
        stored = storable(raw) if raw is not None else text
        header: Header | None = None
        try:
            try:
                message = parse_message(text)
                header = read_header(message)
                check_header(header)
            except Hl7Error as exc:
                return self._refuse(stored, source, _header_or_none(text), exc)
            return self._apply_and_store(message, header, stored, source)
        except LabdeskError as exc:  # the database itself failed: store nothing, say so
            reply = self._unstored(header, exc)
            return reply.outcomes[0], reply.ack

    def internal_error_reply(self) -> FrameReply:
        """AE for a frame that could not be handled at all (a bug): the sender resends."""
        return self._unstored(None, LabdeskError("internal error"))

    def _unstored(self, header: Header | None, exc: LabdeskError) -> FrameReply:
        """AE for a message the database would not take: the sender must send it again."""
        control = header.control_id if header else ""
        logger.error("HL7 %s not stored: %s", control or "frame", exc)
        reason = f"LabDesk could not store the message ({exc.message}); send it again."
        ack = build_ack(
            header,
            AckCode.ERROR,
            now=self._clock.now(),
            ack_id="LD0",
            text=reason,
            error_code=INTERNAL_ERROR,
        )
        return FrameReply((Outcome(control, None, None, AckCode.ERROR, reason),), ack)

    def _apply_and_store(
        self, message: Any, header: Header, raw: str, source: str
    ) -> tuple[Outcome, str]:
        now = self._clock.now()
        row = InboundMessage(
            control_id=header.control_id,
            sender=header.sender,
            message_type=header.message_type,
            version=header.version[:8],
            received_at=now,
            raw=raw,
            status=MessageStatus.PROCESSED,
            source=source[:120],
            ack_code=AckCode.ACCEPT,
        )
        with self._uow() as uow:
            earlier = uow.hl7.processed_with_control_id(header.sender, header.control_id)
            if earlier is not None:
                row.status = MessageStatus.DUPLICATE
                row.duplicate_of_id = earlier.id
                row.error = f"Duplicate of message {earlier.id}; not applied again."
                uow.hl7.add_message(row)
                uow.hl7.flush()
                uow.commit()
                return self._answer(header, row, row.error)
            uow.hl7.add_message(row)
            uow.hl7.flush()
            assert row.id is not None
            try:
                applied = self._apply(uow, message, header, row.id)
            except Hl7Error as exc:
                uow.rollback()
                return self._refuse(raw, source, header, exc, uow=uow)
            except Exception as exc:  # a bug must not lose the message or kill the listener
                logger.exception("applying HL7 %s failed", header.control_id)
                uow.rollback()
                error = Hl7Error(f"Internal error: {type(exc).__name__}: {exc}"[:300])
                return self._refuse(raw, source, header, error, uow=uow)
            record_audit(
                uow,
                self._clock,
                action=AuditAction.CREATE,
                entity="hl7_message",
                entity_id=row.id,
                user_id=None,
                station="hl7",
                detail=f"{header.message_type}: {applied.text}",
            )
            uow.commit()
        outcome, ack = self._answer(header, row, applied.text)
        return (
            Outcome(
                outcome.control_id,
                row.id,
                row.status,
                AckCode.ACCEPT,
                applied.text,
                applied.results,
                applied.unmatched,
            ),
            ack,
        )

    def _apply(self, uow: UnitOfWork, message: Any, header: Header, row_id: int) -> _Applied:
        catalog = self._catalog_index(uow)
        patient = read_patient(message)
        now = self._clock.now()
        if header.message_code == "ORU":
            results = unmatched = 0
            for group in read_groups(message, self._zone):
                found = match_group(uow, catalog, patient, group)
                if isinstance(found, Match):
                    results += apply_group(
                        uow, catalog, found, group, control_id=header.control_id, now=now
                    )
                else:
                    uow.hl7.add_unmatched(unmatched_row(row_id, patient, group, found.reason, now))
                    unmatched += 1
            text = f"{results} result(s) stored"
            text += (
                f"; {unmatched} group(s) unmatched, held for manual matching" if unmatched else ""
            )
            return _Applied(text, results, unmatched)
        lines = read_order_lines(message, self._zone)
        summary = apply_orders(
            uow,
            self._clock,
            catalog,
            patient,
            lines,
            message_time=parse_dtm(header.timestamp, self._zone),
        )
        return _Applied(summary.text())

    def _catalog_index(self, uow: UnitOfWork) -> CatalogIndex:
        fresh = time.monotonic()
        if self._catalog is None or fresh - self._catalog_at > self._ttl:
            self._catalog = CatalogIndex.load(uow)
            self._catalog_at = fresh
        return self._catalog

    # ------------------------------------------------------------ answers

    def _answer(self, header: Header, row: InboundMessage, text: str) -> tuple[Outcome, str]:
        ack = build_ack(
            header, AckCode.ACCEPT, now=self._clock.now(), ack_id=f"LD{row.id}", text=text
        )
        return Outcome(header.control_id, row.id, row.status, AckCode.ACCEPT, text), ack

    def _refuse(
        self,
        raw: str,
        source: str,
        header: Header | None,
        error: Hl7Error,
        uow: UnitOfWork | None = None,
    ) -> tuple[Outcome, str]:
        """Commit the message as a dead letter and build its AE/AR."""
        status = MessageStatus.REJECTED if error.ack is AckCode.REJECT else MessageStatus.ERROR
        row = InboundMessage(
            control_id=(header.control_id if header else "")[:64],
            sender=header.sender if header else "",
            message_type=(header.message_type if header else "")[:16],
            version=(header.version if header else "")[:8],
            received_at=self._clock.now(),
            raw=raw,
            status=status,
            source=source[:120],
            ack_code=error.ack,
            error=error.reason[:400],
        )
        _store(self._uow, row, uow)
        logger.warning(
            "HL7 message %s from %s refused (%s): %s", row.id, source, error.ack.value, error.reason
        )
        ack = build_ack(
            header,
            error.ack,
            now=self._clock.now(),
            ack_id=f"LD{row.id}",
            text=error.reason,
            error_code=error.code,
        )
        outcome = Outcome(row.control_id, row.id, status, error.ack, error.reason)
        return outcome, ack


def _store(factory: Callable[[], UnitOfWork], row: InboundMessage, uow: UnitOfWork | None) -> None:
    if uow is not None:
        uow.hl7.add_message(row)
        uow.hl7.flush()
        uow.commit()
        return
    with factory() as fresh:
        fresh.hl7.add_message(row)
        fresh.hl7.flush()
        fresh.commit()


def storable(text: str) -> str:
    """Text a database column takes: NUL (which HL7 never carries) as the HL7 escape ``\\X00\\``."""
    return text.replace("\x00", "\\X00\\")


def _header_or_none(text: str) -> Header | None:
    """The MSH of a message refused early, when it can be read at all (for the ACK)."""
    try:
        return read_header(parse_message(text))
    except Exception:
        return None
