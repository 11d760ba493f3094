"""Lookup scenarios: accession issue and specimen/patient lookups, each against bare SQL.

Each database scenario runs a service path through a unit of work with keys drawn at
random from the database, and its floor does the same lookup as one bare indexed SQL
statement on an autocommit ``sqlite3`` connection. Patient lookups use the query layer
(``lookup_*``); ``patient-scan-audited`` is the path a screen takes on a wristband scan,
with the permission check and the audit entry it commits.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table

from bench.data.datagen import ACCESSION_COUNTER
from bench.data.rows import ACCESSION_YEAR, USER_ID
from bench.harness.errors import BenchError
from bench.harness.model import Context, Database, Scenario
from labdesk.adapters import orm
from labdesk.domain.clock import FixedClock
from labdesk.domain.people import Role
from labdesk.kernel.dto import SignedInUser
from labdesk.station.accession import issue_accession
from labdesk.station.patients import find_by_scan, lookup_by_scan, lookup_patients

LOOKUP_TARGET_MS = 5.0
"""p95 of every lookup, at every size (the issue's target is at a million specimens)."""
MAX_GROWTH = 1.5
"""p95 at the biggest size over p95 at the smallest."""
SEARCH_LIMIT = 25


def _columns(table: Table) -> str:
    return ", ".join(column.name for column in table.c)


SPECIMEN_BY_ACCESSION_SQL = f"SELECT {_columns(orm.specimens)} FROM specimens WHERE accession = ?"
PATIENT_BY_MRN_SQL = f"SELECT {_columns(orm.patients)} FROM patients WHERE mrn = ?"
PATIENT_BY_NAME_SQL = (
    f"SELECT {_columns(orm.patients)} FROM patients WHERE name_key >= ? AND name_key < ? "
    f"ORDER BY name_key, birth_date LIMIT {SEARCH_LIMIT}"
)
NEXT_COUNTER_SQL = "UPDATE counters SET value = value + 1 WHERE name = ? RETURNING value"


@dataclass(frozen=True)
class Lookup:
    """State of a lookup scenario: the database and keys (even calls: service; odd: floor)."""

    db: Database
    keys: tuple[str, ...]

    def key(self, i: int) -> str:
        """Key for the service path's call ``i``."""
        return self.keys[(2 * i) % len(self.keys)]

    def floor_key(self, i: int) -> str:
        """Key for the floor's call ``i`` (a different random row, so caches are fair)."""
        return self.keys[(2 * i + 1) % len(self.keys)]


def sample_keys(
    ctx: Context,
    table: str,
    column: str,
    accept: Callable[[str], bool] = lambda _value: True,
) -> Lookup:
    """Draw ``2 * ctx.calls`` values of ``table.column`` from random rows.

    Raises:
        BenchError: if the table is empty or too few values are acceptable.
    """
    db = ctx.db()
    top = db.raw.execute(f"SELECT max(id) FROM {table}").fetchone()[0]
    if not top:
        raise BenchError(f"The benchmark database has no {table}.")
    wanted = 2 * ctx.calls
    keys: list[str] = []
    for _ in range(20 * wanted):
        row = db.raw.execute(
            f"SELECT {column} FROM {table} WHERE id = ?", (ctx.rng.randint(1, top),)
        ).fetchone()
        if row is not None and accept(row[0]):
            keys.append(row[0])
            if len(keys) == wanted:
                return Lookup(db, tuple(keys))
    raise BenchError(f"Too few usable {table}.{column} values for the benchmark.")


def _found(row: object, what: str) -> object:
    if not row:
        raise BenchError(f"The benchmark looked up {what} and found nothing.")
    return row


# ------------------------------------------------------------------ accession issue


@dataclass(frozen=True)
class Issue:
    """State of the accession-issue scenario."""

    db: Database
    clock: FixedClock


def _issue_setup(ctx: Context) -> Issue:
    return Issue(ctx.db(), FixedClock(datetime(ACCESSION_YEAR, 6, 1, 9, 30, tzinfo=UTC)))


def _issue(state: Issue, _i: int) -> object:
    with state.db.uow() as uow:
        accession = issue_accession(uow, state.clock)
        uow.commit()
    return accession


def _issue_floor(state: Issue, _i: int) -> object:
    raw = state.db.raw
    raw.execute("BEGIN")
    try:
        value = raw.execute(NEXT_COUNTER_SQL, (ACCESSION_COUNTER,)).fetchone()
        raw.execute("COMMIT")
    except sqlite3.Error:
        raw.execute("ROLLBACK")
        raise
    return _found(value, "the accession counter")


# ------------------------------------------------------------------ lookups


def _accessions(ctx: Context) -> Lookup:
    return sample_keys(ctx, "specimens", "accession")


def _specimen_by_accession(state: Lookup, i: int) -> object:
    with state.db.uow() as uow:
        return _found(uow.specimens.by_accession(state.key(i)), "a specimen")


def _specimen_by_accession_floor(state: Lookup, i: int) -> object:
    row = state.db.raw.execute(SPECIMEN_BY_ACCESSION_SQL, (state.floor_key(i),)).fetchone()
    return _found(row, "a specimen")


def _mrns(ctx: Context) -> Lookup:
    return sample_keys(ctx, "patients", "mrn")


def _patient_by_mrn(state: Lookup, i: int) -> object:
    with state.db.uow() as uow:
        return lookup_by_scan(uow, state.key(i))


def _patient_by_mrn_floor(state: Lookup, i: int) -> object:
    row = state.db.raw.execute(PATIENT_BY_MRN_SQL, (state.floor_key(i),)).fetchone()
    return _found(row, "a patient")


@dataclass(frozen=True)
class AuditedScan:
    """State of the audited scan: MRNs, and who scans them when."""

    lookup: Lookup
    clock: FixedClock
    actor: SignedInUser


def _audited_setup(ctx: Context) -> AuditedScan:
    actor = SignedInUser(
        id=USER_ID,
        username="bench",
        display_name="Bench User",
        role=Role.MEDICAL_ASSISTANT,
        initials="BU",
        station="BENCH-1",
    )
    return AuditedScan(_mrns(ctx), FixedClock(datetime(ACCESSION_YEAR, 6, 1, tzinfo=UTC)), actor)


def _audited_scan(state: AuditedScan, i: int) -> object:
    with state.lookup.db.uow() as uow:
        return find_by_scan(uow, state.clock, state.actor, state.lookup.key(i))


def _audited_scan_floor(state: AuditedScan, i: int) -> object:
    return _patient_by_mrn_floor(state.lookup, i)


def _name_prefixes(ctx: Context) -> Lookup:
    """The first three letters of family names, typed in lower case as a user would.

    Prefixes that fill a page of results are preferred, so the small and the big database
    return the same number of rows and their p95 compare like with like (and a full page
    is the slow case). A database too small to fill a page falls back to any prefix.
    """
    raw = ctx.db().raw
    pages: dict[str, bool] = {}

    def fills_a_page(key: str) -> bool:
        prefix = key[:3]
        if prefix not in pages:
            count = raw.execute(
                "SELECT count(*) FROM (SELECT 1 FROM patients WHERE name_key >= ? "
                "AND name_key < ? LIMIT ?) AS page",
                (prefix, prefix + "\uffff", SEARCH_LIMIT),
            ).fetchone()[0]
            pages[prefix] = prefix.isalpha() and count == SEARCH_LIMIT
        return pages[prefix]

    try:
        sampled = sample_keys(ctx, "patients", "name_key", fills_a_page)
    except BenchError:
        sampled = sample_keys(ctx, "patients", "name_key", lambda key: key[:3].isalpha())
    return Lookup(sampled.db, tuple(key[:3].lower() for key in sampled.keys))


def _patient_by_name(state: Lookup, i: int) -> object:
    with state.db.uow() as uow:
        return _found(lookup_patients(uow, state.key(i), SEARCH_LIMIT), "a patient")


def _patient_by_name_floor(state: Lookup, i: int) -> object:
    prefix = state.floor_key(i).upper()
    rows = state.db.raw.execute(PATIENT_BY_NAME_SQL, (prefix, prefix + "\uffff")).fetchall()
    return _found(rows, "a patient")


SCENARIOS: list[Scenario[Any]] = [
    Scenario(
        name="accession-issue",
        title="Issue an accession ID (counter + commit)",
        setup=_issue_setup,
        run_once=_issue,
        floor=_issue_floor,
        max_growth=MAX_GROWTH,
    ),
    Scenario(
        name="specimen-by-accession",
        title="Specimen lookup by accession",
        setup=_accessions,
        run_once=_specimen_by_accession,
        floor=_specimen_by_accession_floor,
        target_p95_ms=LOOKUP_TARGET_MS,
        max_growth=MAX_GROWTH,
    ),
    Scenario(
        name="patient-by-mrn",
        title="Patient lookup by MRN scan",
        setup=_mrns,
        run_once=_patient_by_mrn,
        floor=_patient_by_mrn_floor,
        target_p95_ms=LOOKUP_TARGET_MS,
        max_growth=MAX_GROWTH,
    ),
    Scenario(
        name="patient-scan-audited",
        title="Patient scan as screens do it (permission, audit entry, commit)",
        setup=_audited_setup,
        run_once=_audited_scan,
        floor=_audited_scan_floor,
        target_p95_ms=LOOKUP_TARGET_MS,
        max_growth=MAX_GROWTH,
    ),
    Scenario(
        name="patient-by-name",
        title="Patient search by name prefix (a full page)",
        setup=_name_prefixes,
        run_once=_patient_by_name,
        floor=_patient_by_name_floor,
        target_p95_ms=LOOKUP_TARGET_MS,
        max_growth=MAX_GROWTH,
    ),
]
"""The lookup scenarios, in the order they run and are reported."""
