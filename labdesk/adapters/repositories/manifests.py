"""Queries of courier manifests, routes and recollection tasks (the custody leg's records)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import aliased

from labdesk.adapters import orm
from labdesk.adapters.orm.custody import manifest_items, manifests, recollection_tasks, routes
from labdesk.adapters.repositories import _Repository
from labdesk.domain.manifest import Manifest, ManifestItem, ManifestStatus, Route
from labdesk.domain.recollection import RecollectionStatus, RecollectionTask
from labdesk.domain.specimen import Specimen


class ManifestRepository(_Repository):
    """Courier manifests and the specimens on them."""

    def add(self, item: Manifest | ManifestItem) -> None:
        """Stage a new manifest or manifest item."""
        self.session.add(item)

    def by_number(self, number: str, *, lock: bool = False) -> Manifest | None:
        """Manifest by its number (optionally locking its row)."""
        stmt = select(Manifest).where(manifests.c.number == number)
        if lock:
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        return self.session.scalars(stmt).first()

    def open_for(self, courier_id: int, site_id: int) -> Manifest | None:
        """The courier's open manifest at a site, if any."""
        stmt = (
            select(Manifest)
            .where(manifests.c.courier_id == courier_id)
            .where(manifests.c.status == ManifestStatus.OPEN)
            .where(manifests.c.site_id == site_id)
            .order_by(manifests.c.id.desc())
            .limit(1)
        )
        return self.session.scalars(stmt).first()

    def for_courier(
        self, courier_id: int, statuses: Sequence[ManifestStatus]
    ) -> Sequence[Manifest]:
        """A courier's manifests in some statuses, newest first."""
        stmt = (
            select(Manifest)
            .where(manifests.c.courier_id == courier_id)
            .where(manifests.c.status.in_(list(statuses)))
            .order_by(manifests.c.id.desc())
            .limit(50)
        )
        return self.session.scalars(stmt).all()

    def item(self, manifest_id: int, specimen_id: int) -> ManifestItem | None:
        """A specimen's item on one manifest."""
        stmt = (
            select(ManifestItem)
            .where(manifest_items.c.manifest_id == manifest_id)
            .where(manifest_items.c.specimen_id == specimen_id)
        )
        return self.session.scalars(stmt).first()

    def latest_item_for(self, specimen_id: int) -> tuple[ManifestItem, Manifest] | None:
        """The most recent manifest a specimen was picked up on, with its item."""
        stmt = (
            select(ManifestItem, Manifest)
            .join(manifests, manifests.c.id == manifest_items.c.manifest_id)
            .where(manifest_items.c.specimen_id == specimen_id)
            .where(manifest_items.c.expected.is_(True))
            .order_by(manifest_items.c.id.desc())
            .limit(1)
        )
        row = self.session.execute(stmt).first()
        return (row[0], row[1]) if row else None

    def items_with_specimens(self, manifest_id: int) -> list[tuple[ManifestItem, Specimen]]:
        """Every item of a manifest with its specimen, in scan order."""
        stmt = (
            select(ManifestItem, Specimen)
            .join(orm.specimens, orm.specimens.c.id == manifest_items.c.specimen_id)
            .where(manifest_items.c.manifest_id == manifest_id)
            .order_by(manifest_items.c.id)
        )
        return [(item, specimen) for item, specimen in self.session.execute(stmt)]

    def manifests_in(
        self, statuses: Sequence[ManifestStatus], limit: int = 200
    ) -> Sequence[Manifest]:
        """Manifests in some statuses, newest first."""
        stmt = (
            select(Manifest)
            .where(manifests.c.status.in_(list(statuses)))
            .order_by(manifests.c.id.desc())
            .limit(limit)
        )
        return self.session.scalars(stmt).all()

    def picked_up_items(self, specimen_ids: Sequence[int]) -> dict[int, Manifest]:
        """The manifest each specimen was last picked up on."""
        if not specimen_ids:
            return {}
        stmt = (
            select(manifest_items.c.specimen_id, Manifest)
            .join(manifests, manifests.c.id == manifest_items.c.manifest_id)
            .where(manifest_items.c.specimen_id.in_(list(specimen_ids)))
            .where(manifest_items.c.expected.is_(True))
            .order_by(manifest_items.c.id)
        )
        return {specimen_id: manifest for specimen_id, manifest in self.session.execute(stmt)}

    def lab_scans_elsewhere(self, specimen_ids: Sequence[int], manifest_id: int) -> dict[int, str]:
        """The other manifest (number) each specimen was last scanned in on at the lab."""
        if not specimen_ids:
            return {}
        stmt = (
            select(manifest_items.c.specimen_id, manifests.c.number)
            .join(manifests, manifests.c.id == manifest_items.c.manifest_id)
            .where(manifest_items.c.specimen_id.in_(list(specimen_ids)))
            .where(manifest_items.c.manifest_id != manifest_id)
            .where(manifest_items.c.lab_scanned_at.is_not(None))
            .order_by(manifest_items.c.id)
        )
        return {specimen_id: number for specimen_id, number in self.session.execute(stmt)}


class RouteRepository(_Repository):
    """Courier routes and their expected transit times."""

    def add(self, route: Route) -> None:
        """Stage a new route."""
        self.session.add(route)

    def get(self, route_id: int) -> Route | None:
        """Route by primary key."""
        return self.session.get(Route, route_id)

    def by_code(self, code: str) -> Route | None:
        """Route by code."""
        return self.session.scalars(select(Route).where(routes.c.code == code)).first()

    def from_site(self, site_id: int) -> Sequence[Route]:
        """Active routes leaving a site, by code."""
        stmt = (
            select(Route)
            .where(routes.c.from_site_id == site_id)
            .where(routes.c.active.is_(True))
            .order_by(routes.c.code)
        )
        return self.session.scalars(stmt).all()

    def all(self) -> Sequence[Route]:
        """Every route by code."""
        return self.session.scalars(select(Route).order_by(routes.c.code)).all()


class RecollectionRepository(_Repository):
    """Recollection tasks on the station worklist."""

    def add(self, task: RecollectionTask) -> None:
        """Stage a new task."""
        self.session.add(task)

    def get(self, task_id: int) -> RecollectionTask | None:
        """Task by primary key."""
        return self.session.get(RecollectionTask, task_id)

    def for_specimen(self, specimen_id: int) -> RecollectionTask | None:
        """The task opened for a specimen, if any."""
        stmt = select(RecollectionTask).where(recollection_tasks.c.specimen_id == specimen_id)
        return self.session.scalars(stmt).first()

    def open_tasks(
        self, site_id: int | None = None, limit: int = 500
    ) -> list[tuple[RecollectionTask, Specimen, str, str]]:
        """Open tasks with their specimen, site code and opener's name, oldest first."""
        opener = aliased(orm.users)
        stmt = (
            select(RecollectionTask, Specimen, orm.sites.c.code, opener.c.display_name)
            .join(orm.specimens, orm.specimens.c.id == recollection_tasks.c.specimen_id)
            .join(orm.sites, orm.sites.c.id == recollection_tasks.c.site_id)
            .join(opener, opener.c.id == recollection_tasks.c.opened_by_id)
            .where(recollection_tasks.c.status == RecollectionStatus.OPEN)
            .order_by(recollection_tasks.c.opened_at, recollection_tasks.c.id)
            .limit(limit)
        )
        if site_id is not None:
            stmt = stmt.where(recollection_tasks.c.site_id == site_id)
        return [(t, s, code, name) for t, s, code, name in self.session.execute(stmt)]
