"""``courier-scan``: one courier scan, from the scanned text to the feedback DTO, committed.

The real path: manifest lookup, specimen row lock, status and site checks, stability from
the catalog, the custody event with both hash links, the manifest item, the tests moved to
in transit, commit. Setup walks ``2 * calls`` fresh specimens (accession year 2099, never
used by the generator) to ``verified`` at the bench site and opens a manifest; the run picks
up the even ones, the floor the odd ones. Teardown deletes every row the run added and
puts the chain counter back, so the cached database is unchanged.

The floor is the same pickup as bare SQL on the ``sqlite3`` connection: read the specimen
and its last event, bump the chain counter, read the last chain hash, insert the event
(SHA-256 over a fixed-format text), update the specimen, insert the item, commit.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.data.rows import SITE_ID, USER_ID
from bench.harness.errors import BenchError
from bench.harness.model import Context, Database, Scenario
from labdesk.adapters.append_only import SQLITE_TRIGGERS, sqlite_statements
from labdesk.custody.events import Handoff, record_event
from labdesk.custody.pickup import scan_for_pickup, start_pickup
from labdesk.domain.accession import make_accession
from labdesk.domain.catalog import TemperatureClass
from labdesk.domain.clock import FixedClock
from labdesk.domain.custody import CustodyEventKind
from labdesk.domain.hashchain import GENESIS
from labdesk.domain.order import Order, OrderedTest, OrderSource, Priority
from labdesk.domain.people import Role, User
from labdesk.domain.scan_rules import RECORDED
from labdesk.domain.specimen import Specimen, SpecimenStatus
from labdesk.kernel.dto import SignedInUser

SCAN_TARGET_MS = 30.0
SCAN_YEAR = 2099
CHAIN_COUNTER = "custody-chain"
_STAMP = "%Y-%m-%d %H:%M:%S.%f"
_NOW = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)


@dataclass
class ScanState:
    """Accessions to pick up (even calls: service; odd: floor) and what teardown removes."""

    db: Database
    clock: FixedClock
    courier: SignedInUser
    number: str
    manifest_id: int
    accessions: list[str]
    counter_before: int | None


def bench_courier(db: Database) -> SignedInUser:
    with db.uow() as uow:
        user = uow.people.user_by_username("bench-courier")
        if user is None:
            user = User(
                username="bench-courier",
                display_name="Bench Courier",
                role=Role.COURIER,
                password_hash="!",
                created_at=_NOW,
            )
            uow.people.add(user)
            uow.people.flush()
            uow.commit()
        assert user.id is not None
        return SignedInUser(user.id, user.username, user.display_name, Role.COURIER, "BC")


def verified_specimens(db: Database, clock: FixedClock, count: int) -> list[str]:
    """``count`` verified specimens at the bench site, each carrying one CBC."""
    collected = clock.now() - timedelta(hours=1)
    accessions = [make_accession(SCAN_YEAR, n) for n in range(1, count + 1)]
    with db.uow() as uow:
        order = Order(
            placer_order_number="BENCH-SCAN",
            patient_id=1,
            ordering_provider="Bench",
            priority=Priority.ROUTINE,
            source=OrderSource.MANUAL,
            ordered_at=collected,
            created_at=collected,
        )
        uow.orders.add(order)
        uow.orders.flush()
        assert order.id is not None
        for accession in accessions:
            specimen = Specimen(
                accession=accession,
                patient_id=1,
                container_code="LAV",
                site_id=SITE_ID,
                status=SpecimenStatus.COLLECTED,
                collected_at=collected,
                collected_by_id=USER_ID,
                created_at=collected,
                temperature_class=TemperatureClass.REFRIGERATED,
            )
            uow.specimens.add(specimen)
            uow.specimens.flush()
            uow.orders.add_test(
                OrderedTest(order_id=order.id, test_code="CBC", specimen_id=specimen.id)
            )
            for kind in (
                CustodyEventKind.COLLECTED,
                CustodyEventKind.LABELLED,
                CustodyEventKind.VERIFIED,
            ):
                record_event(
                    uow, clock, specimen, kind, Handoff(actor_id=USER_ID, location="BENCH-1")
                )
        uow.commit()
    return accessions


def setup(ctx: Context) -> ScanState:
    """Fresh verified specimens and an open manifest in the bench database."""
    db = ctx.db()
    _cleanup(db, None, None)  # leftovers of an interrupted run
    row = db.raw.execute("SELECT value FROM counters WHERE name = ?", (CHAIN_COUNTER,)).fetchone()
    clock = FixedClock(_NOW)
    courier = bench_courier(db)
    accessions = verified_specimens(db, clock, 2 * ctx.calls)
    with db.uow() as uow:
        site = uow.people.site(SITE_ID)
        if site is None:
            raise BenchError("The benchmark database has no site to pick up at.")
        number = start_pickup(uow, clock, courier, site.code, station_code="BENCH-1").number
        manifest = uow.manifests.by_number(number)
        assert manifest is not None
        assert manifest.id is not None
        manifest_id = manifest.id
    return ScanState(
        db, clock, courier, number, manifest_id, accessions, int(row[0]) if row else None
    )


def run_once(state: ScanState, i: int) -> object:
    """Scan the ``i``-th even specimen through the service."""
    with state.db.uow() as uow:
        feedback = scan_for_pickup(
            uow, state.clock, state.courier, state.number, state.accessions[2 * i]
        )
    if feedback.code not in RECORDED:
        raise BenchError(f"The benchmark scan was refused: {feedback.message}")
    return feedback


def floor(state: ScanState, i: int) -> object:
    """The same pickup of the ``i``-th odd specimen as bare SQL."""
    raw = state.db.raw
    accession = state.accessions[2 * i + 1]
    now = state.clock.now().strftime(_STAMP)
    raw.execute("BEGIN IMMEDIATE")
    try:
        specimen = raw.execute(
            "SELECT id, status, site_id, temperature_class, collected_at FROM specimens "
            "WHERE accession = ?",
            (accession,),
        ).fetchone()
        sid = specimen[0]
        seq, prev = raw.execute(
            "SELECT seq, hash FROM custody_events WHERE specimen_id = ? ORDER BY seq DESC LIMIT 1",
            (sid,),
        ).fetchone()
        raw.execute("UPDATE counters SET value = value + 1 WHERE name = ?", (CHAIN_COUNTER,))
        last = raw.execute("SELECT chain_hash FROM custody_events ORDER BY id DESC LIMIT 1")
        chain_prev = (last.fetchone() or (GENESIS,))[0]
        text = f"{sid}|{seq + 1}|picked_up|{state.courier.id}|{now}|{specimen[3]}".encode()
        own = hashlib.sha256(prev.encode() + text).hexdigest()
        chain = hashlib.sha256(chain_prev.encode() + text).hexdigest()
        raw.execute(
            "INSERT INTO custody_events (specimen_id, seq, kind, actor_id, occurred_at, "
            "recorded_at, location, temperature_class, container_ref, reason, note, prev_hash, "
            "hash, chain_prev_hash, chain_hash) VALUES (?, ?, 'picked_up', ?, ?, ?, 'BENCH', ?, "
            "'', '', '', ?, ?, ?, ?)",
            (sid, seq + 1, state.courier.id, now, now, specimen[3], prev, own, chain_prev, chain),
        )
        raw.execute(
            "UPDATE specimens SET status = 'in_transit', status_changed_at = ? WHERE id = ?",
            (now, sid),
        )
        raw.execute(
            "INSERT INTO manifest_items (manifest_id, specimen_id, temperature_class, bag_id, "
            "expected, scanned_at, scanned_by_id) VALUES (?, ?, ?, '', TRUE, ?, ?)",
            (state.manifest_id, sid, specimen[3], now, state.courier.id),
        )
    except BaseException:
        raw.execute("ROLLBACK")
        raise
    raw.execute("COMMIT")
    return sid


def teardown(state: ScanState) -> None:
    """Delete the run's rows and restore the chain counter."""
    _cleanup(state.db, state.manifest_id, state.counter_before)


def _cleanup(db: Database, manifest_id: int | None, counter: int | None) -> None:
    raw = db.raw
    # Accessions of year 2099 start with "99": an index range scan finds them all.
    low, high = f"{SCAN_YEAR % 100}", f"{SCAN_YEAR % 100 // 10}:"
    mine = "(SELECT id FROM specimens WHERE accession >= ? AND accession < ?)"
    raw.execute("BEGIN IMMEDIATE")
    try:
        raw.execute(f"DELETE FROM manifest_items WHERE specimen_id IN {mine}", (low, high))
        if manifest_id is not None:
            raw.execute("DELETE FROM manifest_items WHERE manifest_id = ?", (manifest_id,))
            raw.execute("DELETE FROM manifests WHERE id = ?", (manifest_id,))
        # The bench's own synthetic rows: lift the append-only guard for this one
        # transaction (its own cached database, never a clinic's), then put it back. On
        # PostgreSQL (the bench role is a superuser there) row triggers are switched off
        # for this transaction instead.
        if db.postgres:
            raw.execute("SET LOCAL session_replication_role = replica")
        else:
            for name in SQLITE_TRIGGERS["custody_events"]:
                raw.execute(f"DROP TRIGGER IF EXISTS {name}")
        raw.execute(f"DELETE FROM custody_events WHERE specimen_id IN {mine}", (low, high))
        if not db.postgres:
            for statement in sqlite_statements("custody_events"):
                raw.execute(statement)
        raw.execute(f"DELETE FROM ordered_tests WHERE specimen_id IN {mine}", (low, high))
        raw.execute("DELETE FROM orders WHERE placer_order_number = 'BENCH-SCAN'")
        raw.execute("DELETE FROM specimens WHERE accession >= ? AND accession < ?", (low, high))
        if counter is not None:
            raw.execute("UPDATE counters SET value = ? WHERE name = ?", (counter, CHAIN_COUNTER))
        elif manifest_id is not None:
            raw.execute("DELETE FROM counters WHERE name = ?", (CHAIN_COUNTER,))
    except BaseException:
        raw.execute("ROLLBACK")
        raise
    raw.execute("COMMIT")


SCENARIO: Scenario[Any] = Scenario(
    name="courier-scan",
    title="Courier scan to feedback, pickup event committed",
    setup=setup,
    run_once=run_once,
    floor=floor,
    target_p95_ms=SCAN_TARGET_MS,
    max_growth=1.5,
    teardown=teardown,
)
