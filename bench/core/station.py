"""Phlebotomy station scenarios: a wristband scan to the draw plan, and search-as-you-type.

``station-scan-plan`` is the service path the station runs on a wristband scan: look the
patient up, open the encounter and record the wristband as the identifier check (insert,
update, two audit entries, one commit), then load what the screen shows: orders, the draw
plan (catalog, consolidation, order of draw), specimens and alarms. Patients are drawn from
those with active orders, so there is a plan to build. Its floor is the same reads as bare
SQL plus one bare commit.

``station-keystroke`` is one keystroke of search-as-you-type as the screen runs it
(``search_patients``: permission, query, one audit entry per patient shown, commit), over
the prefixes a user produces typing a name ("b", "be", "bel", …, "belmar j").

Teardown removes the encounters a run opened (audit entries stay: they are append-only).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bench.data.rows import ACCESSION_YEAR, USER_ID
from bench.data.synthetic import wristband_for
from bench.harness.errors import BenchError
from bench.harness.model import Context, Database, Scenario
from labdesk.domain.clock import FixedClock
from labdesk.domain.people import Role
from labdesk.kernel.dto import SignedInUser
from labdesk.station.encounter import load_encounter, open_by_wristband
from labdesk.station.patients import search_patients

SCAN_TARGET_MS = 50.0
KEYSTROKE_TARGET_MS = 30.0
STATION_CODE = "BENCH-1"
SEARCH_LIMIT = 25

_FLOOR_PATIENT_SQL = (
    "SELECT p.* FROM patient_identifiers i JOIN patients p ON p.id = i.patient_id "
    "WHERE i.system = 'wristband' AND i.value = ?"
)
_FLOOR_ORDERS_SQL = "SELECT * FROM orders WHERE patient_id = ? AND status = 'active'"
_FLOOR_TESTS_SQL = "SELECT * FROM ordered_tests WHERE order_id IN ({})"
_FLOOR_CATALOG_SQL = ("SELECT * FROM test_definitions", "SELECT * FROM container_types")
_FLOOR_COMMIT_SQL = "UPDATE counters SET value = value + 1 WHERE name = 'bench-station-floor'"
_NAME_SQL = (
    "SELECT name_key FROM patients WHERE name_key >= ? AND name_key < ? ORDER BY name_key LIMIT 25"
)


def bench_actor() -> SignedInUser:
    """The benchmark database's medical assistant at its station."""
    return SignedInUser(
        id=USER_ID,
        username="bench",
        display_name="Bench User",
        role=Role.MEDICAL_ASSISTANT,
        initials="BU",
        station=STATION_CODE,
    )


@dataclass
class ScanState:
    """Wristbands of patients with active orders, and where the run started."""

    db: Database
    wristbands: tuple[str, ...]
    clock: FixedClock
    actor: SignedInUser
    first_new_encounter: int

    def key(self, i: int) -> str:
        """Wristband for the service path's call ``i``."""
        return self.wristbands[(2 * i) % len(self.wristbands)]

    def floor_key(self, i: int) -> str:
        """Wristband for the floor's call ``i``."""
        return self.wristbands[(2 * i + 1) % len(self.wristbands)]


def scan_setup(ctx: Context) -> ScanState:
    """Sample patients with active orders (at most one call in five reuses one)."""
    db = ctx.db()
    raw = db.raw
    top = raw.execute("SELECT max(id) FROM orders").fetchone()[0]
    if not top:
        raise BenchError("The benchmark database has no orders.")
    wanted = 2 * ctx.calls
    found: list[str] = []
    for _ in range(50 * wanted):
        row = raw.execute(
            "SELECT patient_id FROM orders WHERE id = ? AND status = 'active'",
            (ctx.rng.randint(1, top),),
        ).fetchone()
        if row is not None:
            found.append(wristband_for(int(row[0])))
            if len(found) == wanted:
                break
    if not found:
        raise BenchError("The benchmark database has no active orders.")
    start = raw.execute("SELECT coalesce(max(id), 0) FROM encounters").fetchone()[0]
    return ScanState(
        db=db,
        wristbands=tuple(found),
        clock=FixedClock(datetime(ACCESSION_YEAR, 6, 1, 9, tzinfo=UTC)),
        actor=bench_actor(),
        first_new_encounter=int(start) + 1,
    )


def scan_to_plan(state: ScanState, i: int) -> object:
    """Wristband scan → encounter opened and identified → orders and draw plan loaded."""
    with state.db.uow() as uow:
        encounter_id = open_by_wristband(uow, state.clock, state.actor, state.key(i), STATION_CODE)
    with state.db.uow() as uow:
        view = load_encounter(uow, state.actor, encounter_id)
    if not view.orders:
        raise BenchError("A sampled patient had no orders on screen.")
    return view


def scan_floor(state: ScanState, i: int) -> list[Any]:
    """The same reads as bare SQL, and one bare commit."""
    raw = state.db.raw
    patient = raw.execute(_FLOOR_PATIENT_SQL, (state.floor_key(i),)).fetchone()
    if patient is None:
        raise BenchError("The floor looked up a wristband and found nothing.")
    _commit(raw)
    orders = raw.execute(_FLOOR_ORDERS_SQL, (patient[0],)).fetchall()
    ids = [row[0] for row in orders]
    tests = raw.execute(_FLOOR_TESTS_SQL.format(",".join("?" * len(ids))), ids).fetchall()
    for sql in _FLOOR_CATALOG_SQL:
        raw.execute(sql).fetchall()
    return list(tests)


def _commit(raw: sqlite3.Connection) -> None:
    raw.execute("BEGIN IMMEDIATE")
    try:
        raw.execute(_FLOOR_COMMIT_SQL)
        raw.execute("COMMIT")
    except sqlite3.Error:
        raw.execute("ROLLBACK")
        raise


def scan_teardown(state: ScanState) -> None:
    """Delete the encounters this run opened (the cached database stays as built)."""
    raw = state.db.raw
    raw.execute("DELETE FROM encounters WHERE id >= ?", (state.first_new_encounter,))


@dataclass(frozen=True)
class Keystrokes:
    """The text after each keystroke of typing sampled names (service: even, floor: odd)."""

    db: Database
    texts: tuple[str, ...]
    clock: FixedClock
    actor: SignedInUser


def keystroke_setup(ctx: Context) -> Keystrokes:
    """Type sampled ``family given`` names one key at a time (the first 3 given letters)."""
    raw = ctx.db().raw
    top = raw.execute("SELECT max(id) FROM patients").fetchone()[0]
    if not top:
        raise BenchError("The benchmark database has no patients.")
    texts: list[str] = []
    while len(texts) < 2 * ctx.calls:
        row = raw.execute(
            "SELECT family_name, given_name FROM patients WHERE id = ?", (ctx.rng.randint(1, top),)
        ).fetchone()
        if row is None:
            continue
        typed = f"{row[0].lower()} {row[1][:3].lower()}"
        texts.extend(typed[:n] for n in range(1, len(typed) + 1) if not typed[:n].endswith(" "))
    return Keystrokes(
        ctx.db(),
        tuple(texts[: 2 * ctx.calls]),
        FixedClock(datetime(ACCESSION_YEAR, 6, 1, 9, tzinfo=UTC)),
        bench_actor(),
    )


def keystroke(state: Keystrokes, i: int) -> object:
    """One keystroke's search, as the station's search box runs it."""
    with state.db.uow() as uow:
        return search_patients(
            uow, state.clock, state.actor, state.texts[(2 * i) % len(state.texts)], SEARCH_LIMIT
        )


def keystroke_floor(state: Keystrokes, i: int) -> object:
    """The family-name prefix range scan as bare SQL."""
    family = state.texts[(2 * i + 1) % len(state.texts)].split(" ")[0].upper()
    return state.db.raw.execute(_NAME_SQL, (family, family + "\uffff")).fetchall()


SCENARIOS: list[Scenario[Any]] = [
    Scenario(
        name="station-scan-plan",
        title="Station: wristband scan to orders and draw plan (1 commit)",
        setup=scan_setup,
        run_once=scan_to_plan,
        floor=scan_floor,
        target_p95_ms=SCAN_TARGET_MS,
        teardown=scan_teardown,
    ),
    Scenario(
        name="station-keystroke",
        title="Station: search-as-you-type, one keystroke (audited)",
        setup=keystroke_setup,
        run_once=keystroke,
        floor=keystroke_floor,
        target_p95_ms=KEYSTROKE_TARGET_MS,
    ),
]
