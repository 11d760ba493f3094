"""Volume reservations: what each test drawn or added reserves on its specimen.

Written in the transaction that puts the test on the specimen (a collection at the chair,
or an add-on), so the add-on rule (:mod:`labdesk.domain.add_on`) later knows how much is
left. A test drawn again into a new specimen (a recollection) moves its reservation there.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from labdesk.domain.add_on import VolumeReservation, reserved_volume
from labdesk.domain.catalog import TestDefinition
from labdesk.domain.order import OrderedTest
from labdesk.ports import UnitOfWork
from labdesk.station.blood_volume import as_drawn_in


def reserve_drawn(
    uow: UnitOfWork,
    specimen_id: int,
    tests: Sequence[OrderedTest],
    definitions: Sequence[TestDefinition],
    *,
    at: datetime,
    by_id: int,
) -> None:
    """Record what the tests drawn into ``specimen_id`` reserve (caller commits).

    A test drawn in its minimum-volume (pediatric) tube reserves what that tube needs
    (:func:`labdesk.station.blood_volume.as_drawn_in`), not the ordinary tube's minimum.
    """
    specimen = uow.specimens.get(specimen_id)
    assert specimen is not None
    ids = [t.id for t in tests if t.id is not None]
    uow.add_ons.move(ids)
    uow.add_ons.reserve_all(
        [
            VolumeReservation(
                ordered_test_id=test_id,
                specimen_id=specimen_id,
                test_code=definition.code,
                volume_ml=reserved_volume(as_drawn_in(uow, definition, specimen.container_code)),
                reserved_at=at,
                reserved_by_id=by_id,
            )
            for test_id, definition in zip(ids, definitions, strict=True)
        ]
    )
