"""Volume reservations and add-ons (``test_reservations``): the add-on use case's queries."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from labdesk.adapters.orm.add_on import test_reservations as t
from labdesk.adapters.repositories import _Repository
from labdesk.domain.add_on import VolumeReservation


class AddOnRepository(_Repository):
    """What each test reserves on its specimen, and which tests were added on."""

    def for_specimen(self, specimen_id: int) -> dict[int, VolumeReservation]:
        """The specimen's reservations by ordered test id."""
        rows = self.session.execute(select(t).where(t.c.specimen_id == specimen_id)).mappings()
        return {row["ordered_test_id"]: _reservation(row) for row in rows}

    def added_on(self, specimen_ids: Sequence[int]) -> dict[int, list[VolumeReservation]]:
        """The add-ons of each specimen (only specimens that have some), oldest first."""
        if not specimen_ids:
            return {}
        rows = self.session.execute(
            select(t)
            .where(t.c.specimen_id.in_(list(specimen_ids)), t.c.added_on.is_(True))
            .order_by(t.c.id)
        ).mappings()
        found: dict[int, list[VolumeReservation]] = {}
        for row in rows:
            found.setdefault(row["specimen_id"], []).append(_reservation(row))
        return found

    def reserve(self, reservation: VolumeReservation) -> bool:
        """Insert ``reservation`` now; False when the same add-on is already recorded.

        The insert runs inside a savepoint, so a concurrent add-on of the same test to the
        same specimen waits on the unique key (PostgreSQL) or the write lock (SQLite), then
        fails here, leaving the rest of the transaction usable.
        """
        r = reservation
        try:
            with self.session.begin_nested():
                self.session.execute(
                    insert(t).values(
                        ordered_test_id=r.ordered_test_id,
                        specimen_id=r.specimen_id,
                        test_code=r.test_code,
                        volume_ml=r.volume_ml,
                        added_on=r.added_on,
                        add_on_key=r.test_code if r.added_on else None,
                        requested_by=r.requested_by[:120],
                        reserved_at=r.reserved_at,
                        reserved_by_id=r.reserved_by_id,
                    )
                )
        except IntegrityError:
            return False
        return True

    def reserve_all(self, reservations: Sequence[VolumeReservation]) -> None:
        """Insert the reservations of a collection (tests drawn at the chair)."""
        if not reservations:
            return
        self.session.execute(
            insert(t),
            [
                {
                    "ordered_test_id": r.ordered_test_id,
                    "specimen_id": r.specimen_id,
                    "test_code": r.test_code,
                    "volume_ml": r.volume_ml,
                    "added_on": False,
                    "add_on_key": None,
                    "requested_by": "",
                    "reserved_at": r.reserved_at,
                    "reserved_by_id": r.reserved_by_id,
                }
                for r in reservations
            ],
        )

    def move(self, ordered_test_ids: Sequence[int]) -> None:
        """Forget the reservations of tests leaving their specimen (a recollection)."""
        if ordered_test_ids:
            self.session.execute(t.delete().where(t.c.ordered_test_id.in_(list(ordered_test_ids))))


def _reservation(row: object) -> VolumeReservation:
    m = dict(row)  # type: ignore[call-overload]
    return VolumeReservation(
        ordered_test_id=m["ordered_test_id"],
        specimen_id=m["specimen_id"],
        test_code=m["test_code"],
        volume_ml=m["volume_ml"],
        reserved_at=m["reserved_at"],
        reserved_by_id=m["reserved_by_id"],
        added_on=bool(m["added_on"]),
        requested_by=m["requested_by"],
    )
