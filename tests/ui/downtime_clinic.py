"""The clinic the downtime UI tests run against: its server, the station file, the router.

``test_downtime_visit.py`` and ``test_offline_live.py`` both play a visit at chair
``DRAW-2`` while the server is away; they share how that clinic is set up here.
"""

from __future__ import annotations

from pathlib import Path

from labdesk.adapters.downtime.server import ServerSync
from labdesk.adapters.downtime.station_store import StationStore
from labdesk.bootstrap import Core
from labdesk.domain.patient import PatientIdentifier
from labdesk.domain.people import Site, Station
from labdesk.downtime.router import StationRouter
from labdesk.replica.refresh import refresh_replica
from labdesk.replica.scope import ReplicaScope
from tests.ui.station_window import place_order

STATION = "DRAW-2"  # the ui conftest's station code
WRISTBAND = "WBM100001"


def seed_clinic(core: Core, labels_dir: Path) -> Core:
    """The server: this station (labels to ``labels_dir``), John Smith's wristband and
    an order of CBC and CMP for him."""
    with core.uow() as uow:
        site = Site(code="CLINIC", name="Riverside", timezone="America/New_York")
        uow.people.add(site)
        uow.people.flush()
        assert site.id is not None
        uow.people.add(
            Station(
                code=STATION, name="Chair 2", site_id=site.id, label_printer_uri=labels_dir.as_uri()
            )
        )
        patient = uow.patients.by_mrn("M100001")
        assert patient is not None
        assert patient.id is not None
        uow.patients.add_identifier(
            PatientIdentifier(patient_id=patient.id, system="wristband", value=WRISTBAND)
        )
        uow.commit()
    place_order(core, patient.id, ("CBC", "CMP"), "EHR-M100001")
    return core


def station_router(server: Core, store: StationStore) -> StationRouter:
    """The station's router over ``server`` and its station file, refreshing its replica."""
    return StationRouter(
        server.uow,
        store,
        server.clock,
        sync_server=lambda: ServerSync(server.uow, server.clock),
        refresh=lambda: refresh_replica(server.uow, store, ReplicaScope(STATION), server.clock),
    )
