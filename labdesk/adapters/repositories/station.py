"""Queries of the phlebotomy station: encounters, their collections and the worklist."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select

from labdesk.adapters import orm
from labdesk.adapters.orm.station import (
    collection_details,
    encounters,
    forensic_collections,
    missed_collections,
    scan_alarms,
)
from labdesk.adapters.repositories import _Repository
from labdesk.domain.encounter import (
    CollectionDetail,
    Encounter,
    EncounterStatus,
    ForensicRecord,
    MissedCollection,
    ScanAlarm,
)
from labdesk.domain.order import OrderedTest, OrderStatus, Priority, TestStatus
from labdesk.domain.printing import PrintJobKind, PrintJobStatus
from labdesk.domain.specimen import Specimen, SpecimenStatus

#: Specimens still at the clinic, waiting for the courier.
AWAITING_PICKUP = (
    SpecimenStatus.COLLECTED,
    SpecimenStatus.LABELLED,
    SpecimenStatus.VERIFIED,
    SpecimenStatus.PACKED,
)


@dataclass(frozen=True)
class WaitingRow:
    """A patient with tests still to collect."""

    patient_id: int
    pending_tests: int
    first_ordered_at: datetime
    stat: bool


class StationRepository(_Repository):
    """Encounters and what happened in them (the caller commits)."""

    def add(self, item: Encounter | CollectionDetail | ForensicRecord | MissedCollection) -> None:
        """Stage a new encounter, collection detail, forensic form or missed collection."""
        self.session.add(item)

    def get(self, encounter_id: int) -> Encounter | None:
        """Encounter by primary key."""
        return self.session.get(Encounter, encounter_id)

    def open_for_patient(self, patient_id: int, station_code: str) -> Encounter | None:
        """The patient's open encounter at this station, if any."""
        stmt = (
            select(Encounter)
            .where(encounters.c.patient_id == patient_id)
            .where(encounters.c.status == EncounterStatus.OPEN)
            .where(encounters.c.station_code == station_code)
            .order_by(encounters.c.id.desc())
            .limit(1)
        )
        return self.session.scalars(stmt).first()

    def ordered_test(self, ordered_test_id: int) -> OrderedTest | None:
        """Ordered test by primary key."""
        return self.session.get(OrderedTest, ordered_test_id)

    def lock_ordered_tests(self, ordered_test_ids: Collection[int]) -> None:
        """Lock the ordered tests for this transaction, in id order, and re-read them.

        Two stations collecting the same test at once (or two replays of an outage) would
        otherwise both see it "ordered" and both record a tube: the second now waits for the
        first and then sees it collected. Id order keeps two overlapping collections from
        deadlocking. SQLite has one writer at a time and ignores the lock.
        """
        if not ordered_test_ids:
            return
        stmt = (
            select(OrderedTest)
            .where(orm.ordered_tests.c.id.in_(sorted(set(ordered_test_ids))))
            .order_by(orm.ordered_tests.c.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        self.session.scalars(stmt).all()

    def details(self, encounter_id: int) -> Sequence[CollectionDetail]:
        """Collection details of the encounter's specimens."""
        stmt = select(CollectionDetail).where(collection_details.c.encounter_id == encounter_id)
        return self.session.scalars(stmt).all()

    def detail(self, specimen_id: int) -> CollectionDetail | None:
        """Collection detail of one specimen (None if collected outside the station)."""
        return self.session.get(CollectionDetail, specimen_id)

    def specimens(self, encounter_id: int) -> Sequence[Specimen]:
        """Specimens collected in the encounter, in the order they were created."""
        stmt = (
            select(Specimen)
            .join(collection_details, collection_details.c.specimen_id == orm.specimens.c.id)
            .where(collection_details.c.encounter_id == encounter_id)
            .order_by(orm.specimens.c.id)
        )
        return self.session.scalars(stmt).all()

    def forensic(self, encounter_id: int) -> Sequence[ForensicRecord]:
        """Forensic forms of the encounter."""
        stmt = (
            select(ForensicRecord)
            .where(forensic_collections.c.encounter_id == encounter_id)
            .order_by(forensic_collections.c.specimen_id)
        )
        return self.session.scalars(stmt).all()

    def forensic_of(self, specimen_id: int) -> ForensicRecord | None:
        """Forensic form of one specimen."""
        return self.session.get(ForensicRecord, specimen_id)

    def missed(self, encounter_id: int) -> Sequence[MissedCollection]:
        """Tests recorded as not collected in the encounter."""
        stmt = (
            select(MissedCollection)
            .where(missed_collections.c.encounter_id == encounter_id)
            .order_by(missed_collections.c.id)
        )
        return self.session.scalars(stmt).all()

    def add_alarm(self, alarm: ScanAlarm) -> None:
        """Stage a scan-back alarm."""
        self.session.add(alarm)

    def alarm(self, alarm_id: int) -> ScanAlarm | None:
        """Alarm by primary key."""
        return self.session.get(ScanAlarm, alarm_id)

    def alarms(self, encounter_id: int) -> Sequence[ScanAlarm]:
        """The encounter's alarms, oldest first."""
        stmt = (
            select(ScanAlarm)
            .where(scan_alarms.c.encounter_id == encounter_id)
            .order_by(scan_alarms.c.id)
        )
        return self.session.scalars(stmt).all()

    def waiting(self, since: datetime, limit: int = 200) -> list[WaitingRow]:
        """Patients with tests ordered since ``since`` and not yet collected."""
        ot, o = orm.ordered_tests, orm.orders
        stmt = (
            select(
                o.c.patient_id,
                func.count(ot.c.id),
                func.min(o.c.ordered_at),
                func.max(case((o.c.priority == Priority.STAT, 1), else_=0)),
            )
            .join(ot, ot.c.order_id == o.c.id)
            .where(o.c.status == OrderStatus.ACTIVE)
            .where(o.c.ordered_at >= since)
            .where(ot.c.status == TestStatus.ORDERED)
            .group_by(o.c.patient_id)
            .order_by(func.min(o.c.ordered_at))
            .limit(limit)
        )
        return [
            WaitingRow(int(pid), int(n), first, bool(stat))
            for pid, n, first, stat in self.session.execute(stmt)
        ]

    def awaiting_pickup(self, site_id: int, limit: int = 500) -> Sequence[Specimen]:
        """Specimens at the site not yet picked up, oldest first (site/status index)."""
        stmt = (
            select(Specimen)
            .where(orm.specimens.c.site_id == site_id)
            .where(orm.specimens.c.status.in_(AWAITING_PICKUP))
            .order_by(orm.specimens.c.collected_at)
            .limit(limit)
        )
        return self.session.scalars(stmt).all()

    def latest_label_jobs(
        self, specimen_ids: Sequence[int]
    ) -> dict[int, tuple[int, PrintJobStatus]]:
        """Newest label job (id, status) of each specimen that has one."""
        if not specimen_ids:
            return {}
        jobs = orm.print_jobs
        stmt = (
            select(jobs.c.specimen_id, jobs.c.id, jobs.c.status)
            .where(jobs.c.specimen_id.in_(specimen_ids))
            .where(jobs.c.kind == PrintJobKind.LABEL)
            .order_by(jobs.c.id)
        )
        return {int(sid): (int(jid), status) for sid, jid, status in self.session.execute(stmt)}
