"""Queries of the HL7 interface: received messages, unmatched results, outbound queue."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from datetime import datetime

from sqlalchemy import func, insert, select, update

from labdesk.adapters import orm
from labdesk.adapters.orm import hl7 as t
from labdesk.adapters.repositories import _Repository
from labdesk.domain.hl7 import (
    InboundMessage,
    MessageStatus,
    OutboundMessage,
    OutboundStatus,
    UnmatchedResult,
    UnmatchedStatus,
)
from labdesk.domain.order import Order, OrderedTest
from labdesk.domain.patient import Patient
from labdesk.domain.result import Result, ResultStatus
from labdesk.domain.specimen import Specimen

_DEAD = (MessageStatus.ERROR, MessageStatus.REJECTED)


class Hl7Repository(_Repository):
    """Received messages and the worklists built on them."""

    def add_message(self, message: InboundMessage) -> None:
        """Stage a received message."""
        self.session.add(message)

    def processed_ids(
        self, keys: Collection[tuple[str, str]]
    ) -> Iterator[tuple[tuple[str, str], int]]:
        """``((sender, control_id), id)`` of the first *applied* message for each key given.

        Filtered by status in Python: with ``status`` in the WHERE clause SQLite may choose
        the (status, received_at) index and scan every processed message.
        """
        wanted = set(keys)
        c = t.hl7_messages.c
        first: dict[tuple[str, str], int] = {}
        controls = sorted({control for _, control in wanted})
        for start in range(0, len(controls), 500):
            stmt = select(c.id, c.sender, c.control_id, c.status).where(
                c.control_id.in_(controls[start : start + 500])
            )
            for row_id, sender, control_id, status in self.session.execute(stmt):
                key = (sender, control_id)
                if status == MessageStatus.PROCESSED and key in wanted:
                    first[key] = min(first.get(key, row_id), row_id)
        yield from first.items()

    def message(self, message_id: int) -> InboundMessage | None:
        """Received message by primary key."""
        return self.session.get(InboundMessage, message_id)

    def processed_with_control_id(self, sender: str, control_id: str) -> InboundMessage | None:
        """The earlier *applied* message with this sender and MSH-10, if any."""
        stmt = (
            select(InboundMessage)
            .where(t.hl7_messages.c.control_id == control_id)
            .where(t.hl7_messages.c.sender == sender)
            .where(t.hl7_messages.c.status == MessageStatus.PROCESSED)
            .order_by(t.hl7_messages.c.id)
            .limit(1)
        )
        return self.session.scalars(stmt).first()

    def dead_letters(
        self, *, include_resolved: bool = False, limit: int = 500
    ) -> Sequence[InboundMessage]:
        """Refused messages, newest first."""
        stmt = select(InboundMessage).where(t.hl7_messages.c.status.in_(_DEAD))
        if not include_resolved:
            stmt = stmt.where(t.hl7_messages.c.resolved_at.is_(None))
        stmt = stmt.order_by(t.hl7_messages.c.id.desc()).limit(limit)
        return self.session.scalars(stmt).all()

    def count_by_status(self) -> dict[MessageStatus, int]:
        """How many received messages are in each status."""
        stmt = select(t.hl7_messages.c.status, func.count()).group_by(t.hl7_messages.c.status)
        return {MessageStatus(s): int(n) for s, n in self.session.execute(stmt)}

    # ------------------------------------------------------------ matching, in bulk

    def specimens_by_accession(self, accessions: Collection[str]) -> Sequence[Specimen]:
        """Specimens with any of these accessions."""
        if not accessions:
            return []
        stmt = select(Specimen).where(orm.specimens.c.accession.in_(set(accessions)))
        return self.session.scalars(stmt).all()

    def orders_by_placer(self, numbers: Collection[str]) -> Sequence[Order]:
        """Orders with any of these placer order numbers, oldest first."""
        if not numbers:
            return []
        stmt = (
            select(Order)
            .where(orm.orders.c.placer_order_number.in_(set(numbers)))
            .order_by(orm.orders.c.id)
        )
        return self.session.scalars(stmt).all()

    def patients_by_id(self, ids: Collection[int]) -> Sequence[Patient]:
        """Patients by primary key."""
        if not ids:
            return []
        return self.session.scalars(select(Patient).where(orm.patients.c.id.in_(set(ids)))).all()

    def tests_of(
        self, specimen_ids: Collection[int], order_ids: Collection[int]
    ) -> Sequence[OrderedTest]:
        """Ordered tests carried by these specimens or belonging to these orders."""
        if not specimen_ids and not order_ids:
            return []
        c = orm.ordered_tests.c
        stmt = (
            select(OrderedTest)
            .where(c.specimen_id.in_(set(specimen_ids)) | c.order_id.in_(set(order_ids)))
            .order_by(c.id)
        )
        return self.session.scalars(stmt).all()

    def current_results_of(self, ordered_test_ids: Collection[int]) -> Sequence[Result]:
        """Current results of these tests, oldest first: rows no other row of the same test
        supersedes, minus retractions (as :func:`labdesk.domain.result_chain.current_results`).

        The chains are read as bare ``(id, test, supersedes)`` tuples; only the
        current rows are loaded as objects.
        """
        if not ordered_test_ids:
            return []
        r = orm.results.c
        chains = self.session.execute(
            select(r.id, r.ordered_test_id, r.supersedes_id).where(
                r.ordered_test_id.in_(set(ordered_test_ids))
            )
        ).all()
        replaced = {(test, old) for _, test, old in chains if old is not None}
        current = [rid for rid, test, _ in chains if (test, rid) not in replaced]
        if not current:
            return []
        stmt = (
            select(Result)
            .where(r.id.in_(current))
            .where(r.status != ResultStatus.WRONG)
            .order_by(r.id)
        )
        return self.session.scalars(stmt).all()

    def insert_messages(self, messages: Sequence[InboundMessage]) -> None:
        """Insert received messages in one statement (Core); sets each one's id."""
        if not messages:
            return
        c = t.hl7_messages.c
        stmt = insert(t.hl7_messages).returning(c.id, sort_by_parameter_order=True)
        rows = [
            {
                "control_id": m.control_id,
                "sender": m.sender,
                "message_type": m.message_type,
                "version": m.version,
                "received_at": m.received_at,
                "source": m.source,
                "raw": m.raw,
                "status": m.status,
                "ack_code": m.ack_code,
                "error": m.error,
                "duplicate_of_id": m.duplicate_of_id,
                "resolution": m.resolution,
            }
            for m in messages
        ]
        ids = self.session.execute(stmt, rows).scalars().all()
        for message, new_id in zip(messages, ids, strict=True):
            message.id = int(new_id)

    # ------------------------------------------------------------ unmatched

    def add_unmatched(self, item: UnmatchedResult) -> None:
        """Stage an unmatched result."""
        self.session.add(item)

    def unmatched(self, unmatched_id: int) -> UnmatchedResult | None:
        """Unmatched result by primary key."""
        return self.session.get(UnmatchedResult, unmatched_id)

    def unmatched_list(
        self, status: UnmatchedStatus | None = UnmatchedStatus.OPEN, limit: int = 500
    ) -> Sequence[UnmatchedResult]:
        """Unmatched results in a status (all when None), oldest first."""
        stmt = select(UnmatchedResult)
        if status is not None:
            stmt = stmt.where(t.unmatched_results.c.status == status)
        stmt = stmt.order_by(t.unmatched_results.c.id).limit(limit)
        return self.session.scalars(stmt).all()

    def ordered_test(self, ordered_test_id: int) -> OrderedTest | None:
        """Ordered test by primary key (the target of a manual match)."""
        return self.session.get(OrderedTest, ordered_test_id)

    def unmatched_for_message(self, message_id: int) -> Sequence[UnmatchedResult]:
        """Unmatched groups of one message."""
        stmt = select(UnmatchedResult).where(t.unmatched_results.c.message_id == message_id)
        return self.session.scalars(stmt.order_by(t.unmatched_results.c.id)).all()

    # ------------------------------------------------------------ outbound

    def add_outbound(self, message: OutboundMessage) -> None:
        """Stage an outbound message."""
        self.session.add(message)

    def outbound(self, outbound_id: int) -> OutboundMessage | None:
        """Outbound message by primary key."""
        return self.session.get(OutboundMessage, outbound_id)

    def outbound_for_specimens(self, specimen_key: str) -> OutboundMessage | None:
        """A pending or sent message for exactly these specimens."""
        stmt = (
            select(OutboundMessage)
            .where(t.outbound_messages.c.specimen_key == specimen_key)
            .where(t.outbound_messages.c.status.in_((OutboundStatus.PENDING, OutboundStatus.SENT)))
            .limit(1)
        )
        return self.session.scalars(stmt).first()

    def due_outbound(self, now: datetime, limit: int) -> Sequence[int]:
        """Ids of pending messages whose next attempt is due, oldest first."""
        stmt = (
            select(t.outbound_messages.c.id)
            .where(t.outbound_messages.c.status == OutboundStatus.PENDING)
            .where(t.outbound_messages.c.next_attempt_at <= now)
            .order_by(t.outbound_messages.c.next_attempt_at, t.outbound_messages.c.id)
            .limit(limit)
        )
        return [int(i) for i in self.session.scalars(stmt)]

    def claim_outbound(self, outbound_id: int, now: datetime, lease_until: datetime) -> bool:
        """Take a due message for sending; False if another sender took it first.

        Moving ``next_attempt_at`` to the end of the lease is the claim: a sender that dies
        mid-send leaves the message due again when the lease ends.
        """
        stmt = (
            update(t.outbound_messages)
            .where(t.outbound_messages.c.id == outbound_id)
            .where(t.outbound_messages.c.status == OutboundStatus.PENDING)
            .where(t.outbound_messages.c.next_attempt_at <= now)
            .values(next_attempt_at=lease_until)
        )
        return bool(self.session.execute(stmt).rowcount)  # type: ignore[attr-defined]

    def outbound_list(
        self, statuses: Sequence[OutboundStatus] | None = None, limit: int = 500
    ) -> Sequence[OutboundMessage]:
        """Outbound messages (in the given statuses), newest first."""
        stmt = select(OutboundMessage)
        if statuses:
            stmt = stmt.where(t.outbound_messages.c.status.in_(tuple(statuses)))
        stmt = stmt.order_by(t.outbound_messages.c.id.desc()).limit(limit)
        return self.session.scalars(stmt).all()
