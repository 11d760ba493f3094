"""The server side of sync: block reservations and exactly-once replay (PostgreSQL or SQLite).

:meth:`ServerSync.apply` runs a replayed command through :class:`MessageBus` with the
command's own idempotency key and a clock that reads the time it happened at the station,
so custody events and audit entries keep the offline time. Its first unit of work writes a
``replayed_commands`` row with that command's work: the key, the work and the record of when
it happened and synced commit together. A replay the server already has is answered from
that record (or from ``handled_commands`` alone when the command reached the server online).

The replay clock is the station's ``happened_at`` for everything the handler writes,
``handled_commands.handled_at`` included; ``replayed_commands.synced_at`` is the server's
own time when the command arrived. The recording unit of work itself is
:mod:`labdesk.adapters.downtime.recording`.
"""

from __future__ import annotations

import dataclasses
import logging
import weakref
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from labdesk.access.auth import session_of
from labdesk.adapters.database import translate_error
from labdesk.adapters.downtime.reconcile_repo import open_count
from labdesk.adapters.downtime.recording import (
    APPLIED,
    DIVERGED,
    HELD,
    REFUSED,
    RecordingFactory,
    write_record,
)
from labdesk.adapters.orm import counters, ordered_tests, specimens
from labdesk.adapters.orm.downtime import accession_blocks, replayed_commands
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.domain.accession import MAX_SERIAL
from labdesk.domain.clock import Clock, FixedClock
from labdesk.domain.errors import LabdeskError, StorageError
from labdesk.domain.people import User
from labdesk.downtime.blocks import AccessionBlock
from labdesk.downtime.errors import BlockRefused, CommandRefused
from labdesk.downtime.outbox import ACCESSION_COUNTER, OutboxEntry
from labdesk.downtime.ports import Applied
from labdesk.downtime.reconcile import (
    ConflictKind,
    ConflictRefs,
    command_words,
    record_conflict,
)
from labdesk.kernel.dto import SignedInUser
from labdesk.kernel.messagebus import AlreadyHandled, Command, MessageBus
from labdesk.station.encounter import IdentityMismatch

logger = logging.getLogger(__name__)


def accession_counter(year: int) -> str:
    """The counter online IDs come from (``labdesk.station.accession.issue_accession``)."""
    return f"{ACCESSION_COUNTER}{year}"


def _upsert(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


class ServerSync:
    """:class:`labdesk.downtime.ports.SyncServer` over the server's units of work."""

    def __init__(self, uows: UnitOfWorkFactory, clock: Clock) -> None:
        self._uows = uows
        self._clock = clock
        self._connection: Connection | None = None
        self._sessions = sessionmaker(bind=uows.engine, expire_on_commit=False)
        self._actors: dict[tuple[int, str], SignedInUser] = {}
        """Replay's actors, looked up once per sync run (most entries share a few)."""
        self._blocks: dict[str, list[AccessionBlock]] = {}
        """Each station's blocks, read once per sync run for the pin checks (a block is
        never removed or moved, so a cached one stays valid; a miss reads them again)."""

    # ---------------------------------------------------------------- blocks

    def reserve_block(self, station: str, year: int, size: int) -> AccessionBlock:
        """Carve ``size`` serials of ``year`` off the accession counter for ``station``.

        The counter's row lock orders concurrent reservations (and online IDs), so no two
        ever share a serial.
        """
        name = accession_counter(year)
        now = self._clock.now()
        with self._uows() as uow:
            session = uow.session
            session.execute(
                _upsert(session)(counters).values(name=name, value=0).on_conflict_do_nothing()
            )
            last = int(
                session.execute(
                    update(counters)
                    .where(counters.c.name == name)
                    .values(value=counters.c.value + size)
                    .returning(counters.c.value)
                ).scalar_one()
            )
            if last > MAX_SERIAL:
                raise BlockRefused(
                    f"The server has no {size} accession IDs left for {year}.",
                    hint="Contact support to widen the accession format.",
                )
            first = last - size + 1
            block_id = session.execute(
                insert(accession_blocks)
                .values(
                    station=station,
                    year=year,
                    first=first,
                    last=last,
                    issued_up_to=first - 1,
                    reserved_at=now,
                )
                .returning(accession_blocks.c.id)
            ).scalar_one()
            uow.commit()
        logger.info("reserved accession block %s for %s: %s..%s", block_id, station, first, last)
        return AccessionBlock(int(block_id), station, year, first, last, first - 1, now)

    def report_issued(self, block: AccessionBlock) -> None:
        """Record how far the station got in ``block`` (it never goes back)."""
        with self._uows() as uow:
            uow.session.execute(
                update(accession_blocks)
                .where(
                    accession_blocks.c.id == block.id,
                    accession_blocks.c.station == block.station,
                    accession_blocks.c.issued_up_to < block.issued_up_to,
                )
                .values(issued_up_to=block.issued_up_to)
            )
            uow.commit()

    def blocks(self, station: str) -> list[AccessionBlock]:
        """The blocks reserved for ``station``, oldest first."""
        with self._uows() as uow:
            rows = uow.session.execute(
                select(accession_blocks)
                .where(accession_blocks.c.station == station)
                .order_by(accession_blocks.c.year, accession_blocks.c.first)
            )
            return [AccessionBlock(**row._mapping) for row in rows]

    def open_conflicts(self, station: str) -> int:
        """How many reconciliation items of ``station`` are still open (status bar, banner)."""
        with self._uows() as uow:
            return open_count(uow.session, station)

    # ---------------------------------------------------------------- replay

    def apply(self, command: Command[Any], entry: OutboxEntry, station: str) -> Applied:
        """Run ``command`` once through the server's handlers, as of ``entry.happened_at``.

        Raises:
            CommandRefused: the handler refused it, or its user is unknown here.
            StorageError: the server cannot be reached.
        """
        synced_at = self._clock.now()
        record = {
            "idempotency_key": entry.key,
            "station": station,
            "seq": entry.seq,
            "command": entry.command_type,
            "happened_at": entry.happened_at,
            "synced_at": synced_at,
            "outcome": APPLIED,
            "reason": None,
        }
        pins = self._checked_pins(entry, station)
        factory = RecordingFactory(self._uows, self._replay_sessions(), record, pins)
        bus = MessageBus(factory, FixedClock(entry.happened_at))
        try:
            # The labels were printed at the station: no after-commit step (no reprint).
            result = bus.handle(command, self._actor(entry, station), after_commit=False)
        except AlreadyHandled:
            return self._earlier(command, entry, station)
        except StorageError:
            self._drop_connection()
            raise
        except LabdeskError as exc:
            reason = f"{exc.message} {exc.hint}".strip()
            refused = record | {"outcome": REFUSED, "reason": reason}
            self._record(refused, self._refs(command, entry, station), _kind_of(exc))
            raise CommandRefused(reason) from exc
        return Applied(synced_at, result=result, ids=factory.created_ids(entry, result))

    def _replay_sessions(self) -> sessionmaker[Session]:
        """Sessions on one connection kept for this sync run (opened on first use).

        A run replays its entries one after another; checking a pooled connection out for
        each would cost a pre-ping round trip and the pool's bookkeeping per entry. Each
        entry still commits its own transaction. A connection the server dropped is
        replaced at the next entry (the failed one is reported as a lost connection and
        sent again by the next run); the connection goes back to the pool with this object.
        """
        conn = self._connection
        if conn is None or conn.closed or conn.invalidated:
            self._drop_connection()
            engine = self._uows.engine
            try:
                conn = self._connection = engine.connect()
            except SQLAlchemyError as exc:
                raise translate_error(exc, engine.url) from exc
            weakref.finalize(self, conn.close)
            self._sessions = sessionmaker(bind=conn, expire_on_commit=False)
        return self._sessions

    def _drop_connection(self) -> None:
        """Forget the run's connection (the server dropped it); the next entry opens one."""
        conn, self._connection = self._connection, None
        if conn is not None:
            try:
                conn.close()
            except SQLAlchemyError:  # already gone with the server
                logger.debug("closing a dropped replay connection failed", exc_info=True)

    def _checked_pins(self, entry: OutboxEntry, station: str) -> tuple[tuple[str, int], ...]:
        """``entry``'s pinned serials, each inside a block reserved for ``station``.

        Raises:
            CommandRefused: a pinned serial is outside the station's blocks.
        """
        if not entry.pins:
            return ()
        blocks = self._blocks.get(station)
        if blocks is None or not all(_in_blocks(n, s, blocks) for n, s in entry.pins):
            blocks = self._blocks[station] = self.blocks(station)  # read again before refusing
        for name, serial in entry.pins:
            if not _in_blocks(name, serial, blocks):
                raise CommandRefused(
                    f"accession serial {serial} ({name}) is not in a block reserved for "
                    f"station {station}."
                )
        return entry.pins

    def hold(self, entry: OutboxEntry, station: str, reason: str) -> None:
        """Record ``entry`` as held (outcome ``held``): kept, not applied, no item of its own.

        Its reconciliation item is the refused entry's; the held scan waits with it.
        """
        self._record(
            {
                "idempotency_key": entry.key,
                "station": station,
                "seq": entry.seq,
                "command": entry.command_type,
                "happened_at": entry.happened_at,
                "synced_at": self._clock.now(),
                "outcome": HELD,
                "reason": reason,
            }
        )

    def _actor(self, entry: OutboxEntry, station: str) -> SignedInUser | None:
        if entry.actor_id is None:
            return None
        known = self._actors.get((entry.actor_id, station))
        if known is not None:
            return known
        with self._uows() as uow:
            user: User | None = uow.people.user(entry.actor_id)
            if user is None:
                raise CommandRefused(f"user {entry.actor_id} is not known on the server.")
            actor = self._actors[entry.actor_id, station] = session_of(user, station)
        return actor

    def _earlier(self, command: Command[Any], entry: OutboxEntry, station: str) -> Applied:
        """The server had the key already: from an earlier replay, or sent online.

        Raises:
            CommandRefused: the earlier replay was refused; or the command reached the
                server online (its answer was lost) under the server's accessions while
                the station labelled the tubes from its block: a relabel to reconcile.
        """
        with self._uows() as uow:
            row = uow.session.execute(
                select(replayed_commands).where(replayed_commands.c.idempotency_key == entry.key)
            ).first()
            handled_at = uow.commands.handled_at(entry.key)
        if row is not None and row.outcome in (REFUSED, DIVERGED):
            raise CommandRefused(str(row.reason), online_copy=row.outcome == DIVERGED)
        if row is not None:
            return Applied(row.synced_at, earlier=True)
        if entry.pins or entry.local_ids:
            # It reached the server online; the station then did it again offline on its own
            # copy (block accessions, local rows). That copy is not the server's: a person
            # reconciles it, and what the station did with it afterwards waits with it.
            taken = entry.accessions()
            reason = self._superseded(command, taken) if taken else _diverged(entry)
            kind = ConflictKind.ACCESSIONS_DIFFER if taken else ConflictKind.OTHER
            record = {
                "idempotency_key": entry.key,
                "station": station,
                "seq": entry.seq,
                "command": entry.command_type,
                "happened_at": entry.happened_at,
                "synced_at": self._clock.now(),
                "outcome": DIVERGED,
                "reason": reason,
            }
            self._record(record, self._refs(command, entry, station), kind)
            raise CommandRefused(reason, online_copy=True)
        return Applied(handled_at or self._clock.now(), earlier=True)

    def _refs(self, command: Command[Any], entry: OutboxEntry, station: str) -> ConflictRefs:
        """What the refused command was about; a visit's patient when it names no test."""
        refs = _refs_from_fields(command, entry)
        taken = entry.accessions()
        if taken:  # the tubes the station labelled offline, as the worklist names them
            refs = dataclasses.replace(
                refs,
                summary=f"{command_words(entry.command_type)} at {station}: "
                f"tube{'s' if len(taken) > 1 else ''} {', '.join(taken)}",
            )
        encounter_id = getattr(command, "encounter_id", None)
        if (
            refs.ordered_test_id is None
            and refs.patient_id is None
            and isinstance(encounter_id, int)
        ):
            with self._uows() as uow:
                encounter = uow.station.get(encounter_id)
                patient_id = encounter.patient_id if encounter is not None else None
            if patient_id is not None:
                refs = dataclasses.replace(refs, patient_id=patient_id)
        return refs

    def _superseded(self, command: Command[Any], taken: list[str]) -> str:
        """Why the offline labels ``taken`` are not the server's, naming the server's own."""
        test_ids = [int(t) for c in getattr(command, "containers", ()) for t in c.ordered_test_ids]
        with self._uows() as uow:
            server = sorted(
                set(
                    uow.session.scalars(
                        select(specimens.c.accession)
                        .join(ordered_tests, ordered_tests.c.specimen_id == specimens.c.id)
                        .where(ordered_tests.c.id.in_(test_ids))
                    )
                )
            )
        theirs = ", ".join(server) or "its own accessions"
        return (
            "This collection reached the server before the connection was lost, and the "
            f"server numbered its tubes {theirs}. The tubes were labelled offline as "
            f"{', '.join(taken)}, which the server never issued: relabel them with the "
            "server's labels (reprint from the visit) and destroy the offline labels."
        )

    def _record(
        self,
        record: dict[str, Any],
        refs: ConflictRefs | None = None,
        kind: ConflictKind | None = None,
    ) -> None:
        """Write the replay record; a refusal also opens its reconciliation item with it."""
        with self._uows() as uow:
            write_record(uow.session, record)
            if record["outcome"] in (REFUSED, DIVERGED):
                record_conflict(
                    uow,
                    self._clock,
                    idempotency_key=record["idempotency_key"],
                    station=record["station"],
                    command=record["command"],
                    happened_at=record["happened_at"],
                    reason=str(record["reason"]),
                    refs=refs,
                    kind=kind,
                )
            uow.commit()


def _kind_of(error: LabdeskError) -> ConflictKind | None:
    """The conflict a refusal means when its type says so (None: told from its words).

    The identifiers the assistant confirmed offline against the replica's patient no longer
    match the server's record: the patient was changed on the server meanwhile.
    """
    if isinstance(error, IdentityMismatch):
        return ConflictKind.PATIENT_CHANGED
    return None


def _diverged(entry: OutboxEntry) -> str:
    return (
        f"This {entry.command_type} reached the server before the connection was lost, and "
        "the station went on with its own offline copy. What the station did next with "
        "that copy is kept, not sent: check this on the server and redo what is missing."
    )


def _in_blocks(name: str, serial: int, blocks: list[AccessionBlock]) -> bool:
    """True when serial ``serial`` of counter ``name`` lies inside one of ``blocks``."""
    return any(accession_counter(b.year) == name and b.first <= serial <= b.last for b in blocks)


def _refs_from_fields(command: Command[Any], entry: OutboxEntry) -> ConflictRefs:
    """What the refused command was about, as far as its fields say (for the worklist)."""
    ordered_test_id: int | None = None
    containers = getattr(command, "containers", ())
    for container in containers:
        ids = getattr(container, "ordered_test_ids", ())
        if ids:
            ordered_test_id = int(ids[0])
            break
    patient_id = getattr(command, "patient_id", None)
    return ConflictRefs(
        ordered_test_id=ordered_test_id,
        patient_id=patient_id if isinstance(patient_id, int) else None,
        actor_id=entry.actor_id,
    )
