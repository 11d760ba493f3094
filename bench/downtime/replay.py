"""Downtime replay scenarios (issue 12 "Speed"): replay rate, and scan → plan offline.

Both run on a small synthetic clinic built in the work folder (an SQLite server and a
station file whose replica is a copy of it), measured once (``per_size=False``): what is
measured is the downtime machinery, not the size of the clinic's history.

- ``downtime-replay``: one call queues ``BATCH`` orders offline and replays them through
  :class:`~labdesk.adapters.downtime.server.ServerSync`; the floor is the same ``BATCH``
  orders sent online through the bus. The replay rate (commands/s, target
  ``RATE_TARGET``) is logged from the replay reports.
- ``downtime-offline-scan-plan``: a wristband scan → encounter → draw plan through the
  station router while offline (station file); the floor is the same online on SQLite
  (target: within 1.2x of the floor).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, text

from bench.harness import pg
from bench.harness.model import Context, Scenario
from labdesk.adapters import migrate
from labdesk.adapters.database import make_engine
from labdesk.adapters.downtime.server import ServerSync
from labdesk.adapters.downtime.station_store import StationStore, open_station_store
from labdesk.adapters.orm import metadata
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.config import sqlite_url
from labdesk.domain.clock import FixedClock
from labdesk.domain.order import OrderSource
from labdesk.domain.patient import Sex
from labdesk.domain.people import Role
from labdesk.downtime.offline import queue_command
from labdesk.downtime.replay import ReplayReport, replay_outbox
from labdesk.downtime.router import StationRouter
from labdesk.kernel.dto import SignedInUser
from labdesk.kernel.messagebus import MessageBus
from labdesk.seed.builder import ClinicBuilder
from labdesk.seed.names import SyntheticPerson
from labdesk.seed.reference import DEMO_PROVIDER, SiteSpec, StaffSpec, StationSpec
from labdesk.station.commands import OpenEncounterByWristband, PlaceOrder
from labdesk.station.encounter import load_encounter

logger = logging.getLogger(__name__)

STATION = "BENCH-DT"
BATCH = 25
RATE_TARGET = 200.0
"""Replayed commands per second (issue 12)."""
PATIENTS = 120


@dataclass
class Clinic:
    """The synthetic clinic, its station file and router."""

    uows: UnitOfWorkFactory
    store: StationStore
    router: StationRouter
    clock: FixedClock
    actor: SignedInUser
    patient_ids: list[int]
    wristbands: list[str]
    reports: list[ReplayReport] = field(default_factory=list)


def _build(ctx: Context, name: str, server_url: str = "") -> Clinic:
    """The clinic, its server an SQLite file in the work folder or ``server_url`` (an empty
    PostgreSQL database); the station file is always SQLite."""
    folder = ctx.workdir / name
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.sqlite3*"):
        old.unlink()
    engine = make_engine(server_url or sqlite_url(folder / "server.sqlite3"))
    migrate.upgrade(engine)
    uows = UnitOfWorkFactory(engine)
    clock = FixedClock(datetime(2026, 6, 1, 9, tzinfo=UTC))
    ids: list[int] = []
    bands: list[str] = []
    with uows() as uow:
        build = ClinicBuilder(uow, clock)
        build.catalog()
        build.site(SiteSpec("BENCH-SITE", "Bench clinic", timezone="UTC"))
        build.station(StationSpec(STATION, "Bench chair", "BENCH-SITE"))
        actor = build.actor(
            build.user(StaffSpec("bench-dt-ma", "Bench MA", Role.MEDICAL_ASSISTANT, "BM"))
        )
        for n in range(PATIENTS):
            band = f"WB-DT{n:05d}"
            patient = build.patient(
                SyntheticPerson.named(
                    f"DT{n:05d}",
                    "Bench",
                    f"P{n}",
                    date(1980, 1, 1) + timedelta(days=n),
                    Sex.UNKNOWN,
                ),
                wristband=band,
            )
            assert patient.id is not None
            build.order(
                patient.id,
                ("CBC", "CMP"),
                placer=f"BENCH-DT-{n:06d}",
                provider=DEMO_PROVIDER,
                source=OrderSource.HL7,
                ordered_at=clock.now() - timedelta(minutes=30),
            )
            ids.append(patient.id)
            bands.append(band)
        uow.commit()
    store = open_station_store(folder / "station.sqlite3", STATION)
    block = ServerSync(uows, clock).reserve_block(STATION, clock.now().year, 5000)
    with store() as local:
        local.blocks.put(block)
        local.commit()
    with engine.connect() as src, store.engine.begin() as dst:  # the replica, wholesale
        dst.execute(text("PRAGMA foreign_keys=OFF"))
        for table in metadata.sorted_tables:
            rows = [dict(r._mapping) for r in src.execute(select(table))]
            dst.execute(table.delete())
            if rows:
                dst.execute(insert(table), rows)
    router = StationRouter(uows, store, clock, sync_server=lambda: ServerSync(uows, clock))
    return Clinic(uows, store, router, clock, actor, ids, bands)


def _order(clinic: Clinic, i: int, provider: str) -> PlaceOrder:
    return PlaceOrder(
        patient_id=clinic.patient_ids[i % len(clinic.patient_ids)],
        test_codes=("CBC",),
        ordering_provider=provider,
    )


def replay_setup(ctx: Context) -> Clinic:
    """A fresh clinic; the rate is logged at teardown."""
    return _build(ctx, "downtime-replay")


def replay_batch(clinic: Clinic, i: int) -> object:
    """Queue ``BATCH`` orders offline (one local commit) and replay them."""
    at = FixedClock(clinic.clock.now() - timedelta(hours=1))
    with clinic.store() as uow:
        for n in range(BATCH):
            queue_command(uow, _order(clinic, i * BATCH + n, "Dr. Replay"), clinic.actor, at)
        uow.commit()
    report = replay_outbox(clinic.store, ServerSync(clinic.uows, clinic.clock), clinic.clock)
    if report.sent != BATCH:
        raise RuntimeError(f"replay sent {report.sent} of {BATCH}: {report.interrupted}")
    clinic.reports.append(report)
    return report


def replay_floor(clinic: Clinic, i: int) -> object:
    """The same ``BATCH`` orders sent online through the bus."""
    bus = MessageBus(clinic.uows, clinic.clock)
    return [
        bus.handle(_order(clinic, i * BATCH + n, "Dr. Online"), clinic.actor) for n in range(BATCH)
    ]


def replay_teardown(clinic: Clinic) -> None:
    """Log the replay rate against its target."""
    sent = sum(r.sent for r in clinic.reports)
    seconds = sum(r.seconds for r in clinic.reports)
    if seconds > 0:
        rate = sent / seconds
        logger.info(
            "downtime replay: %d commands in %.2f s = %.0f/s (target %.0f/s)",
            sent,
            seconds,
            rate,
            RATE_TARGET,
        )
    clinic.store.close()
    clinic.uows.engine.dispose()


def scan_setup(ctx: Context) -> Clinic:
    """A fresh clinic whose router is switched offline."""
    clinic = _build(ctx, "downtime-scan")
    clinic.router.go_offline("benchmark: offline on purpose")
    return clinic


def _scan(bus: MessageBus, clinic: Clinic, band: str) -> Any:
    eid = bus.handle(OpenEncounterByWristband(scanned=band, station_code=STATION), clinic.actor)
    view = bus.query(load_encounter, clinic.actor, eid)
    if not view.orders:
        raise RuntimeError("a sampled patient had no orders on screen")
    return view


def offline_scan(clinic: Clinic, i: int) -> object:
    """Wristband scan → encounter → draw plan, offline (station file + outbox)."""
    return _scan(clinic.router.bus, clinic, clinic.wristbands[(2 * i) % len(clinic.wristbands)])


def online_scan(clinic: Clinic, i: int) -> object:
    """The same online on the SQLite server."""
    bus = MessageBus(clinic.uows, clinic.clock)
    return _scan(bus, clinic, clinic.wristbands[(2 * i + 1) % len(clinic.wristbands)])


def scan_teardown(clinic: Clinic) -> None:
    """Release the files."""
    clinic.store.close()
    clinic.uows.engine.dispose()


def pg_replay_scenario(server: pg.Server) -> Scenario[Any]:
    """``downtime-replay`` with its server on PostgreSQL (``labdesk bench --database-url``).

    A station replays to the clinic's shared PostgreSQL server in practice (a single SQLite
    station has no downtime mode), so this is the figure the 200/s target is about. The
    clinic is built in a database of its own next to the named one (``<db>_downtime``),
    dropped again at teardown.
    """
    name = f"{server.url.database}_downtime"

    def setup(ctx: Context) -> Clinic:
        admin = server.admin()
        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            admin.dispose()
        return _build(ctx, "downtime-replay-pg", server.sibling(name))

    def teardown(clinic: Clinic) -> None:
        replay_teardown(clinic)
        pg.drop(server, server.sibling(name))

    return Scenario(
        name="downtime-replay",
        title=f"Downtime: queue {BATCH} orders offline and replay them to PostgreSQL "
        "(floor: the same online)",
        setup=setup,
        run_once=replay_batch,
        floor=replay_floor,
        target_p95_ms=BATCH / RATE_TARGET * 1000,
        per_size=False,
        iterations=20,
        teardown=teardown,
    )


def scenarios() -> list[Scenario[Any]]:
    """The replay rate and the offline scan → plan."""
    return [
        Scenario(
            name="downtime-replay",
            title=f"Downtime: queue {BATCH} orders offline and replay them (floor: online)",
            setup=replay_setup,
            run_once=replay_batch,
            floor=replay_floor,
            target_p95_ms=BATCH / RATE_TARGET * 1000,
            per_size=False,
            iterations=20,
            teardown=replay_teardown,
        ),
        Scenario(
            name="downtime-offline-scan-plan",
            title="Downtime: wristband scan to draw plan offline (floor: online SQLite)",
            setup=scan_setup,
            run_once=offline_scan,
            floor=online_scan,
            per_size=False,
            iterations=50,
            teardown=scan_teardown,
        ),
    ]
