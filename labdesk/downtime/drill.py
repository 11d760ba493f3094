"""``labdesk downtime drill``: a scripted outage a clinic runs before a planned one (item 6).

Two stations' worth of work run against the given server through a loopback TCP proxy the
drill controls, so the server itself is never touched:

1. a synthetic drill clinic is added on the server (its own site, two stations, a medical
   assistant and a courier, a few patients with orders; names start with ``DRILL``);
2. each station opens its station file, fills its replica and reserves an accession block
   while online;
3. the proxy black-holes every connection; each station's heartbeat must notice and switch
   to offline work (the switch time is measured);
4. offline, each station identifies its patients by wristband, collects, prints the labels
   to a virtual printer, scans them back and scans them into a pickup manifest; the second
   station also collects one test the first already collected (the conflict);
5. the proxy forwards again; the heartbeats replay the outboxes;
6. the server is checked: every offline action is there exactly once (or is kept as a
   conflict), no accession is used twice, no label job was sent twice, and the custody and
   audit chains verify.

The summary ends with one line (:meth:`DrillReport.line`); the command exits non-zero when
anything was lost or duplicated or a chain does not verify.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from labdesk.access.audit_log import verify_audit_log
from labdesk.access.commands import SignIn
from labdesk.adapters import migrate
from labdesk.adapters.database import make_engine
from labdesk.adapters.downtime.server import ServerSync
from labdesk.adapters.downtime.station_store import StationStore, open_station_store
from labdesk.adapters.net.tcp_proxy import TcpProxy
from labdesk.adapters.orm import patients, print_jobs, specimens
from labdesk.adapters.orm.commands import handled_commands
from labdesk.adapters.orm.downtime import reconciliation_items, replayed_commands
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.custody.commands import ScanPickup, StartPickup
from labdesk.custody.verify import verify_chains
from labdesk.domain.clock import Clock, SystemClock
from labdesk.domain.errors import LabdeskError
from labdesk.domain.order import OrderSource
from labdesk.domain.patient import Sex
from labdesk.domain.people import Role
from labdesk.downtime.blocks import BlockPolicy
from labdesk.downtime.heartbeat import Heartbeat, engine_probe
from labdesk.downtime.mode import Connectivity
from labdesk.downtime.outbox import OutboxState
from labdesk.downtime.router import StationRouter
from labdesk.downtime.sync import top_up_blocks
from labdesk.kernel.dto import SignedInUser
from labdesk.printing.dto import PrintSetup
from labdesk.replica.refresh import refresh_replica
from labdesk.replica.scope import ReplicaScope
from labdesk.seed.builder import ClinicBuilder
from labdesk.seed.names import SyntheticPerson
from labdesk.seed.reference import DEMO_PROVIDER, SiteSpec, StaffSpec, StationSpec
from labdesk.station.commands import (
    CollectSpecimens,
    OpenEncounterByWristband,
    PrintEncounterLabels,
    ScanBack,
)
from labdesk.station.dto import ContainerCollection
from labdesk.station.encounter import load_encounter

logger = logging.getLogger(__name__)

DRILL_TESTS = ("CBC", "BMP")
"""What each drill patient has ordered (two tubes: lavender and a serum tube)."""


class DrillFailed(LabdeskError):
    """The drill could not be run to the end (the server, not a station, is the problem)."""


@dataclass(frozen=True)
class DrillOptions:
    """How big the drill is and how long it waits."""

    visits_per_station: int = 2
    block_size: int = 50
    switch_timeout_s: float = 10.0
    replay_timeout_s: float = 120.0
    heartbeat_interval_s: float = 0.5
    probe_timeout_s: float = 1.5


@dataclass
class DrillReport:
    """What the drill did and found; :meth:`line` is its last printed line."""

    offline_actions: int = 0
    synced: int = 0
    lost: int = 0
    duplicated: int = 0
    conflicts: int = 0
    """Reconciliation items opened (one per refused command)."""
    held: int = 0
    """Offline scans kept unsent with a refused collection (shown with its conflict)."""
    switch_s: float = 0.0
    replay_rate: float = 0.0
    chains_ok: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Nothing lost, nothing twice, every chain verified, and the conflict flagged."""
        return self.lost == 0 and self.duplicated == 0 and self.chains_ok and self.conflicts >= 1

    def line(self) -> str:
        """The summary's last line."""
        return (
            f"drill: {self.offline_actions} actions offline, {self.synced} synced, "
            f"{self.lost} lost, {self.duplicated} duplicated, {self.conflicts} conflicts "
            f"flagged, switch {self.switch_s:.1f} s, replay {self.replay_rate:.0f} actions/s"
        )


@dataclass
class _Station:
    code: str
    store: StationStore
    router: StationRouter
    heartbeat: Heartbeat
    actor: SignedInUser
    courier: SignedInUser
    wristbands: list[str]
    labelled: list[str] = field(default_factory=list)
    """Accessions collected and labelled offline."""


@dataclass(frozen=True)
class _Clinic:
    run: str
    site: str
    stations: tuple[str, str]
    ma: dict[str, str]
    courier: dict[str, str]
    """User names by station (each signs in at its station before the outage)."""
    password: str
    wristbands: dict[str, list[str]]


Progress = Callable[[str], None]


def run_drill(
    server_url: str,
    workdir: Path,
    print_setup: Callable[[str, str], PrintSetup],
    *,
    options: DrillOptions | None = None,
    clock: Clock | None = None,
    progress: Progress | None = None,
) -> DrillReport:
    """Run the drill against ``server_url`` (station files and printer output in ``workdir``).

    ``print_setup(station_code, printer_uri)`` builds a station's print setup (the printer
    layer lives outside the core).

    Raises:
        DrillFailed: the server cannot be reached or its schema is not current.
    """
    opts = options or DrillOptions()
    clock = clock or SystemClock()
    say = progress or (lambda _text: None)
    report = DrillReport()
    server = make_engine(server_url)
    try:
        migrate.require_current(server)
        server_uows = UnitOfWorkFactory(server)
        clinic = _seed(server_uows, clock, workdir, opts)
        say(
            f"drill clinic {clinic.site} set up on the server, "
            f"stations {', '.join(clinic.stations)}"
        )
        url = make_url(server_url)
        with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
            stations = [
                _open_station(code, clinic, proxy.rewrite_url(server_url), workdir, clock, opts)
                for code in clinic.stations
            ]
            try:
                _drill(stations, clinic, proxy, workdir, print_setup, opts, report, say)
            finally:
                for station in stations:
                    station.heartbeat.stop()
                    station.store.close()
        _check(server_uows, clock, stations, clinic, report, say)
    finally:
        server.dispose()
    return report


def _seed(uows: UnitOfWorkFactory, clock: Clock, workdir: Path, opts: DrillOptions) -> _Clinic:
    """A drill clinic of its own on the server (unique per run, all synthetic)."""
    run = f"{secrets.randbelow(10**5):05d}"  # MRNs stay short enough for the label
    site = f"DRILL-{run}"
    codes = (f"{site}-A", f"{site}-B")
    ma: dict[str, str] = {}
    courier: dict[str, str] = {}
    password = secrets.token_urlsafe(18)  # the drill's users sign in with it, once
    bands: dict[str, list[str]] = {}
    with uows() as uow:
        build = ClinicBuilder(uow, clock)
        build.catalog()
        build.site(SiteSpec(site, f"Downtime drill {run}"))
        for n, code in enumerate(codes):
            printer = (workdir / "printer" / code).as_uri()
            build.station(
                StationSpec(code, f"Drill chair {n + 1}", site, label_printer_uri=printer)
            )
            for role, who, users in (
                (Role.MEDICAL_ASSISTANT, "ma", ma),
                (Role.COURIER, "courier", courier),
            ):
                name = f"drill-{who}-{run}-{n}"
                spec = StaffSpec(name, f"Drill {who} {n}", role, "DR")
                build.user(spec, password=password, enforce_policy=False)
                users[code] = name
            bands[code] = []
            for visit in range(opts.visits_per_station):
                mrn = f"D{run}{n}{visit:02d}"
                person = SyntheticPerson.named(
                    mrn,
                    "Drill",
                    f"Patient{n}{visit}",
                    date(1980, 1, 1) + timedelta(days=visit),
                    Sex.UNKNOWN,
                )
                patient = build.patient(person, wristband=f"WB-{mrn}")
                assert patient.id is not None
                build.order(
                    patient.id,
                    DRILL_TESTS,
                    placer=f"DRILL{run}{n}{visit:02d}",
                    provider=DEMO_PROVIDER,
                    source=OrderSource.HL7,
                    ordered_at=clock.now() - timedelta(minutes=30),
                )
                bands[code].append(f"WB-{mrn}")
        uow.commit()
    return _Clinic(run, site, codes, ma, courier, password, bands)


def _open_station(
    code: str, clinic: _Clinic, url: str, workdir: Path, clock: Clock, opts: DrillOptions
) -> _Station:
    """The station's file, router and heartbeat, with its replica and block filled online."""
    engine = make_engine(url, timeout_ms=int(opts.probe_timeout_s * 1000))
    uows = UnitOfWorkFactory(engine)
    store = open_station_store(workdir / f"{code}.sqlite3", code)
    scope = ReplicaScope(station=code)

    def refresh() -> object:
        return refresh_replica(uows, store, scope, clock)

    router = StationRouter(
        uows, store, clock, sync_server=lambda: ServerSync(uows, clock), refresh=refresh
    )
    ma = router.bus.handle(SignIn(username=clinic.ma[code], password=clinic.password, station=code))
    courier = router.bus.handle(
        SignIn(username=clinic.courier[code], password=clinic.password, station=code)
    )
    refresh()  # after the sign-ins: they are what keeps these users in the replica
    top_up_blocks(store, ServerSync(uows, clock), clock, BlockPolicy(size=opts.block_size))
    heartbeat = Heartbeat(
        router,
        engine_probe(url, timeout_s=opts.probe_timeout_s),
        interval_s=opts.heartbeat_interval_s,
        timeout_s=opts.probe_timeout_s,
    )
    heartbeat.start()
    return _Station(code, store, router, heartbeat, ma, courier, clinic.wristbands[code])


def _drill(
    stations: list[_Station],
    clinic: _Clinic,
    proxy: TcpProxy,
    workdir: Path,
    print_setup: Callable[[str, str], PrintSetup],
    opts: DrillOptions,
    report: DrillReport,
    say: Progress,
) -> None:
    say("cutting the link to the server (every connection black-holed)")
    cut = time.monotonic()
    proxy.black_hole()
    proxy.cut()
    switched = _wait(
        lambda: all(s.router.status().connectivity is not Connectivity.ONLINE for s in stations),
        opts.switch_timeout_s,
    )
    report.switch_s = time.monotonic() - cut
    if not switched:
        raise DrillFailed(
            f"The stations did not switch to offline work within {opts.switch_timeout_s:.0f} s.",
            hint="Check the heartbeat settings; nothing was done offline.",
        )
    say(f"both stations offline after {report.switch_s:.1f} s")
    first = stations[0]
    for station in stations:
        printer = (workdir / "printer" / station.code).as_uri()
        setup = print_setup(station.code, printer)
        bands = list(station.wristbands)
        if station is not first:
            bands.append(first.wristbands[0])  # the same ordered tests, drawn twice: the conflict
        accessions = []
        for band in bands:
            accessions += _visit(station, setup, band)
        station.labelled.extend(accessions)
        _pickup(station, clinic, accessions)
        say(
            f"{station.code}: {len(bands)} visits, {len(accessions)} tubes labelled and "
            "scanned offline"
        )
    for station in stations:
        with station.store() as uow:
            report.offline_actions += uow.outbox.counts()[OutboxState.PENDING]
    say("restoring the link; the stations replay their outboxes")
    proxy.forward()
    started = time.monotonic()
    done = _wait(
        lambda: all(s.router.status().connectivity is Connectivity.ONLINE for s in stations),
        opts.replay_timeout_s,
    )
    seconds = time.monotonic() - started
    if not done:
        report.notes.append(f"replay had not finished after {opts.replay_timeout_s:.0f} s")
    report.replay_rate = report.offline_actions / seconds if seconds > 0 else 0.0


def _visit(station: _Station, setup: PrintSetup, wristband: str) -> list[str]:
    """One offline visit: wristband, collect, labels, scan-back; returns the accessions."""
    bus = station.router.bus
    actor = station.actor
    eid = bus.handle(OpenEncounterByWristband(scanned=wristband, station_code=station.code), actor)
    view = bus.query(load_encounter, actor, eid)
    containers = tuple(
        ContainerCollection(c.container_code, c.ordered_test_ids, volume_ml=c.nominal_volume_ml)
        for c in view.plan.containers
    )
    if not containers:
        return []
    result = bus.handle(CollectSpecimens(encounter_id=eid, containers=containers), actor)
    printed = bus.handle(PrintEncounterLabels(setup=setup, encounter_id=eid), actor)
    if not printed.all_printed:
        why = "; ".join(f"{label.accession}: {label.message}" for label in printed.failures)
        raise DrillFailed(
            f"Labels did not print at {station.code} offline: {why}",
            hint="Fix the label layout or the virtual printer and run the drill again.",
        )
    accessions = [s.accession for s in result.specimens]
    for accession in accessions:
        bus.handle(ScanBack(encounter_id=eid, scanned=accession), actor)
    return accessions


def _pickup(station: _Station, clinic: _Clinic, accessions: list[str]) -> None:
    bus = station.router.bus
    courier = station.courier
    manifest = bus.handle(StartPickup(site_code=clinic.site, station_code=station.code), courier)
    for accession in accessions:
        bus.handle(ScanPickup(manifest_number=manifest.number, scanned=accession), courier)


def _check(
    uows: UnitOfWorkFactory,
    clock: Clock,
    stations: list[_Station],
    clinic: _Clinic,
    report: DrillReport,
    say: Progress,
) -> None:
    """Count on the server what arrived, what is missing and what is there twice.

    Lost: an offline action the server has neither done nor refused. Duplicated: a drill
    tube labelled offline that is on the server more than once or under another accession
    (more drill specimens than distinct offline accessions), or a label job sent twice.
    """
    keys: dict[str, OutboxState] = {}
    offline_accessions: set[str] = set()
    for station in stations:
        offline_accessions.update(station.labelled)
        with station.store() as uow:
            for entry in uow.outbox.all():
                keys[entry.key] = entry.state
    with uows() as uow:
        session = uow.session
        handled = set(
            session.scalars(
                select(handled_commands.c.idempotency_key).where(
                    handled_commands.c.idempotency_key.in_(keys)
                )
            )
        )
        refused = set(
            session.scalars(
                select(replayed_commands.c.idempotency_key).where(
                    replayed_commands.c.idempotency_key.in_(keys),
                    replayed_commands.c.outcome.in_(("refused", "held", "diverged")),
                )
            )
        )
        drill_patients = select(patients.c.id).where(patients.c.mrn.like(f"D{clinic.run}%"))
        on_server = list(
            session.scalars(
                select(specimens.c.accession).where(specimens.c.patient_id.in_(drill_patients))
            )
        )
        sent_twice = session.execute(
            select(print_jobs.c.specimen_id)
            .where(
                print_jobs.c.station_code.in_(clinic.stations),
                print_jobs.c.sent_at.is_not(None),
                print_jobs.c.reprint_of_id.is_(None),
            )
            .group_by(print_jobs.c.specimen_id)
            .having(func.count() > 1)
        ).all()
        custody = verify_chains(uow)
        audit = verify_audit_log(uow, clock, None, record=False)
    report.synced = sum(1 for k in keys if k in handled)
    report.conflicts = len(
        set(
            _scalars(
                uows,
                select(reconciliation_items.c.idempotency_key).where(
                    reconciliation_items.c.idempotency_key.in_(keys)
                ),
            )
        )
    )
    report.held = (
        sum(1 for k, state in keys.items() if state is OutboxState.CONFLICT and k in refused)
        - report.conflicts
    )
    report.lost = sum(1 for k in keys if k not in handled and k not in refused)
    extra = len(on_server) - len(set(on_server) & offline_accessions)
    report.duplicated = max(0, extra) + len(sent_twice)
    report.chains_ok = custody.ok and audit.ok
    if not report.chains_ok:
        report.notes.append(
            "a hash chain does not verify: run 'labdesk custody verify' and 'labdesk audit verify'"
        )
    say(
        f"server checked: {report.synced} of {len(keys)} offline actions there, "
        f"{report.conflicts} conflicts in the reconciliation worklist ({report.held} scans "
        f"held with them), {len(on_server)} drill tubes on the server"
    )


def _scalars(uows: UnitOfWorkFactory, stmt: Any) -> list[Any]:
    """``stmt``'s first column, read in a unit of work of its own."""
    with uows() as uow:
        return list(uow.session.scalars(stmt))


def _wait(done: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if done():
            return True
        time.sleep(0.05)
    return done()
