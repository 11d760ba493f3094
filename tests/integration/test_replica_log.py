"""``replica_log`` (migration 0020): every write to a replicated table is logged, in order."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine, delete, insert, select, update

from labdesk.adapters.orm import patients
from labdesk.adapters.orm.replica import replica_log
from labdesk.domain.clock import FixedClock
from labdesk.domain.patient import Sex


def _log(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(replica_log.c.table_name, replica_log.c.row_id).order_by(replica_log.c.seq)
        ).all()
    return [(r.table_name, r.row_id) for r in rows]


def test_insert_update_delete_and_key_change_are_logged(engine: Engine, clock: FixedClock) -> None:
    with engine.begin() as conn:
        pid = conn.execute(
            insert(patients)
            .values(
                mrn="R1",
                family_name="Doe",
                given_name="Ann",
                name_key="doe ann",
                birth_date=date(1980, 1, 1),
                sex=Sex.FEMALE,
                created_at=clock.now(),
            )
            .returning(patients.c.id)
        ).scalar_one()
        conn.execute(update(patients).where(patients.c.id == pid).values(given_name="Anne"))
        conn.execute(update(patients).where(patients.c.id == pid).values(id=pid + 100))
        conn.execute(delete(patients).where(patients.c.id == pid + 100))
    new = str(pid + 100)
    assert _log(engine) == [
        ("patients", str(pid)),
        ("patients", str(pid)),
        ("patients", new),
        ("patients", str(pid)),
        ("patients", new),
    ]


def test_a_rolled_back_write_leaves_no_entry(engine: Engine, clock: FixedClock) -> None:
    with engine.connect() as conn, conn.begin() as tx:
        conn.execute(
            insert(patients).values(
                mrn="R2",
                family_name="Roe",
                given_name="Bo",
                name_key="roe bo",
                birth_date=date(1980, 1, 1),
                sex=Sex.MALE,
                created_at=clock.now(),
            )
        )
        tx.rollback()
    assert _log(engine) == []
