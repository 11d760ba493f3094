"""Replay: send the outbox to the server in order, each command exactly once (item 4).

Every pending entry is decoded first; if any cannot be (a damaged file, another LabDesk
version), nothing is sent, because sending the later ones without it would change their
order. Then each entry goes to :meth:`SyncServer.apply`, which runs it through the server's
handlers with its idempotency key. The local marks come after the server's commits, in
local transactions of their own, ``MARK_EVERY`` entries at a time (one local commit per
entry would cost more than the server's work): a station killed before marking sends those
entries again next time, and the server answers from their keys that it already has them,
so nothing is applied twice.

A refusal keeps the entry as a ``conflict`` with the server's reason (never dropped) and
replay goes on with the next entry. A lost connection stops the replay; what was not marked
stays pending for the next run.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias

from labdesk.domain.clock import Clock
from labdesk.domain.errors import StorageError
from labdesk.downtime.errors import CommandRefused, OutboxUnreadable
from labdesk.downtime.handlers import register_all
from labdesk.downtime.outbox import OutboxEntry
from labdesk.downtime.ports import Applied, LocalStore, SyncServer
from labdesk.kernel import command_codec
from labdesk.kernel.messagebus import Command

logger = logging.getLogger(__name__)

IDENTITY_COMMANDS = frozenset({"ConfirmIdentity", "ConfirmIdentityByWristband"})
"""Refused on replay (the patient's record changed on the server), they hold their visit."""

MARK_EVERY = 50
"""Synced entries marked per local transaction."""

IdFields: TypeAlias = dict[str, "str | IdFields"]
"""Field name to id kind, or to the id fields of each item (a tuple of dataclasses)."""

ID_FIELDS: dict[str, IdFields] = {
    "OpenEncounter": {"patient_id": "patient"},
    "PlaceOrder": {"patient_id": "patient"},
    "ConfirmIdentity": {"encounter_id": "encounter"},
    "ConfirmIdentityByWristband": {"encounter_id": "encounter"},
    "RecordPatientWeight": {"encounter_id": "encounter"},
    "CollectSpecimens": {
        "encounter_id": "encounter",
        # tests of an order placed offline have local ids until that order is replayed
        "containers": {"ordered_test_ids": "ordered_test"},
    },
    "ScanBack": {"encounter_id": "encounter"},
    "CompleteEncounter": {"encounter_id": "encounter"},
    "AbandonEncounter": {"encounter_id": "encounter"},
    "PrintEncounterLabels": {"encounter_id": "encounter", "specimen_ids": "specimen"},
    "RecordOfflineLabels": {"encounter_id": "encounter", "specimen_ids": "specimen"},
    "ScanPickup": {"manifest_number": "manifest"},
    "FinishPickup": {"manifest_number": "manifest"},
    "PrintManifest": {"manifest_number": "manifest"},
    "ReceiveScan": {"manifest_number": "manifest"},
    "CloseReceipt": {"manifest_number": "manifest"},
}
"""Which fields of each offline command hold ids of which kind (rewritten before apply)."""


def _collected(result: Any) -> list[tuple[str, int]]:
    return [("encounter", int(result.encounter_id))] + [
        ("specimen", int(s.id)) for s in result.specimens
    ]


RESULT_IDS: dict[str, Callable[[Any], list[tuple[str, int]]]] = {
    "OpenEncounter": lambda eid: [("encounter", int(eid))],
    "OpenEncounterByWristband": lambda eid: [("encounter", int(eid))],
    "PlaceOrder": lambda order_id: [("order", int(order_id))],
    "CollectSpecimens": _collected,
    # A manifest started offline has a local number; the server numbers its own copy.
    "StartPickup": lambda view: [("manifest", int(view.number))],
}
"""The ids each command's result carries, in a fixed order (local and server paired)."""


TestsOf = Callable[[int], Sequence[int]]
"""The ordered-test ids of an order, by test code (the same order on station and server)."""


def result_ids(
    command_type: str, result: Any, tests_of: TestsOf | None = None
) -> tuple[tuple[str, int], ...]:
    """The ``(kind, id)`` pairs of the rows ``result`` says were created (or resumed).

    With ``tests_of``, an order is followed by its ordered tests, so a collection of an
    order placed offline names the server's tests on replay.
    """
    extract = RESULT_IDS.get(command_type)
    if extract is None or result is None:
        return ()
    pairs = list(extract(result))
    if tests_of is not None:
        for kind, order_id in list(pairs):
            if kind == "order":
                pairs.extend(("ordered_test", test_id) for test_id in tests_of(order_id))
    return tuple(pairs)


def map_ids(item: Any, fields: IdFields, mapped: Callable[[str, int], int]) -> Any:
    """``item`` with each id its ``fields`` hold replaced by ``mapped(kind, id)``.

    The one walk over :data:`ID_FIELDS`: a tuple of items is walked item by item, a number
    kept as digits (a manifest number) keeps its width, booleans are left alone. Returns
    ``item`` itself when nothing changed.
    """
    changes: dict[str, Any] = {}
    for name, kind in fields.items():
        value = getattr(item, name)
        if isinstance(kind, dict):  # a tuple of items, each with id fields of its own
            items = tuple(map_ids(sub, kind, mapped) for sub in value)
            if items != tuple(value):
                changes[name] = items
        elif isinstance(value, bool):
            continue
        elif isinstance(value, int):
            changes[name] = mapped(kind, value)
        elif isinstance(value, str) and value.isdigit():
            number = mapped(kind, int(value))
            if number != int(value):
                changes[name] = str(number).zfill(len(value))
        elif isinstance(value, tuple):
            changes[name] = tuple(mapped(kind, v) if isinstance(v, int) else v for v in value)
    return dataclasses.replace(item, **changes) if changes else item


def rewrite_ids(command: Command[Any], ids: dict[tuple[str, int], int]) -> Command[Any]:
    """``command`` with its id fields mapped from local to server ids (unknown ids kept)."""
    fields = ID_FIELDS.get(type(command).__name__, {})
    result: Command[Any] = map_ids(command, fields, lambda kind, v: ids.get((kind, v), v))
    return result


@dataclass(frozen=True)
class ReplayReport:
    """What one replay did."""

    sent: int
    """Entries the server now has (applied now or found applied earlier)."""
    already: int
    """Of those, entries the server had from an earlier, unconfirmed attempt."""
    conflicts: int
    left: int
    """Entries still pending (the connection was lost)."""
    seconds: float
    interrupted: str = ""
    """Why the replay stopped early, empty when it finished."""
    held: int = 0
    """Entries not sent because they concern a tube whose collection was refused."""

    @property
    def rate(self) -> float:
        """Entries handled per second."""
        done = self.sent + self.conflicts
        return done / self.seconds if self.seconds > 0 else 0.0


def decode_pending(store: LocalStore) -> list[tuple[OutboxEntry, Command[Any]]]:
    """Every pending entry with its command, or a refusal naming the first bad entry.

    Raises:
        OutboxUnreadable: an entry of another format version or that cannot be decoded.
    """
    register_all()
    with store() as uow:
        entries = uow.outbox.pending()
    decoded = []
    for entry in entries:
        if entry.schema_version != command_codec.FORMAT:
            raise OutboxUnreadable(
                store.path,
                f"entry {entry.seq} was written in format {entry.schema_version}; this "
                f"LabDesk reads format {command_codec.FORMAT}.",
            )
        try:
            command = command_codec.decode(entry.payload_json)
        except command_codec.CommandDecodeError as exc:
            raise OutboxUnreadable(store.path, f"entry {entry.seq}: {exc.message}") from exc
        if command.idempotency_key != entry.key or type(command).__name__ != entry.command_type:
            raise OutboxUnreadable(
                store.path, f"entry {entry.seq} does not match the command it holds."
            )
        decoded.append((entry, command))
    return decoded


def replay_outbox(store: LocalStore, server: SyncServer, clock: Clock) -> ReplayReport:
    """Send every pending entry to ``server`` in ``seq`` order.

    Raises:
        OutboxUnreadable: nothing was sent (see :func:`decode_pending`).
    """
    todo = decode_pending(store)
    with store() as uow:
        ids = uow.ids.all()
    started = time.perf_counter()
    sent = already = conflicts = held = 0
    interrupted = ""
    synced: list[tuple[int, datetime]] = []
    refused = _Refused()
    for entry, command in todo:
        root = refused.root_of(command)
        if root is not None:
            # A scan of a tube whose collection the server refused (or a step of a visit the
            # server has its own copy of): sending it would record an unknown tube or touch
            # the wrong rows on the server. It is kept with that conflict, never dropped.
            reason = (
                f"Not sent: it concerns {root[1]}, which outbox entry {root[0]} made offline "
                "and the server refused. Resolve that conflict first."
            )
            try:
                server.hold(entry, store.station, reason)
            except StorageError as exc:
                interrupted = exc.message
                break
            _mark_synced(store, synced)
            with store() as uow:
                uow.outbox.mark_conflict(entry.seq, reason, clock.now())
                uow.commit()
            refused.add(entry)
            held += 1
            continue
        try:
            applied = server.apply(rewrite_ids(command, ids), entry, store.station)
        except CommandRefused as refusal:
            _mark_synced(store, synced)
            with store() as uow:
                uow.outbox.mark_conflict(entry.seq, refusal.reason, clock.now())
                uow.commit()
            refused.add(entry, rows=refusal.online_copy)
            visit = getattr(command, "encounter_id", None)
            if type(command).__name__ in IDENTITY_COMMANDS and isinstance(visit, int):
                # The server did not confirm who was in the chair: nothing of that visit is
                # recorded until a person has looked (one item, the rest waits with it).
                refused.add_rows(entry.seq, [("encounter", visit)])
            conflicts += 1
            logger.info("outbox entry %s refused by the server", entry.seq)
            continue
        except StorageError as exc:
            interrupted = exc.message
            logger.info("replay stopped at outbox entry %s: %s", entry.seq, exc.message)
            break
        synced.append((entry.seq, applied.synced_at))
        paired = _pair(entry, applied)
        if paired:
            ids.update(paired)
            _mark_synced(store, synced, paired)  # before any later entry uses the ids
        elif len(synced) >= MARK_EVERY:
            _mark_synced(store, synced)
        sent += 1
        already += applied.earlier
    _mark_synced(store, synced)
    seconds = time.perf_counter() - started
    left = len(todo) - sent - conflicts - held
    return ReplayReport(sent, already, conflicts, left, seconds, interrupted, held)


class _Refused:
    """The tubes of refused entries, so the scans of those tubes are held with them."""

    def __init__(self) -> None:
        self._accessions: dict[str, int] = {}
        self._specimens: dict[int, tuple[int, str]] = {}
        self._rows: dict[tuple[str, int], int] = {}

    def add(self, entry: OutboxEntry, *, rows: bool = False) -> None:
        """Remember the tubes ``entry`` made offline (its accession pins, its specimens).

        ``rows``: also every local row it made (the server has its own copy from online),
        so whatever names those rows (the visit, the manifest) waits with it.
        """
        if rows:
            for kind, local in entry.local_ids:
                self._rows.setdefault((kind, local), entry.seq)
        taken = entry.accessions()
        for accession in taken:
            self._accessions.setdefault(accession, entry.seq)
        specimens = [local for kind, local in entry.local_ids if kind == "specimen"]
        for n, local in enumerate(specimens):
            label = taken[n] if n < len(taken) else f"specimen {local}"
            self._specimens.setdefault(local, (entry.seq, label))

    def add_rows(self, seq: int, rows: list[tuple[str, int]]) -> None:
        """Hold whatever names ``rows`` (local ids) with refused entry ``seq``."""
        for row in rows:
            self._rows.setdefault(row, seq)

    def root_of(self, command: Command[Any]) -> tuple[int, str] | None:
        """``(seq, tube)`` of the refused entry ``command`` depends on, None if none."""
        for name in ("scanned", "accession", "accessions"):
            value = getattr(command, name, None)
            for one in value if isinstance(value, tuple) else (value,):
                if isinstance(one, str) and one.strip() in self._accessions:
                    return self._accessions[one.strip()], f"tube {one.strip()}"
        for local in getattr(command, "specimen_ids", None) or ():
            if local in self._specimens:
                seq, label = self._specimens[local]
                return seq, label if label.startswith("specimen") else f"tube {label}"
        if self._rows:
            for kind, local in _named_ids(command):
                if (kind, local) in self._rows:
                    return self._rows[kind, local], f"{kind.replace('_', ' ')} {local}"
        return None


def _named_ids(command: Command[Any]) -> list[tuple[str, int]]:
    """The ``(kind, id)`` pairs ``command``'s id fields hold (numbers as ints)."""
    found: list[tuple[str, int]] = []

    def note(kind: str, value: int) -> int:
        found.append((kind, value))
        return value

    map_ids(command, ID_FIELDS.get(type(command).__name__, {}), note)
    return found


def _pair(entry: OutboxEntry, applied: Applied) -> dict[tuple[str, int], int]:
    """Local ids of ``entry`` paired with the server's from its result (same order)."""
    server_ids = applied.ids or result_ids(entry.command_type, applied.result)
    if not entry.local_ids or len(server_ids) != len(entry.local_ids):
        return {}
    return {
        (kind, local): remote
        for (kind, local), (_kind, remote) in zip(entry.local_ids, server_ids, strict=True)
        if local != remote
    }


def _mark_synced(
    store: LocalStore,
    synced: list[tuple[int, datetime]],
    ids: dict[tuple[str, int], int] | None = None,
) -> None:
    """Mark ``synced`` (and record ``ids``) in one local transaction and empty it."""
    if not synced and not ids:
        return
    with store() as uow:
        for seq, at in synced:
            uow.outbox.mark_synced(seq, at)
        for (kind, local), remote in (ids or {}).items():
            uow.ids.put(kind, local, remote)
        uow.commit()
    synced.clear()
