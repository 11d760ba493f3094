"""Store, then acknowledge: every received frame is committed before its answer is built.

:class:`Ingestor` is what the MLLP listener and ``labdesk hl7 import`` both call, with one
frame (:meth:`Ingestor.handle_frame`) or a group of frames (:meth:`Ingestor.handle_frames`,
the listener's group commit: frames that arrived while the previous transaction ran).

Text is read first, without the database (:mod:`labdesk.hl7.prepare`): what LabDesk cannot
take at all gets AR, a content error AE. Then one transaction stores every message of the
group: the raw text of each (dead letters too), the changes of each applicable message, a
repeated MSH-10 from the same sender only as a duplicate (AA, not applied again; also within
the group), and the audit entries naming the applied message ids. Only after that commit are
the answers built. When applying a message fails inside a group, the group is rolled back
and its messages are stored one transaction each, so a bad message never costs the others
and becomes a dead letter (AE) itself. Only when even that cannot be stored (database down)
is the answer an AE without a stored row: the sender keeps the message and sends it again.

Several listeners on one database (failover, load sharing) may receive the same message at
the same moment. "Not seen yet" is then decided by the database, not by the earlier read:
the unique index on applied (sender, MSH-10) refuses the second insert, the transaction is
rolled back and run again, and the fresh read finds the other listener's row, so the
message is stored as a duplicate (AA) and applied once in all.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from labdesk.adapters.repositories import hl7_ingest_sql as ingest_sql
from labdesk.adapters.repositories.hl7_ingest_sql import MessageRow
from labdesk.domain.clock import Clock
from labdesk.domain.errors import LabdeskError
from labdesk.domain.hl7 import AckCode, MessageStatus
from labdesk.hl7.ack import build_ack, build_batch_ack
from labdesk.hl7.parse import INTERNAL_ERROR, Header, Hl7Error, decode
from labdesk.hl7.prepare import (
    MAX_FRAME_BYTES,
    MAX_SEGMENTS,
    Prepared,
    prepare_frame,
    prepare_message,
    storable,
)
from labdesk.hl7.values import parse_dtm
from labdesk.interface.apply_orders import apply_orders
from labdesk.interface.apply_results import Match, apply_group, match_group, unmatched_row
from labdesk.interface.catalog_index import CatalogIndex
from labdesk.interface.ingest_audit import Applied, audit_applied
from labdesk.interface.lookup import Lookup
from labdesk.ports import UnitOfWork, UowFactory

__all__ = ["FrameReply", "Ingestor", "Outcome", "storable"]

logger = logging.getLogger(__name__)

RACE_ATTEMPTS = 5
"""Transactions tried when another listener stores the same message at the same moment."""


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


Answer = tuple[Outcome, str]


class _ApplyFailed(Exception):
    """Applying one message of a group failed; the group is rolled back."""

    def __init__(self, index: int, cause: Exception) -> None:
        super().__init__(str(cause))
        self.index = index
        self.cause = cause


class Ingestor:
    """Applies received HL7 under the store-then-acknowledge rule (one caller at a time).

    Args:
        uow_factory: Opens a unit of work per group of messages.
        clock: Source of ``received_at`` and ACK timestamps.
        timezone: Zone of HL7 timestamps that carry no offset (the clinic's).
        catalog_ttl_s: How long the catalog lookup is reused before it is read again.
        actor_id: The user importing, named by every audit entry the messages write
            (``labdesk hl7 import --user``); None for the listener: the interface itself.
        max_frame_bytes: Larger frames are refused (AR) and their text is not stored.
        max_segments: Frames with more segments are refused (AR) before parsing.
    """

    def __init__(
        self,
        uow_factory: UowFactory,
        clock: Clock,
        *,
        timezone: str = "America/New_York",
        catalog_ttl_s: float = 60.0,
        actor_id: int | None = None,
        max_frame_bytes: int = MAX_FRAME_BYTES,
        max_segments: int = MAX_SEGMENTS,
    ) -> None:
        self._uow = uow_factory
        self.max_frame_bytes = max_frame_bytes
        self._max_segments = max_segments
        self._actor_id = actor_id
        self._clock = clock
        self._zone = ZoneInfo(timezone)
        self._ttl = catalog_ttl_s
        self._catalog: CatalogIndex | None = None
        self._catalog_at = 0.0

    # ------------------------------------------------------------ frames

    def handle_frame(self, data: bytes | str, source: str) -> FrameReply:
        """Apply one MLLP frame or file chunk: a message or an FHS/BHS batch."""
        return self.handle_frames([(data, source)])[0]

    def handle_frames(self, frames: Sequence[tuple[bytes | str, str]]) -> list[FrameReply]:
        """Apply several frames in one transaction (group commit); one reply per frame.

        Every reply is built after the commit that stored its messages.
        """
        items: list[Prepared] = []
        sizes: list[int] = []
        for data, source in frames:
            found = prepare_frame(
                data,
                source,
                self._zone,
                max_bytes=self.max_frame_bytes,
                max_segments=self._max_segments,
            )
            sizes.append(len(found))
            items.extend(found)
        answers = self._store(items)
        replies: list[FrameReply] = []
        start = 0
        for size in sizes:
            part = answers[start : start + size]
            start += size
            if size == 1:
                replies.append(FrameReply((part[0][0],), part[0][1]))
            else:
                ack = build_batch_ack([a for _, a in part], now=self._clock.now())
                replies.append(FrameReply(tuple(o for o, _ in part), ack))
        return replies

    def handle_message(self, text: str, source: str, *, raw: str | None = None) -> Answer:
        """Store and apply one message; returns its outcome and the ACK text."""
        return self._store([prepare_message(text, source, self._zone, raw=raw)])[0]

    def record_broken_frame(self, data: bytes, source: str, reason: str) -> Outcome:
        """Keep a frame that never completed (truncated, timed out, oversized) as a dead letter."""
        error = Hl7Error(reason, ack=AckCode.REJECT, code="100")
        item = Prepared(raw=storable(decode(data)), source=source, header=None, error=error)
        outcome, _ = self._store_refusal(item, error)
        return outcome

    def reject_frame(self, source: str, reason: str) -> FrameReply:
        """Answer (AR) and record a frame the transport could not deliver whole."""
        error = Hl7Error(reason, ack=AckCode.REJECT, code="100")
        outcome, ack = self._store_refusal(
            Prepared(raw="", source=source, header=None, error=error), error
        )
        return FrameReply((outcome,), ack)

    def internal_error_reply(self) -> FrameReply:
        """AE for a frame that could not be handled at all (a bug): the sender resends."""
        outcome, ack = self._unstored(None, LabdeskError("internal error"))
        return FrameReply((outcome,), ack)

    # ------------------------------------------------------------ transactions

    def _store(self, items: list[Prepared]) -> list[Answer]:
        """Commit ``items`` together; on any failure, one transaction per message."""
        if not items:
            return []
        try:
            return self._transaction_settling_races(items)
        except _ApplyFailed as failed:
            if len(items) == 1:
                return [self._store_refusal(items[0], _as_hl7_error(items[0], failed.cause))]
        except LabdeskError as exc:  # the database failed: store nothing, say so
            if len(items) == 1:
                return [self._unstored(items[0].header, exc)]
        except Exception as exc:  # a bug outside applying (audit, lookups): this message only
            if len(items) == 1:
                return [self._store_refusal(items[0], _as_hl7_error(items[0], exc))]
        return [answer for item in items for answer in self._store([item])]

    def _transaction_settling_races(self, items: list[Prepared]) -> list[Answer]:
        """:meth:`_transaction`, run again when another process stored one of ``items``
        meanwhile (the fresh read then sees its row: a duplicate, not applied twice)."""
        for attempt in range(1, RACE_ATTEMPTS + 1):
            try:
                return self._transaction(items)
            except ingest_sql.ConcurrentInsert:
                logger.info("HL7 group of %d raced another listener (try %d)", len(items), attempt)
                if attempt == RACE_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _transaction(self, items: list[Prepared]) -> list[Answer]:
        with self._uow() as uow:
            catalog = self._catalog_index(uow)
            find = _lookup(uow, items)
            rows = self._store_rows(uow, items)
            applied: list[Applied | None] = [None] * len(items)
            for index, (item, row) in enumerate(zip(items, rows, strict=True)):
                if row.status is not MessageStatus.PROCESSED:
                    continue
                assert row.id is not None
                try:
                    applied[index] = self._apply(find, catalog, item, row.id, row.received_at)
                except Exception as exc:
                    raise _ApplyFailed(index, exc) from exc
            find.finish()
            stored = [a for a in applied if a is not None]
            audit_applied(uow, self._clock, stored, user_id=self._actor_id)
            uow.commit()
        return [
            self._answer(item, row, done)
            for item, row, done in zip(items, rows, applied, strict=True)
        ]

    def _store_rows(self, uow: UnitOfWork, items: list[Prepared]) -> list[MessageRow]:
        """Insert the raw text of every item (one statement); status decided up front.

        Applied, refused or duplicate is known before anything is applied: a failure while
        applying rolls the whole group back. A repeat of an MSH-10 *within* the group is
        inserted after the others, once the first copy has its id.
        """
        keys = {k for k in map(_key, items) if k is not None}
        earlier = ingest_sql.processed_ids(uow.session, keys) if keys else {}
        first_in_group: dict[tuple[str, str], MessageRow] = {}
        rows: list[MessageRow] = []
        repeats: list[tuple[MessageRow, MessageRow]] = []
        for item in items:
            now = self._clock.now()
            key = _key(item)
            if key is not None and key in earlier:
                rows.append(_duplicate(item, now, earlier[key]))
            elif key is not None and key in first_in_group:
                row = _row(item, now, MessageStatus.DUPLICATE, AckCode.ACCEPT)
                repeats.append((row, first_in_group[key]))
                rows.append(row)
            elif item.error is not None:
                rows.append(_refusal(item, item.error, now))
            else:
                row = _row(item, now, MessageStatus.PROCESSED, AckCode.ACCEPT)
                if key is not None:
                    first_in_group[key] = row
                rows.append(row)
        later = {id(row) for row, _ in repeats}
        ingest_sql.insert_messages(uow.session, [r for r in rows if id(r) not in later])
        for row, first in repeats:
            assert first.id is not None
            row.duplicate_of_id = first.id
            row.error = f"Duplicate of message {first.id}; not applied again."
        ingest_sql.insert_messages(uow.session, [row for row, _ in repeats])
        return rows

    def _apply(
        self, find: Lookup, catalog: CatalogIndex, item: Prepared, row_id: int, now: datetime
    ) -> Applied:
        uow = find.uow
        header, patient = item.header, item.patient
        assert header is not None
        assert patient is not None
        if header.message_code == "ORU":
            results = unmatched = 0
            for group in item.groups:
                found = match_group(find, catalog, patient, group)
                if isinstance(found, Match):
                    results += apply_group(
                        uow, catalog, found, group, control_id=header.control_id, now=now, find=find
                    )
                else:
                    uow.hl7.add_unmatched(unmatched_row(row_id, patient, group, found, now))
                    unmatched += 1
            text = f"{results} result(s) stored"
            text += (
                f"; {unmatched} group(s) unmatched, held for manual matching" if unmatched else ""
            )
            return Applied(row_id, header.message_type, text, results, unmatched)
        summary = apply_orders(
            uow,
            self._clock,
            catalog,
            patient,
            list(item.lines),
            message_time=parse_dtm(header.timestamp, self._zone),
            user_id=self._actor_id,
        )
        return Applied(row_id, header.message_type, summary.text())

    def _catalog_index(self, uow: UnitOfWork) -> CatalogIndex:
        fresh = time.monotonic()
        if self._catalog is None or fresh - self._catalog_at > self._ttl:
            self._catalog = CatalogIndex.load(uow)
            self._catalog_at = fresh
        return self._catalog

    def _store_refusal(self, item: Prepared, error: Hl7Error) -> Answer:
        """Commit one message as a dead letter and build its AE/AR (or the unstored AE)."""
        try:
            with self._uow() as uow:
                row = _refusal(item, error, self._clock.now())
                ingest_sql.insert_messages(uow.session, [row])
                uow.commit()
        except LabdeskError as exc:
            return self._unstored(item.header, exc)
        return self._refused(item, row, error)

    # ------------------------------------------------------------ answers

    def _answer(self, item: Prepared, row: MessageRow, applied: Applied | None) -> Answer:
        if row.status is MessageStatus.ERROR or row.status is MessageStatus.REJECTED:
            assert item.error is not None
            return self._refused(item, row, item.error)
        text = applied.text if applied is not None else row.error
        ack = build_ack(
            item.header, AckCode.ACCEPT, now=self._clock.now(), ack_id=f"LD{row.id}", text=text
        )
        results, unmatched = (applied.results, applied.unmatched) if applied else (0, 0)
        outcome = Outcome(
            row.control_id, row.id, row.status, AckCode.ACCEPT, text, results, unmatched
        )
        return outcome, ack

    def _refused(self, item: Prepared, row: MessageRow, error: Hl7Error) -> Answer:
        logger.warning(
            "HL7 message %s from %s refused (%s): %s",
            row.id,
            item.source,
            error.ack.value,
            error.reason,
        )
        ack = build_ack(
            item.header,
            error.ack,
            now=self._clock.now(),
            ack_id=f"LD{row.id}",
            text=error.reason,
            error_code=error.code,
            location=error.location,
        )
        return Outcome(row.control_id, row.id, row.status, error.ack, error.reason), ack

    def _unstored(self, header: Header | None, exc: LabdeskError) -> Answer:
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
        return Outcome(control, None, None, AckCode.ERROR, reason), ack


def _lookup(uow: UnitOfWork, items: Sequence[Prepared]) -> Lookup:
    """Prefetched matching reads when every applicable message is a result message."""
    todo = [i for i in items if i.error is None and i.header is not None]
    if todo and all(i.header is not None and i.header.message_code == "ORU" for i in todo):
        return Lookup.prefetch(uow, (g for i in todo for g in i.groups))
    return Lookup(uow)


def _key(item: Prepared) -> tuple[str, str] | None:
    """Sender and MSH-10 when the header passed the checks (only then is a duplicate known)."""
    if not item.accepted_header or item.header is None:
        return None
    return item.header.sender, item.header.control_id


def _row(item: Prepared, now: datetime, status: MessageStatus, ack: AckCode) -> MessageRow:
    h = item.header
    return MessageRow(
        control_id=(h.control_id if h else "")[:64],
        sender=h.sender if h else "",
        message_type=(h.message_type if h else "")[:16],
        version=(h.version if h else "")[:8],
        received_at=now,
        raw=item.raw,
        status=status,
        source=item.source[:120],
        ack_code=ack,
    )


def _refusal(item: Prepared, error: Hl7Error, now: datetime) -> MessageRow:
    status = MessageStatus.REJECTED if error.ack is AckCode.REJECT else MessageStatus.ERROR
    row = _row(item, now, status, error.ack)
    row.error = error.reason[:400]
    return row


def _duplicate(item: Prepared, now: datetime, earlier: int) -> MessageRow:
    row = _row(item, now, MessageStatus.DUPLICATE, AckCode.ACCEPT)
    row.duplicate_of_id = earlier
    row.error = f"Duplicate of message {earlier}; not applied again."
    return row


def _as_hl7_error(item: Prepared, cause: Exception) -> Hl7Error:
    if isinstance(cause, Hl7Error):
        return cause
    control = item.header.control_id if item.header else "?"
    logger.error("applying HL7 %s failed", control, exc_info=cause)
    return Hl7Error(f"Internal error: {type(cause).__name__}: {cause}"[:300])
