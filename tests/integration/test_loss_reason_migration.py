"""Migration 0017: recollection tasks of lost specimens recorded before loss reasons were coded."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from alembic import command
from sqlalchemy import (
    Boolean,
    Connection,
    Date,
    DateTime,
    Engine,
    Float,
    Integer,
    MetaData,
    Table,
    insert,
    select,
    text,
)

from labdesk.adapters import migrate
from labdesk.domain.loss import LossReason
from labdesk.domain.recollection import RecollectionTask, task_reason_label

BEFORE = "0016_preparation_volume"
AFTER = "0017_loss_reasons"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _filler(column: Any) -> object:
    """A value for a NOT NULL column the test does not care about."""
    kind = column.type
    if isinstance(kind, Boolean):
        return False
    if isinstance(kind, Integer):
        return 1
    if isinstance(kind, Float):
        return 0.0
    if isinstance(kind, DateTime):
        return NOW
    if isinstance(kind, Date):
        return date(1970, 1, 1)
    return "x"


def _row(conn: Connection, name: str, **values: object) -> None:
    """Insert a row into the table as it is at this revision, filling the other columns."""
    table = Table(name, MetaData(), autoload_with=conn)
    for column in table.columns:
        if column.name in values or column.nullable or column.server_default is not None:
            continue
        if column.primary_key and column.name == "id":
            continue
        values[column.name] = _filler(column)
    conn.execute(insert(table).values(**values))


def _foreign_keys(conn: Connection, *, on: bool) -> None:
    """Switch foreign keys off while seeding rows whose referenced ids need not exist.

    On SQLite the pragma is ignored inside a transaction, so it goes to the driver's
    connection before SQLAlchemy begins one.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"SET session_replication_role = {'DEFAULT' if on else 'replica'}"))
        conn.commit()
    else:
        conn.connection.driver_connection.execute(f"PRAGMA foreign_keys = {'ON' if on else 'OFF'}")  # type: ignore[union-attr]


def test_0017_codes_old_lost_tasks_and_keeps_their_text(empty_engine: Engine) -> None:
    cfg = migrate.alembic_config()
    with empty_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, BEFORE)
    tasks = {
        1: ("lost", "Missing from manifest M-0007 at lab receipt"),
        2: ("lost", "dropped in the car park"),
        3: ("haemolysed", "pink serum"),
    }
    with empty_engine.connect() as conn:
        _foreign_keys(conn, on=False)
        for task_id, (reason, note) in tasks.items():
            _row(
                conn,
                "recollection_tasks",
                id=task_id,
                specimen_id=task_id,
                reason=reason,
                note=note,
                status="open",
            )
        conn.commit()
        _foreign_keys(conn, on=True)
    with empty_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, AFTER)
    table = Table("recollection_tasks", MetaData(), autoload_with=empty_engine)
    with empty_engine.connect() as conn:
        found = conn.execute(
            select(table.c.id, table.c.reason, table.c.loss_reason, table.c.note).order_by(
                table.c.id
            )
        ).all()
    assert [tuple(r) for r in found] == [
        (1, "lost", "not_in_bag", tasks[1][1]),
        (2, "lost", "other", tasks[2][1]),
        (3, "haemolysed", None, tasks[3][1]),
    ]
    shown = [
        task_reason_label(
            RecollectionTask(
                specimen_id=r.id,
                patient_id=1,
                site_id=1,
                reason=r.reason,
                note=r.note,
                loss_reason=LossReason(r.loss_reason) if r.loss_reason else None,
                opened_at=NOW,
                opened_by_id=1,
            )
        )
        for r in found
    ]
    assert shown == [
        "Lost: not in the bag at receipt",
        "Lost (other): dropped in the car park",
        "Haemolysed",
    ]
