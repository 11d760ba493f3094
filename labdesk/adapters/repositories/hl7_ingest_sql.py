"""SQL of the HL7 ingest's group commit, as SQLAlchemy Core statements over plain rows.

:class:`labdesk.interface.ingest.Ingestor` stores received messages (:class:`MessageRow`) and
finds earlier copies through these functions; :class:`labdesk.interface.lookup.BulkLookup` reads
what a group of ORU^R01 can match on and writes its results and test statuses. They run on
the unit of work's connection, inside its transaction. Core rather than the ORM: for a group
commit, building, tracking and flushing ORM objects row by row cost more than the statements.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import BindParameter, bindparam, insert, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from labdesk.adapters import orm
from labdesk.adapters.orm.hl7 import hl7_messages
from labdesk.domain.custody import CustodyEventKind
from labdesk.domain.errors import LabdeskError
from labdesk.domain.hl7 import AckCode, MessageStatus
from labdesk.domain.order import OrderStatus, TestStatus
from labdesk.domain.result import ResultStatus

if TYPE_CHECKING:  # lookup imports this module
    from labdesk.interface.lookup import NewResult


APPLIED_INDEX = "uq_hl7_messages_applied"
"""Unique index on (sender, control_id) of *processed* rows (migration 0010)."""
_RETRY_STATES = frozenset({"23505", "40P01", "40001"})
"""PostgreSQL: unique violation, deadlock detected, serialization failure."""


class ConcurrentInsert(LabdeskError):
    """Another process committed (or is committing) a message with the same sender and
    MSH-10 while this transaction inserted it: roll back and decide again."""


@dataclass(slots=True, kw_only=True)
class MessageRow:
    """A received message as stored in ``hl7_messages``; ``id`` is set once inserted."""

    control_id: str
    sender: str
    message_type: str
    version: str
    received_at: datetime
    source: str
    raw: str
    status: MessageStatus
    ack_code: AckCode
    error: str = ""
    duplicate_of_id: int | None = None
    id: int | None = None


_MESSAGE_COLUMNS = (
    "control_id",
    "sender",
    "message_type",
    "version",
    "received_at",
    "source",
    "raw",
    "status",
    "ack_code",
    "error",
    "duplicate_of_id",
)
_RESULT_COLUMNS = (
    "observation_code",
    "observation_name",
    "value",
    "status",
    "received_at",
    "ordered_test_id",
    "specimen_id",
    "message_id",
    "units",
    "reference_range",
    "abnormal_flag",
    "observed_at",
    "supersedes_id",
)

_m = hl7_messages.c
_s, _o, _p = orm.specimens.c, orm.orders.c, orm.patients.c
_t, _r = orm.ordered_tests.c, orm.results.c
_e, _site = orm.custody_events.c, orm.sites.c


def _many(name: str) -> BindParameter[Any]:
    """An ``IN`` list given at execution (the statement is built and cached once)."""
    return bindparam(name, expanding=True)


_BY_CONTROL_ID = select(_m.id, _m.sender, _m.control_id, _m.status).where(
    _m.control_id.in_(_many("control_ids"))
)
_INSERT_MESSAGES = insert(hl7_messages).returning(_m.id, sort_by_parameter_order=True)
_SPECIMENS = (
    select(_s.id, _s.accession, _s.patient_id, _p.mrn)
    .join_from(orm.specimens, orm.patients, _p.id == _s.patient_id)
    .where(_s.accession.in_(_many("accessions")))
)
_ORDERS = (
    select(_o.id, _o.placer_order_number, _o.patient_id, _o.status, _p.mrn)
    .join_from(orm.orders, orm.patients, _p.id == _o.patient_id)
    .where(_o.placer_order_number.in_(_many("placers")))
    .order_by(_o.id)
)
_TESTS = (
    select(_t.id, _t.order_id, _t.specimen_id, _t.test_code, _t.status, _t.status_changed_at)
    .where(_t.specimen_id.in_(_many("specimen_ids")) | _t.order_id.in_(_many("order_ids")))
    .order_by(_t.id)
    .with_for_update()
)
"""Locked (PostgreSQL; SQLite writers are serialized anyway) in id order, so two listeners
applying results to one test take turns and each reads the chain the other committed."""
_LOCK_TEST = select(_t.id).where(_t.id == bindparam("test_id", type_=_t.id.type)).with_for_update()
_CHAINS = (
    select(_r.id, _r.ordered_test_id, _r.supersedes_id, _r.observation_code, _r.status)
    .where(_r.ordered_test_id.in_(_many("test_ids")))
    .order_by(_r.id)
)
_FATE = (
    select(_e.kind, _e.reason, _e.occurred_at, _site.timezone)
    .join_from(orm.custody_events, orm.specimens, _s.id == _e.specimen_id)
    .join(orm.sites, _site.id == _s.site_id)
    .where(
        _e.specimen_id == bindparam("specimen_id", type_=_e.specimen_id.type),
        _e.kind.in_([CustodyEventKind.REJECTED, CustodyEventKind.LOST]),
    )
    .order_by(_e.seq.desc())
    .limit(1)
)
_INSERT_RESULTS = insert(orm.results)
_INSERT_RESULTS_RETURNING = _INSERT_RESULTS.returning(_r.id, sort_by_parameter_order=True)
_UPDATE_STATUS = (
    update(orm.ordered_tests)
    .where(_t.id == bindparam("test_id", type_=_t.id.type))
    .values(
        status=bindparam("new_status", type_=_t.status.type),
        status_changed_at=bindparam("changed_at", type_=_t.status_changed_at.type),
    )
)


def processed_ids(
    session: Session, keys: Collection[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """``{(sender, control_id): id}`` of the first *applied* message for each key given.

    Filtered by status in Python: with ``status`` in the WHERE clause SQLite may choose
    the (status, received_at) index and scan every processed message.
    """
    first: dict[tuple[str, str], int] = {}
    controls = sorted({control for _, control in keys})
    for start in range(0, len(controls), 500):
        params = {"control_ids": controls[start : start + 500]}
        for row_id, sender, control_id, status in (
            session.connection().execute(_BY_CONTROL_ID, params).all()
        ):
            key = (sender, control_id)
            if status == MessageStatus.PROCESSED and key in keys:
                first[key] = min(first.get(key, row_id), row_id)
    return first


def insert_messages(session: Session, messages: Sequence[MessageRow]) -> None:
    """Insert received messages with one statement; sets each one's id."""
    if not messages:
        return
    rows: list[dict[str, Any]] = [
        {"resolution": "", **{name: getattr(m, name) for name in _MESSAGE_COLUMNS}}
        for m in messages
    ]
    try:
        ids = session.connection().execute(_INSERT_MESSAGES, rows).scalars().all()
    except DBAPIError as exc:
        if _is_race(exc):
            raise ConcurrentInsert(
                "Another HL7 listener stored one of these messages at the same moment.",
                hint="Nothing to do: LabDesk reads the messages again and answers each once.",
            ) from exc
        raise
    for message, new_id in zip(messages, ids, strict=True):
        message.id = int(new_id)


def _is_race(exc: DBAPIError) -> bool:
    """True for a lost race on :data:`APPLIED_INDEX` (or a deadlock between two inserters),
    which a new transaction settles; False for every other database error."""
    state = getattr(exc.orig, "sqlstate", None)
    if state is not None:
        return state in _RETRY_STATES
    text = str(exc.orig)
    return "UNIQUE constraint failed: hl7_messages" in text


def specimens(session: Session, accessions: Collection[str]) -> list[tuple[int, str, int, str]]:
    """``(id, accession, patient_id, patient MRN)`` of the specimens with these accessions."""
    if not accessions:
        return []
    rows = session.connection().execute(_SPECIMENS, {"accessions": sorted(accessions)}).all()
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def orders(
    session: Session, placers: Collection[str]
) -> list[tuple[int, str, int, OrderStatus, str]]:
    """``(id, placer number, patient_id, status, patient MRN)`` of these orders, oldest first."""
    if not placers:
        return []
    rows = session.connection().execute(_ORDERS, {"placers": sorted(placers)}).all()
    return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]


def tests(
    session: Session, specimen_ids: Collection[int], order_ids: Collection[int]
) -> list[tuple[int, int, int | None, str, TestStatus, datetime | None]]:
    """``(id, order_id, specimen_id, code, status, status_changed_at)`` of the ordered tests
    these specimens carry or these orders hold, by id."""
    if not specimen_ids and not order_ids:
        return []
    params = {"specimen_ids": sorted(specimen_ids), "order_ids": sorted(order_ids)}
    rows = session.connection().execute(_TESTS, params).all()
    return [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]


def lock_test(session: Session, test_id: int) -> None:
    """Hold the ordered test's row until commit before its result chain is read (the ORM
    path's equivalent of the locked :func:`tests` read)."""
    session.connection().execute(_LOCK_TEST, {"test_id": test_id})


def result_chains(
    session: Session, test_ids: Collection[int]
) -> list[tuple[int, int, int | None, str, ResultStatus]]:
    """``(id, test, supersedes_id, observation code, status)`` of every result of these
    tests, by id (the current ones are those nothing supersedes, minus retractions)."""
    if not test_ids:
        return []
    rows = session.connection().execute(_CHAINS, {"test_ids": sorted(test_ids)}).all()
    return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]


def specimen_fate(
    session: Session, specimen_id: int
) -> tuple[CustodyEventKind, str, datetime, str] | None:
    """``(kind, reason code, when, site time zone)`` of the specimen's latest rejection or
    loss (its custody event), or None when it has none."""
    row = session.connection().execute(_FATE, {"specimen_id": specimen_id}).first()
    return (row[0], row[1], row[2], row[3]) if row is not None else None


def insert_results(session: Session, results: Sequence[NewResult], *, ids: bool) -> None:
    """Insert result rows with one statement; with ``ids``, set each one's new id.

    Ids cost a round trip per row on SQLite (RETURNING in parameter order), so they are
    asked for only when a later message of the group supersedes one of these rows.
    """
    rows: list[dict[str, Any]] = [
        {name: getattr(result, name) for name in _RESULT_COLUMNS} for result in results
    ]
    if not ids:
        session.connection().execute(_INSERT_RESULTS, rows)
        return
    new_ids = session.connection().execute(_INSERT_RESULTS_RETURNING, rows).scalars().all()
    for result, new_id in zip(results, new_ids, strict=True):
        result.id = int(new_id)


def update_test_statuses(
    session: Session, changes: Sequence[tuple[int | None, TestStatus, datetime | None]]
) -> None:
    """Set ``(test id, status, status_changed_at)`` on ordered tests (one executemany)."""
    params = [
        {"test_id": test_id, "new_status": status, "changed_at": changed}
        for test_id, status, changed in changes
    ]
    session.connection().execute(_UPDATE_STATUS, params)
