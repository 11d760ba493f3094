"""The station's switch between the server and the station file (:class:`StationMode`).

Online, :attr:`StationRouter.uow` and :attr:`StationRouter.bus` are the server's. Offline
(and while syncing) the bus runs the same handlers on an
:class:`~labdesk.adapters.downtime.offline_uow.OfflineUnitOfWork` over the station file and
appends the command to the outbox in that same transaction, so the local effect and its
entry commit once, together. Only the work a station must keep doing during an outage is
allowed offline (:data:`OFFLINE_COMMANDS`); anything else raises :class:`OfflineRefused`.

A server that stops answering while a command is sent (a ``StorageError``) switches the
station offline and the command runs offline with the same idempotency key. If the server
did commit it before the answer was lost, replay finds the key already handled and sends
nothing twice (the local copy is then discarded with the other offline rows).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import select

from labdesk.adapters.downtime.ids import audit_entries_after, last_audit_id, order_test_ids
from labdesk.adapters.downtime.offline_uow import OfflineUnitOfWork, OfflineUnitOfWorkFactory
from labdesk.adapters.downtime.station_store import StationStore
from labdesk.adapters.orm import print_jobs
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.domain.clock import Clock
from labdesk.domain.errors import StorageError
from labdesk.domain.printing import PrintJobStatus
from labdesk.downtime.audit_copy import RecordOfflineAudit
from labdesk.downtime.blocks import BlockPolicy
from labdesk.downtime.mode import Connectivity, OfflineRefused, StationStatus
from labdesk.downtime.offline import queue_command
from labdesk.downtime.outbox import OutboxState, new_entry
from labdesk.downtime.ports import SyncServer
from labdesk.downtime.reconcile import command_words
from labdesk.downtime.replay import replay_outbox, result_ids
from labdesk.downtime.sync import report_blocks, top_up_blocks
from labdesk.kernel.dto import SignedInUser
from labdesk.kernel.messagebus import Command, MessageBus
from labdesk.ports import UnitOfWork, UowFactory
from labdesk.printing.commands import PrintSpecimenLabels, RecordOfflineSpecimenLabels
from labdesk.printing.dto import PrintJobRow
from labdesk.replica.refresh import replica_refreshed_at, settle_after_replay
from labdesk.station.commands import PrintEncounterLabels, RecordOfflineLabels
from labdesk.station.dto import PrintOutcome

logger = logging.getLogger(__name__)

R = TypeVar("R")
P = ParamSpec("P")
T = TypeVar("T")

SESSION_COMMANDS: frozenset[str] = frozenset(
    {
        "SignIn",
        "SignInWithBadge",
        "UnlockSession",
        "UnlockSessionWithBadge",
        "LockSession",
        "SignOut",
    }
)
"""Sign-in and session commands: checked offline against the users in the replica (those
who signed in here lately; a disabled account is refused once that reached the replica)."""

OFFLINE_COMMANDS: frozenset[str] = frozenset(
    {
        # the visit at the station
        "OpenEncounter",
        "OpenEncounterByWristband",
        "ConfirmIdentity",
        "ConfirmIdentityByWristband",
        "RecordPatientWeight",
        "CollectSpecimens",
        "ScanBack",
        "CompleteEncounter",
        "AbandonEncounter",
        # labels
        "PrintEncounterLabels",
        "PrintSpecimenLabels",
        # courier pickup and lab receipt
        "StartPickup",
        "ScanPickup",
        "FinishPickup",
        "OpenReceipt",
        "ReceiveScan",
        "CloseReceipt",
        # allowed, and flagged for review on replay
        "PlaceOrder",
        # signing in and out at this station, against the replica's users
        *SESSION_COMMANDS,
    }
)
"""Commands a station may do offline (by class name); everything else needs the server."""

LOCAL_ONLY_COMMANDS: frozenset[str] = frozenset(
    {"PrintEncounterLabels", "PrintSpecimenLabels", *SESSION_COMMANDS}
)
"""Offline commands done at the station only, never queued: their ``PrintSetup`` holds the
station's printer opener (not portable), and the labels must not be printed again by the
server; what the server keeps of them is queued instead (``RecordOfflineLabels``,
``RecordOfflineSpecimenLabels``). Session commands carry a password or PIN, which must never
be written to the outbox: the audit entries they wrote are queued instead
(:mod:`labdesk.downtime.audit_copy`)."""


class _OfflineBus(MessageBus):
    """The bus on the station file: each command's outbox entry joins its transaction.

    Services commit themselves, so the entry is appended by the unit of work's first commit
    (the one carrying the effect and the idempotency key); when the handler returns, its
    pins and local ids are filled in before the bus's own commit.
    """

    def __init__(self, factory: OfflineUnitOfWorkFactory, clock: Clock) -> None:
        super().__init__(self._make_uow, clock)
        self._factory = factory
        self._local = threading.local()
        self.audit_copies = 0
        """Outbox entries holding the audit of an offline sign-in (counted as pending)."""

    def handle(
        self, command: Command[R], actor: SignedInUser | None = None, *, after_commit: bool = True
    ) -> R:
        before = 0
        if type(command).__name__ in SESSION_COMMANDS:
            with self._factory() as uow:
                before = last_audit_id(uow.session)
        self._local.current = (command, actor, before)
        try:
            return super().handle(command, actor, after_commit=after_commit)
        finally:
            self._local.current = None

    def _make_uow(self) -> OfflineUnitOfWork:
        uow = self._factory()
        current = getattr(self._local, "current", None)
        if current is None:
            return uow
        self._local.current = None  # after-commit steps get plain units of work
        command, actor, before = current
        name = type(command).__name__
        if name in SESSION_COMMANDS:
            # The command holds a secret and stays here; its audit entries go to the server.
            uow.on_first_commit = lambda u: self._append_audit(u, before)
        elif name not in LOCAL_ONLY_COMMANDS:
            uow.on_first_commit = lambda u: self._append(u, command, actor, None)
        return uow

    def _append_audit(self, uow: OfflineUnitOfWork, before: int) -> None:
        entries = audit_entries_after(uow.session, before)
        if entries:
            record = RecordOfflineAudit(entries=entries)
            uow.outbox.append(new_entry(record, None, self.clock))
            self.audit_copies += 1

    def _append(
        self, uow: OfflineUnitOfWork, command: Command[Any], actor: SignedInUser | None, result: Any
    ) -> None:
        pins = tuple(uow.counters.pins)
        local_ids = _local_ids(uow, command, result)
        uow.queued_seq = uow.outbox.append(new_entry(command, actor, self.clock, pins, local_ids))

    def before_commit(
        self, uow: UnitOfWork, command: Command[Any], actor: SignedInUser | None, result: Any
    ) -> None:
        if not isinstance(uow, OfflineUnitOfWork):  # pragma: no cover - wiring error
            raise TypeError("the offline bus needs an OfflineUnitOfWork")
        if type(command).__name__ in LOCAL_ONLY_COMMANDS:
            return
        if uow.queued_seq is None:  # the handler did not commit itself
            uow.on_first_commit = None
            self._append(uow, command, actor, result)
            return
        local_ids = _local_ids(uow, command, result)
        uow.outbox.set_ids(uow.queued_seq, tuple(uow.counters.pins), local_ids)


def _local_ids(
    uow: OfflineUnitOfWork, command: Command[Any], result: Any
) -> tuple[tuple[str, int], ...]:
    """The local ids ``command`` created, an offline order's tests included (replay pairs them)."""
    return result_ids(
        type(command).__name__, result, lambda order_id: order_test_ids(uow.session, order_id)
    )


class _RouterBus(MessageBus):
    """What screens hold: sends each command and query where the router says."""

    def __init__(self, router: StationRouter) -> None:
        super().__init__(router._server, router._clock)
        self._router = router

    def handle(
        self, command: Command[R], actor: SignedInUser | None = None, *, after_commit: bool = True
    ) -> R:
        router = self._router
        if router.status().connectivity is Connectivity.ONLINE:
            try:
                result = router._online_bus.handle(command, actor, after_commit=after_commit)
            except StorageError as exc:
                router.go_offline(exc.message)
            else:
                router._changed.set()  # the visit just opened must be in the replica soon
                return result
        return router._handle_offline(command, actor)

    def query(
        self, fn: Callable[Concatenate[UnitOfWork, P], T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        router = self._router
        if router.status().connectivity is Connectivity.ONLINE:
            try:
                return router._online_bus.query(fn, *args, **kwargs)
            except StorageError as exc:
                router.go_offline(exc.message)
        return router._offline_bus.query(fn, *args, **kwargs)


class StationRouter:
    """:class:`labdesk.downtime.mode.StationMode` over the server and the station file."""

    def __init__(
        self,
        server: UnitOfWorkFactory,
        store: StationStore,
        clock: Clock,
        *,
        sync_server: Callable[[], SyncServer],
        refresh: Callable[[], object] | None = None,
    ) -> None:
        self._server = server
        self._store = store
        self._clock = clock
        self._sync_server = sync_server
        self._refresh = refresh
        self._offline = OfflineUnitOfWorkFactory(store)
        self._online_bus = MessageBus(server, clock)
        self._offline_bus = _OfflineBus(self._offline, clock)
        self._bus = _RouterBus(self)
        self._lock = threading.RLock()
        self._subscribers: list[Callable[[StationStatus], None]] = []
        self._resync_lock = threading.Lock()
        self._changed = threading.Event()
        with store() as uow:
            counts = uow.outbox.counts()
        pending = counts[OutboxState.PENDING]
        self._local_conflicts = counts[OutboxState.CONFLICT]
        """Conflict entries in the outbox (they stay there once resolved on the server)."""
        self._status = StationStatus(
            connectivity=Connectivity.OFFLINE if pending else Connectivity.ONLINE,
            offline_since=clock.now() if pending else None,
            reason="offline work is waiting to be sent" if pending else "",
            pending=pending,
            conflicts=counts[OutboxState.CONFLICT],
            replica_refreshed_at=replica_refreshed_at(store),
        )

    # ------------------------------------------------------------ StationMode

    @property
    def uow(self) -> UowFactory:
        """The server's units of work online, the station file's otherwise."""
        if self.status().connectivity is Connectivity.ONLINE:
            return self._server
        return self._offline

    @property
    def bus(self) -> MessageBus:
        """The bus screens use (routes each command and query)."""
        return self._bus

    def status(self) -> StationStatus:
        """The current status (no database round trip)."""
        with self._lock:
            return self._status

    def go_offline(self, reason: str) -> None:
        """Switch to offline work now (idempotent)."""
        with self._lock:
            if self._status.connectivity is not Connectivity.ONLINE:
                return
            logger.warning("station %s goes offline: %s", self._store.station, reason)
            self._set(
                connectivity=Connectivity.OFFLINE, offline_since=self._clock.now(), reason=reason
            )

    def resync(self) -> StationStatus:
        """Replay the outbox, refresh the replica, go online if nothing is left pending."""
        with self._resync_lock:
            with self._lock:
                if self._status.connectivity is Connectivity.ONLINE:
                    return self._status
                self._set(connectivity=Connectivity.SYNCING)
            try:
                server = self._sync_server()
                report = replay_outbox(self._store, server, self._clock)
                if not (report.interrupted or report.left):
                    report_blocks(self._store, server)  # the lab can tell a gap from a loss
                    self._recount()
                    open_items = server.open_conflicts(self._store.station)
                    with self._lock:
                        self._set(conflicts=open_items)
            except StorageError as exc:
                return self._back_offline(exc.message)
            except BaseException:
                self._back_offline("sending the offline work failed")
                raise
            self._recount()
            if report.interrupted or report.left:
                return self._back_offline(report.interrupted or "offline work is still waiting")
            refreshed: datetime | None = None
            if self._refresh is not None:
                try:  # the server has the offline work now: its rows replace the local ones
                    settle_after_replay(self._server, self._store)
                except StorageError as exc:
                    return self._back_offline(exc.message)
                try:
                    self._refresh()
                except StorageError as exc:
                    return self._back_offline(exc.message)
                refreshed = self._clock.now()
            with self._lock:
                self._set(
                    connectivity=Connectivity.ONLINE,
                    offline_since=None,
                    reason="",
                    replica_refreshed_at=refreshed or self._status.replica_refreshed_at,
                )
                return self._status

    def keep_ready(self, policy: BlockPolicy | None = None) -> StationStatus:
        """While online: refresh the replica and top up the accession blocks (heartbeat).

        What the station needs the moment the server goes away. A failure is logged and
        leaves the status as it was; the heartbeat notices a server that is gone.
        """
        with self._resync_lock:
            if self.status().connectivity is not Connectivity.ONLINE:
                return self.status()
            server = self._sync_server()
            open_items = server.open_conflicts(self._store.station)
            with self._lock:  # resolved on the server (here or in Admin): the count follows
                self._set(conflicts=open_items)
            if policy is not None:
                top_up_blocks(self._store, server, self._clock, policy)
            if self._refresh is not None:
                self._refresh()
                with self._lock:
                    self._set(replica_refreshed_at=self._clock.now())
            return self.status()

    def take_changed(self) -> bool:
        """Whether this station changed the server since the last call (then clears it).

        The heartbeat refreshes the replica soon after, not only once a minute: a visit
        opened a few seconds before the server goes away is then in the station file, and
        its collection can go on offline.
        """
        changed = self._changed.is_set()
        self._changed.clear()
        return changed

    def subscribe(self, callback: Callable[[StationStatus], None]) -> Callable[[], None]:
        """Call ``callback`` on every status change; returns the unsubscribe function."""
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    # ------------------------------------------------------------ internals

    def _handle_offline(self, command: Command[R], actor: SignedInUser | None) -> R:
        name = type(command).__name__
        if name not in OFFLINE_COMMANDS:
            raise OfflineRefused(command_words(name), self.status().offline_since)
        copies = self._offline_bus.audit_copies
        try:
            result = self._offline_bus.handle(command, actor)
        finally:  # a refused sign-in is audited too
            added = self._offline_bus.audit_copies - copies
            if added:
                with self._lock:
                    self._set(pending=self._status.pending + added)
        if name not in LOCAL_ONLY_COMMANDS:
            with self._lock:
                self._set(pending=self._status.pending + 1)
        if isinstance(command, PrintEncounterLabels) and isinstance(result, PrintOutcome):
            self._queue_printed(command, result, actor)
        elif isinstance(command, PrintSpecimenLabels) and isinstance(result, list):
            self._queue_printed_by_accession(command, result, actor)
        return result

    def _queue_printed(
        self, command: PrintEncounterLabels, outcome: PrintOutcome, actor: SignedInUser | None
    ) -> None:
        """Queue what the labels printed offline leave on the server (never a reprint)."""
        printed = tuple(label.specimen_id for label in outcome.labels if label.printed)
        if not printed:
            return
        jobs = [label.job_id for label in outcome.labels if label.printed]
        with self._store() as uow:
            uris = uow.session.scalars(
                select(print_jobs.c.printer_uri).where(print_jobs.c.id.in_(jobs))
            ).all()
            record = RecordOfflineLabels(
                encounter_id=command.encounter_id,
                specimen_ids=printed,
                printer_uri=", ".join(sorted(set(uris))),
            )
            queue_command(uow, record, actor, self._clock)
            uow.commit()
        with self._lock:
            self._set(pending=self._status.pending + 1)

    def _queue_printed_by_accession(
        self, command: PrintSpecimenLabels, rows: list[PrintJobRow], actor: SignedInUser | None
    ) -> None:
        """Queue the audit the server keeps of labels printed by accession (no reprint)."""
        done = [r for r in rows if r.status is PrintJobStatus.DONE and r.accession]
        if not done:
            return
        record = RecordOfflineSpecimenLabels(
            accessions=tuple(dict.fromkeys(str(r.accession) for r in done)),
            printer_uri=", ".join(sorted({r.printer_uri for r in done})),
            station_code=command.setup.station_code,
        )
        with self._store() as uow:
            queue_command(uow, record, actor, self._clock)
            uow.commit()
        with self._lock:
            self._set(pending=self._status.pending + 1)

    def _back_offline(self, reason: str) -> StationStatus:
        self._recount()
        with self._lock:
            self._set(
                connectivity=Connectivity.OFFLINE,
                offline_since=self._status.offline_since or self._clock.now(),
                reason=reason,
            )
            return self._status

    def _recount(self) -> None:
        """The outbox's pending count; conflicts only grow here (the server's count of open
        items replaces it once the server answers, see :meth:`keep_ready`)."""
        with self._store() as uow:
            counts = uow.outbox.counts()
        with self._lock:
            self._set(pending=counts[OutboxState.PENDING])
            if self._local_conflicts != counts[OutboxState.CONFLICT]:
                new = counts[OutboxState.CONFLICT] - self._local_conflicts
                self._local_conflicts = counts[OutboxState.CONFLICT]
                self._set(conflicts=self._status.conflicts + max(0, new))

    def _set(self, **changes: Any) -> None:
        """Replace the status (caller holds the lock) and tell the subscribers."""
        old = self._status
        new = StationStatus(**(old.__dict__ | changes))
        if new == old:
            return
        self._status = new
        for callback in list(self._subscribers):
            try:
                callback(new)
            except Exception:  # a broken screen must not break the station
                logger.exception("status subscriber failed")
