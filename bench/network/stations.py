"""The station processes: chairs (MA, courier, lab receiver) and clinicians at the board.

Each runs in its own process (spawn) with its own engine and bus from the product's
bootstrap (:func:`labdesk.bootstrap.bootstrap`), signed in as synthetic users, and sends
every state change as the screens do: a command through ``bus.handle``, reads through
``bus.query``. A chair's round, for a fixed, seeded order of its waiting patients:

1. **patient scan**: ``OpenEncounterByWristband`` (the audited lookup) and the visit loaded;
2. **collection**: ``CollectSpecimens`` for the draw plan's tubes (accession IDs issued);
3. **label print**: ``PrintEncounterLabels`` to the parent's raw-9100 printer sink (a
   seeded share of taps is sent twice with the same key: the bus must print nothing twice);
4. **scan-back** of each tube (``ScanBack``), which verifies it;

and every :data:`PICKUP_EVERY` visits the courier (``StartPickup``, a **pickup scan** per
tube, some tubes scanned twice, ``FinishPickup`` with the password) and the lab receiver
(``OpenReceipt``, a **lab receipt** scan per tube, ``CloseReceipt``) move them on.

A clinician alternates **board load** (``load_board``, refresh and first page) and **board
re-filter** (``query_board`` with the next filter).

Faults: a command that fails because the connection was lost, or with a serialization
failure or deadlock, is sent again with the *same* command (same idempotency key) until it
goes through; ``AlreadyHandled`` on such a retry means the first attempt had committed. Those
retries are counted and the retried action's time includes them.
"""

from __future__ import annotations

import random
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any, TypeVar

from bench.network.world import PASSWORD, Chair, Clinician
from labdesk.bootstrap import Core, bootstrap
from labdesk.config import Config
from labdesk.custody.commands import (
    CloseReceipt,
    FinishPickup,
    OpenReceipt,
    ReceiveScan,
    ScanPickup,
    StartPickup,
)
from labdesk.domain.errors import StorageError
from labdesk.domain.order import TestStatus
from labdesk.domain.overdue import OverduePolicy
from labdesk.domain.people import Role
from labdesk.kernel.changes import Topic, encode
from labdesk.kernel.dto import SignedInUser
from labdesk.kernel.messagebus import AlreadyHandled, Command, MessageBus
from labdesk.printing.dto import PrintSetup
from labdesk.printing.spooler import process_due_jobs
from labdesk.results.board import load_board, query_board
from labdesk.results.board_query import PAGE_SIZE, BoardQuery, SortKey
from labdesk.station.commands import (
    CollectSpecimens,
    CompleteEncounter,
    OpenEncounterByWristband,
    PrintEncounterLabels,
    ScanBack,
)
from labdesk.station.dto import ContainerCollection, EncounterView
from labdesk.station.encounter import load_encounter

PICKUP_EVERY = 2
"""Visits between two courier pickups at a chair."""
DOUBLE_TAP = 0.1
"""Share of label prints sent a second time with the same idempotency key."""
RESCAN = 0.1
"""Share of tubes the courier scans a second time (a new scan, not a replay)."""
RETRY_FOR_S = 60.0
"""How long an action keeps retrying after lost connections before the station gives up."""
_RETRY_STATES = {"40001": "serialization", "40P01": "deadlock"}

T = TypeVar("T")


@dataclass
class StationPlan:
    """What one station process does (picklable)."""

    name: str
    url: str
    actions: int
    seed: int
    think_s: float
    printer_uri: str = ""
    chair: Chair | None = None
    clinician: Clinician | None = None


@dataclass
class StationReport:
    """What a station process hands back to the parent at the end."""

    name: str
    timings: dict[str, list[float]] = field(default_factory=dict)
    actions: int = 0
    serialization_retries: int = 0
    deadlock_retries: int = 0
    reconnect_retries: int = 0
    replays_refused: int = 0
    rescans_refused: int = 0
    marks: list[tuple[str, float]] = field(default_factory=list)
    starts: list[tuple[str, float]] = field(default_factory=list)
    """The same changes timed from the start of the committing request (an upper bound)."""
    """``(topic:id, wall time)`` of changes this station committed, for the live delay."""
    errors: list[str] = field(default_factory=list)


def _sqlstate(exc: BaseException) -> str | None:
    seen: BaseException | None = exc
    while seen is not None:
        orig = getattr(seen, "orig", None)
        state = getattr(orig, "sqlstate", None) or getattr(seen, "sqlstate", None)
        if state:
            return str(state)
        seen = seen.__cause__ or seen.__context__
    return None


def connection_lost(exc: BaseException) -> bool:
    """True when ``exc`` is a lost or refused database connection (a server restart)."""
    state = _sqlstate(exc)
    if state is not None:
        return state.startswith(("08", "57P"))
    text = str(exc).lower()
    seen: BaseException | None = exc
    while seen is not None:
        text += " " + str(seen).lower()
        seen = seen.__cause__ or seen.__context__
    return any(
        words in text
        for words in (
            "server closed the connection",
            "connection failed",  # a new connection during the restart
            "the database system is",  # ... shutting down / starting up / in recovery mode
            "connection refused",
            "consuming input failed",
            "connection is closed",
            "connection reset",
            "cannot reach the database",
            "terminating connection",
            "connection timeout",
            "ssl syscall",
            "eof detected",
            "broken pipe",
        )
    )


class Station:
    """The running state of one station process."""

    def __init__(self, plan: StationPlan, core: Core, progress: Queue[Any]) -> None:
        self.plan = plan
        self.core = core
        self.bus: MessageBus = core.bus
        self.report = StationReport(plan.name)
        self.rng = random.Random(plan.seed)
        self._progress = progress
        self._tried: set[str] = set()
        """Idempotency keys of the commands already sent at least once."""

    # ---------------------------------------------------------------- timing and retries

    def timed(self, action: str, call: Callable[[], T], *, count: bool = True) -> T:
        """Run ``call`` retrying lost connections and lost races; record its time."""
        started = time.perf_counter()
        result = self.retrying(call)
        self.report.timings.setdefault(action, []).append((time.perf_counter() - started) * 1e3)
        if count:
            self.report.actions += 1
            if self.report.actions % 10 == 0:
                self._progress.put(("progress", self.plan.name, 10))
        if self.plan.think_s > 0:
            time.sleep(self.plan.think_s * (0.5 + self.rng.random()))
        return result

    def retrying(self, call: Callable[[], T]) -> T:
        """``call()``, again after a lost connection, serialization failure or deadlock."""
        deadline = time.monotonic() + RETRY_FOR_S
        pause = 0.05
        while True:
            try:
                return call()
            except StorageError as exc:
                state = _sqlstate(exc)
                if state in _RETRY_STATES:
                    if state == "40001":
                        self.report.serialization_retries += 1
                    else:
                        self.report.deadlock_retries += 1
                elif connection_lost(exc) and time.monotonic() < deadline:
                    self.report.reconnect_retries += 1
                    time.sleep(pause)
                    pause = min(1.0, pause * 2)
                else:
                    raise

    def send(self, command: Command[T], actor: SignedInUser) -> T | None:
        """``bus.handle`` retried with the same key; None when a retry found it handled.

        The keys sent are remembered across calls, so a retry from an outer
        :meth:`retrying` (the action's read failed after its command committed) is known as
        one. A *first* attempt refused as already handled is a real double send: raised.
        """
        key = command.idempotency_key

        def once() -> T | None:
            first = key not in self._tried
            self._tried.add(key)
            try:
                return self.bus.handle(command, actor)
            except AlreadyHandled:
                if first:
                    raise
                return None

        return self.retrying(once)

    def run(self) -> None:
        """Do the station's actions (each kind of station says how)."""
        raise NotImplementedError

    def mark(self, topic: Topic, row_id: int, answered_at: float, started_at: float) -> None:
        """Note a committed change the live feed should announce, from ``answered_at``.

        ``answered_at`` is the wall time this station got the command's answer (its own
        screen shows the change): the delay is how much later another station hears it.
        Taken inside the timed call, before the station's think time (a mark taken after it
        made every delay 0). ``started_at``, when the request was sent, gives the upper
        bound (it includes the command's own time, lock waits and retries).
        """
        self.report.marks.append((encode(topic, row_id), answered_at))
        self.report.starts.append((encode(topic, row_id), started_at))


def _actor(user_id: int, name: str, role: Role, station: str) -> SignedInUser:
    return SignedInUser(
        id=user_id, username=name, display_name=name, role=role, initials="NT", station=station
    )


# ---------------------------------------------------------------- a chair


class ChairRun(Station):
    """An MA at the chair, its courier and the lab receiving from it."""

    def __init__(self, plan: StationPlan, core: Core, progress: Queue[Any]) -> None:
        super().__init__(plan, core, progress)
        assert plan.chair is not None
        self.chair = plan.chair
        code = self.chair.station_code
        self.ma = _actor(self.chair.ma_id, "ma", Role.MEDICAL_ASSISTANT, code)
        self.courier = _actor(self.chair.courier_id, "courier", Role.COURIER, code)
        self.receiver = _actor(self.chair.receiver_id, "lab", Role.LAB_RECEIVER, "LAB")
        from printers.spool_adapter import LabelRendererAdapter, open_spool_printer

        self.opener = open_spool_printer
        self.setup = PrintSetup(
            station_code=code,
            opener=open_spool_printer,
            renderer=LabelRendererAdapter(),
            label_printer_override=plan.printer_uri,
        )

    def run(self) -> None:
        visits = list(self.chair.visits)
        self.rng.shuffle(visits)
        ready: list[str] = []
        for n, visit in enumerate(visits):
            if self.report.actions >= self.plan.actions:
                break
            ready.extend(self.visit(visit.patient_id, visit.wristband))
            if (n + 1) % PICKUP_EVERY == 0 or self.report.actions >= self.plan.actions:
                self.ship(ready)
                ready = []
        if ready:
            self.ship(ready)

    def visit(self, patient_id: int, wristband: str) -> list[str]:
        """One patient at the chair; the accessions of the verified tubes."""
        del patient_id
        scan = OpenEncounterByWristband(scanned=wristband, station_code=self.chair.station_code)

        def open_visit() -> EncounterView:
            eid = self.send(scan, self.ma)
            if eid is None:  # the open committed before the connection went: resume it
                eid = self.bus.handle(
                    OpenEncounterByWristband(
                        scanned=wristband, station_code=self.chair.station_code
                    ),
                    self.ma,
                )
            return self.bus.query(load_encounter, self.ma, eid)

        view = self.timed("patient scan", open_visit)
        containers = tuple(
            ContainerCollection(c.container_code, c.ordered_test_ids, volume_ml=c.nominal_volume_ml)
            for c in view.plan.containers
        )
        collect = CollectSpecimens(encounter_id=view.id, containers=containers)

        answered_at = [0.0]
        started_at = time.time()

        def collect_tubes() -> list[tuple[int, str]]:
            result = self.send(collect, self.ma)
            answered_at[0] = time.time()
            if result is not None:
                return [(s.id, s.accession) for s in result.specimens]
            again = self.bus.query(load_encounter, self.ma, view.id)
            return [(s.id, s.accession) for s in again.specimens]

        tubes = self.timed("collection", collect_tubes)
        for specimen_id, _ in tubes:
            self.mark(Topic.SPECIMENS, specimen_id, answered_at[0], started_at)
        printing = PrintEncounterLabels(setup=self.setup, encounter_id=view.id)
        outcome = self.timed("label print", lambda: self.send(printing, self.ma))
        if outcome is not None and not outcome.all_printed:
            problems = {f"{label.status}: {label.message}" for label in outcome.labels}
            self.report.errors.append(f"labels not printed: {'; '.join(sorted(problems))}")
        if self.rng.random() < DOUBLE_TAP:
            try:
                self.retrying(lambda: self.bus.handle(printing, self.ma))
                self.report.errors.append("a label print sent twice was done twice")
            except AlreadyHandled:
                self.report.replays_refused += 1
        self._spool_if_waiting(view.id)
        for _, accession in tubes:
            check = ScanBack(encounter_id=view.id, scanned=accession)
            self.timed("scan-back", lambda c=check: self.send(c, self.ma))  # type: ignore[misc]
        self.send(CompleteEncounter(encounter_id=view.id), self.ma)  # one key for every retry
        return [acc for _, acc in tubes]

    def _spool_if_waiting(self, encounter_id: int) -> None:
        """Send labels left queued (an after-commit step cut off by a lost connection)."""
        view = self.retrying(lambda: self.bus.query(load_encounter, self.ma, encounter_id))
        if all(s.labelled for s in view.specimens):
            return
        self.retrying(
            lambda: process_due_jobs(
                self.core.uow, self.core.clock, self.opener, station_code=self.chair.station_code
            )
        )

    def ship(self, accessions: list[str]) -> None:
        """The courier picks the tubes up; the lab receives them."""
        if not accessions:
            return
        start = StartPickup(site_code=self.chair.site_code, route_code=self.chair.route_code)

        def open_manifest() -> str:
            view = self.send(start, self.courier)
            if view is None:
                view = self.bus.handle(
                    StartPickup(site_code=self.chair.site_code, route_code=self.chair.route_code),
                    self.courier,
                )
            return view.number

        number = self.timed("pickup start", open_manifest)
        for accession in accessions:
            scan = ScanPickup(manifest_number=number, scanned=accession)
            self.timed("pickup scan", lambda s=scan: self.send(s, self.courier))  # type: ignore[misc]
            if self.rng.random() < RESCAN:
                again = ScanPickup(manifest_number=number, scanned=accession)
                feedback = self.timed("pickup scan", lambda a=again: self.send(a, self.courier))  # type: ignore[misc]
                if feedback is not None and feedback.recorded:
                    self.report.errors.append(f"{accession} was picked up twice")
                else:
                    self.report.rescans_refused += 1
        finish = FinishPickup(manifest_number=number, secret=PASSWORD, leave_behind=True)
        self.timed("pickup finish (password)", lambda: self.send(finish, self.courier))
        receipt = OpenReceipt(scanned=number)
        self.timed("receipt open", lambda: self.send(receipt, self.receiver))
        for accession in accessions:
            receive = ReceiveScan(manifest_number=number, scanned=accession)
            self.timed("lab receipt", lambda r=receive: self.send(r, self.receiver))  # type: ignore[misc]
        close = CloseReceipt(manifest_number=number)
        self.timed("receipt close", lambda: self.send(close, self.receiver))


# ---------------------------------------------------------------- a clinician


class ClinicianRun(Station):
    """A clinician loading the board and re-filtering it."""

    def run(self) -> None:
        assert self.plan.clinician is not None
        doctor = self.plan.clinician
        actor = _actor(doctor.user_id, f"doc{doctor.index}", Role.CLINICIAN, "BOARD")
        policy = OverduePolicy()
        filters = [
            BoardQuery(status=TestStatus.RECEIVED),
            BoardQuery(text="CBC"),
            BoardQuery(sort=SortKey.PATIENT),
            BoardQuery(include_closed=True),
            *(BoardQuery(patient=name) for name in doctor.family_names[:4]),
        ]
        self.rng.shuffle(filters)
        now_s = time.time()
        n = 0
        while self.report.actions < self.plan.actions:
            if n % 2 == 0:
                board = self.timed(
                    "board load",
                    lambda: self.bus.query(
                        load_board, self.bus.clock, actor, policy, audit=True, station="BOARD"
                    ),
                )
                del board
                now_s = time.time()
            else:
                query = filters[(n // 2) % len(filters)]
                self.timed(
                    "board re-filter",
                    lambda q=query, at=now_s: self.bus.query(  # type: ignore[misc]
                        query_board, actor, q, at, offset=0, limit=PAGE_SIZE, with_total=True
                    ),
                )
            n += 1


# ---------------------------------------------------------------- process entry point


def station_main(plan: StationPlan, go: Event, results: Queue[Any]) -> None:
    """Process entry point: bootstrap, wait for the start, run, hand the report back."""
    report = StationReport(plan.name)
    core: Core | None = None
    try:
        with tempfile.TemporaryDirectory(prefix="labdesk-net-") as data:
            config = Config(database_url=plan.url, data_dir=Path(data))
            core = bootstrap(config, auto_upgrade=False)
            run: Station = (
                ChairRun(plan, core, results)
                if plan.chair is not None
                else ClinicianRun(plan, core, results)
            )
            report = run.report
            results.put(("ready", plan.name, 0))
            go.wait()
            run.run()
    except Exception as exc:  # reported to the parent, which fails the run
        report.errors.append(f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=6)}")
    finally:
        if core is not None:
            core.close()
        results.put(("report", plan.name, report))
