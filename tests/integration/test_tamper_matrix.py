"""Issue 15 item 4: raw-SQL tampering of the custody chain, its counter and the audit log.

Each case runs as an attacker with the database owner's rights but not the anchor file: it
first takes the append-only guard out of the way (drops it, disables it, or replaces it with
one that does nothing), then changes the data. ``verify`` must report the guard *and*, for
every case that touches data, the data itself (``findings``/``problems``, asserted apart
from the guard report so a missing guard cannot hide a missed edit). The heads were anchored
outside the database by the ordinary commits (``AnchorFile``, one line per commit), which is
what catches a cut-off or consistently rewritten tail.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from typing import Any

import pytest
from custody_world import World
from sqlalchemy import Engine, text

from labdesk.access.audit_log import verify_audit_log
from labdesk.adapters.chain_anchor import AnchorFile
from labdesk.adapters.database import describe
from labdesk.adapters.repositories.custody import EVENT_STREAM_COLUMNS, canonical_row
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.custody.pickup import scan_for_pickup, start_pickup
from labdesk.custody.verify import verify_chains
from labdesk.domain.audit import AuditAction, AuditEntry
from labdesk.domain.clock import FixedClock
from labdesk.domain.hashchain import GENESIS, link_hash
from labdesk.kernel.audit import record_audit

GUARD_MODES = ("drop", "defuse")
"""``drop``: DROP TRIGGER. ``defuse``: PostgreSQL DISABLE TRIGGER; SQLite has no DISABLE, so
the trigger is replaced by a same-named one that refuses nothing."""


@dataclass
class Lab:
    """A clinic day with custody events and audit entries, anchored after every commit."""

    world: World
    engine: Engine
    anchors: AnchorFile

    @property
    def pg(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def sql(self, statement: str, **params: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(text(statement), params)

    def scalar(self, statement: str) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(statement)).scalar()


@pytest.fixture
def lab(engine: Engine, clock: FixedClock, tmp_path: Path) -> Lab:
    anchors = AnchorFile(tmp_path / "anchors.jsonl", describe(engine.url))
    world = World.build(UnitOfWorkFactory(engine, anchors), clock)
    accessions = [world.specimen() for _ in range(3)]  # 3 events each: ids 1..9
    courier = world.users["chris"]
    with world.uow() as uow:
        number = start_pickup(uow, clock, courier, "CLINIC").number
        uow.commit()
    for accession in accessions[:2]:  # ids 10, 11
        with world.uow() as uow:
            scan_for_pickup(uow, clock, courier, number, accession)
            uow.commit()
    for entity_id in range(5):  # audit entries 1..5, one commit each
        with world.uow() as uow:
            record_audit(
                uow,
                clock,
                action=AuditAction.VIEW,
                entity="patient",
                entity_id=entity_id,
                actor=courier,
            )
            uow.commit()
    built = Lab(world, engine, anchors)
    assert built.scalar("SELECT COUNT(*) FROM custody_events") == 11
    assert built.scalar("SELECT COUNT(*) FROM audit_entries") >= 4
    assert anchors.latest("custody") is not None
    assert anchors.latest("audit") is not None
    return built


# ------------------------------------------------------------------ the attacker's tools


def unguard(lab: Lab, table: str, mode: str = "drop") -> None:
    """Take ``table``'s append-only guard out of the way, as its owner could."""
    if lab.pg:
        verb = "DISABLE TRIGGER" if mode == "defuse" else "DROP TRIGGER"
        for name in (f"{table}_append_only", f"{table}_no_truncate"):
            if mode == "defuse":
                lab.sql(f"ALTER TABLE {table} DISABLE TRIGGER {name}")
            else:
                lab.sql(f"{verb} {name} ON {table}")
        return
    for event in ("update", "delete"):
        lab.sql(f"DROP TRIGGER {table}_no_{event}")
        if mode == "defuse":
            lab.sql(
                f"CREATE TRIGGER {table}_no_{event} BEFORE {event.upper()} ON {table} "
                "BEGIN SELECT 1; END"
            )


def custody_rows(lab: Lab) -> list[dict[str, Any]]:
    with lab.engine.connect() as conn:
        cols = ", ".join(EVENT_STREAM_COLUMNS)
        return [
            dict(r._mapping)
            for r in conn.execute(text(f"SELECT {cols} FROM custody_events ORDER BY id"))
        ]


def own_hashes(lab: Lab, row: dict[str, Any], prev: str, chain_prev: str) -> tuple[str, str]:
    """(hash, chain_hash) of ``row`` linked to ``prev``/``chain_prev``: the writer's formula."""
    text_ = canonical_row([row[c] for c in EVENT_STREAM_COLUMNS], not lab.pg).encode()
    return (
        sha256(prev.encode() + text_).hexdigest(),
        sha256(chain_prev.encode() + text_).hexdigest(),
    )


def rechain(lab: Lab, edits: dict[int, dict[str, Any]], gone: frozenset[int] = frozenset()) -> None:
    """Apply ``edits``, delete ``gone`` and recompute every link to the tail (consistent)."""
    if gone:
        lab.sql(f"DELETE FROM custody_events WHERE id IN ({','.join(map(str, gone))})")
    chain = GENESIS
    last: dict[int, tuple[int, str]] = {}
    for row in custody_rows(lab):
        row |= edits.get(row["id"], {})
        seq, prev = last.get(row["specimen_id"], (0, GENESIS))
        row["seq"], row["prev_hash"], row["chain_prev_hash"] = seq + 1, prev, chain
        row["hash"], row["chain_hash"] = own_hashes(lab, row, prev, chain)
        last[row["specimen_id"]] = (row["seq"], row["hash"])
        chain = row["chain_hash"]
        sets = ", ".join(f"{k} = :{k}" for k in row if k != "id")
        lab.sql(f"UPDATE custody_events SET {sets} WHERE id = :id", **row)


def forge_after_tail(lab: Lab) -> None:
    """A new last event copying the head's links, its own hashes computed correctly."""
    tail = custody_rows(lab)[-1]
    forged = tail | {"seq": tail["seq"] + 1, "location": "Back door", "note": "forged"}
    forged["prev_hash"], forged["chain_prev_hash"] = tail["hash"], tail["chain_hash"]
    forged["hash"], forged["chain_hash"] = own_hashes(lab, forged, tail["hash"], tail["chain_hash"])
    del forged["id"]
    cols = ", ".join(forged)
    lab.sql(
        f"INSERT INTO custody_events ({cols}) VALUES ({', '.join(':' + c for c in forged)})",
        **forged,
    )


def set_counter(lab: Lab, name: str, value: str) -> None:
    lab.sql(f"UPDATE counters SET value = {value} WHERE name = '{name}'")


# ------------------------------------------------------------------ custody cases

CustodyCase = Callable[[Lab], None]


def c01_edit_field(lab: Lab) -> None:
    lab.sql("UPDATE custody_events SET location = 'Somewhere else' WHERE id = 5")


def c02_edit_and_rehash_row(lab: Lab) -> None:
    row = custody_rows(lab)[4] | {"location": "Somewhere else"}
    hashed, chained = own_hashes(lab, row, row["prev_hash"], row["chain_prev_hash"])
    lab.sql(
        "UPDATE custody_events SET location = :l, hash = :h, chain_hash = :c WHERE id = 5",
        l="Somewhere else",
        h=hashed,
        c=chained,
    )


def c03_rehash_to_tail(lab: Lab) -> None:
    rechain(lab, {5: {"location": "Somewhere else"}})


def c04_delete_middle(lab: Lab) -> None:
    lab.sql("DELETE FROM custody_events WHERE id = 5")


def c05_delete_middle_rehash_and_lower_counter(lab: Lab) -> None:
    rechain(lab, {}, gone=frozenset({5}))
    set_counter(lab, "custody-chain", "value - 1")


def c06_delete_tail(lab: Lab) -> None:
    lab.sql("DELETE FROM custody_events WHERE id = 11")


def c07_delete_tail_and_lower_counter(lab: Lab) -> None:
    lab.sql("DELETE FROM custody_events WHERE id >= 10")
    set_counter(lab, "custody-chain", "value - 2")


def c08_truncate_all_and_reset_counter(lab: Lab) -> None:
    lab.sql("DELETE FROM board_dirty")
    lab.sql("TRUNCATE custody_events" if lab.pg else "DELETE FROM custody_events")
    lab.sql("DELETE FROM counters WHERE name = 'custody-chain'")


def c09_forge_valid_row_after_counter(lab: Lab) -> None:
    forge_after_tail(lab)


def c10_reorder_seq(lab: Lab) -> None:
    lab.sql("UPDATE custody_events SET seq = 0 WHERE id = 4")
    lab.sql("UPDATE custody_events SET seq = 1 WHERE id = 5")
    lab.sql("UPDATE custody_events SET seq = 2 WHERE id = 4")


def c11_swap_two_rows(lab: Lab) -> None:
    rows = {r["id"]: r for r in custody_rows(lab)}
    a, b = rows[4], rows[7]
    # Free the unique values first (seq per specimen, both hashes).
    lab.sql("UPDATE custody_events SET seq = -1, hash = 'x', chain_hash = 'x' WHERE id = 4")
    for target, source in ((7, a), (4, b)):
        values = {k: v for k, v in source.items() if k != "id"}
        sets = ", ".join(f"{k} = :{k}" for k in values)
        lab.sql(f"UPDATE custody_events SET {sets} WHERE id = {target}", **values)


def c12_raise_counter(lab: Lab) -> None:
    set_counter(lab, "custody-chain", "value + 5")


def c13_lower_counter(lab: Lab) -> None:
    set_counter(lab, "custody-chain", "value - 1")


def c14_edit_chain_head(lab: Lab) -> None:
    lab.sql("UPDATE custody_events SET chain_hash = :h WHERE id = 11", h="a" * 64)


def c15_rewrite_head_consistently(lab: Lab) -> None:
    rechain(lab, {11: {"location": "Somewhere else", "note": "rewritten"}})


def c16_rewrite_whole_chain(lab: Lab) -> None:
    rechain(lab, {1: {"note": "rewritten"}})


def c17_forge_row_with_made_up_hash(lab: Lab) -> None:
    tail = custody_rows(lab)[-1]
    forged = {k: v for k, v in tail.items() if k != "id"} | {
        "seq": tail["seq"] + 1,
        "hash": "f" * 64,
        "chain_hash": "d" * 64,
        "prev_hash": tail["hash"],
        "chain_prev_hash": tail["chain_hash"],
    }
    cols = ", ".join(forged)
    lab.sql(
        f"INSERT INTO custody_events ({cols}) VALUES ({', '.join(':' + c for c in forged)})",
        **forged,
    )
    set_counter(lab, "custody-chain", "value + 1")


def c18_guard_only(lab: Lab) -> None:
    """Nothing but the guard: verify must still say so."""


def _with_modes(cases: tuple[Any, ...], guard_only: Any) -> list[Any]:
    """Each case with one way of removing the guard (alternating); the guard-only case both."""
    params = [
        pytest.param(case, GUARD_MODES[index % 2], id=f"{case.__name__}-{GUARD_MODES[index % 2]}")
        for index, case in enumerate(cases)
        if case is not guard_only
    ]
    return params + [
        pytest.param(guard_only, mode, id=f"{guard_only.__name__}-{mode}") for mode in GUARD_MODES
    ]


CUSTODY_CASES: tuple[CustodyCase, ...] = (
    c01_edit_field,
    c02_edit_and_rehash_row,
    c03_rehash_to_tail,
    c04_delete_middle,
    c05_delete_middle_rehash_and_lower_counter,
    c06_delete_tail,
    c07_delete_tail_and_lower_counter,
    c08_truncate_all_and_reset_counter,
    c09_forge_valid_row_after_counter,
    c10_reorder_seq,
    c11_swap_two_rows,
    c12_raise_counter,
    c13_lower_counter,
    c14_edit_chain_head,
    c15_rewrite_head_consistently,
    c16_rewrite_whole_chain,
    c17_forge_row_with_made_up_hash,
    c18_guard_only,
)


@pytest.mark.parametrize(("case", "mode"), _with_modes(CUSTODY_CASES, c18_guard_only))
def test_custody_tampering_is_detected(lab: Lab, case: CustodyCase, mode: str) -> None:
    with lab.world.uow() as uow:
        assert verify_chains(uow).ok

    unguard(lab, "custody_events", mode)
    case(lab)

    with lab.world.uow() as uow:
        report = verify_chains(uow)
    assert not report.ok
    assert report.anchored
    assert any("custody_events" in g for g in report.guards), report.guards
    if case is not c18_guard_only:
        assert report.findings, f"{case.__name__} went unnoticed"


def test_counter_and_rows_past_it_are_checked_without_an_anchor(lab: Lab) -> None:
    """A valid-looking row after the counter is named even when no anchor is configured."""
    unguard(lab, "custody_events")
    forge_after_tail(lab)
    factory = UnitOfWorkFactory(lab.engine)  # no anchors

    with factory() as uow:
        report = verify_chains(uow)

    assert [(f.kind.value, f.event_id) for f in report.findings] == [("inserted", 12)]


def test_rewritten_tail_needs_the_anchor(lab: Lab) -> None:
    """Without the anchor a consistent rewrite to the tail passes the links and the counter:
    the anchor is what catches it (so the matrix above really depends on it)."""
    unguard(lab, "custody_events")
    c03_rehash_to_tail(lab)

    with UnitOfWorkFactory(lab.engine)() as uow:
        assert not verify_chains(uow).findings
    with lab.world.uow() as uow:
        assert verify_chains(uow).findings


# ------------------------------------------------------------------ audit cases


def audit_rechain(lab: Lab, edit: Callable[[list[AuditEntry]], None]) -> None:
    """Change the loaded entries, then recompute every hash to the tail with raw UPDATEs."""
    with lab.world.uow() as uow:
        entries = list(uow.audit.all_in_order())
        uow.session.expunge_all()
    edit(entries)
    prev = GENESIS
    for entry in entries:
        entry.prev_hash = prev
        entry.hash = link_hash(prev, entry.content())
        prev = entry.hash
        lab.sql(
            "UPDATE audit_entries SET detail = :d, prev_hash = :p, hash = :h WHERE id = :i",
            d=entry.detail,
            p=entry.prev_hash,
            h=entry.hash,
            i=entry.id,
        )


def a01_edit_entry(lab: Lab) -> None:
    lab.sql("UPDATE audit_entries SET outcome = 'denied' WHERE id = 2")


def a02_delete_middle(lab: Lab) -> None:
    lab.sql("DELETE FROM audit_entries WHERE id = 2")


def a03_cut_tail_and_lower_counter(lab: Lab) -> None:
    last = lab.scalar("SELECT MAX(id) FROM audit_entries")
    lab.sql(f"DELETE FROM audit_entries WHERE id = {last}")
    set_counter(lab, "audit-chain", "value - 1")


def a04_rewrite_to_tail(lab: Lab) -> None:
    def edit(entries: list[AuditEntry]) -> None:
        entries[1].detail = "nothing to see"

    audit_rechain(lab, edit)


def a05_truncate_and_reset_counter(lab: Lab) -> None:
    lab.sql("TRUNCATE audit_entries CASCADE" if lab.pg else "DELETE FROM audit_entries")
    lab.sql("DELETE FROM counters WHERE name = 'audit-chain'")


def a06_guard_only(lab: Lab) -> None:
    """Nothing but the guard."""


AUDIT_CASES = (
    a01_edit_entry,
    a02_delete_middle,
    a03_cut_tail_and_lower_counter,
    a04_rewrite_to_tail,
    a05_truncate_and_reset_counter,
    a06_guard_only,
)


@pytest.mark.parametrize(("case", "mode"), _with_modes(AUDIT_CASES, a06_guard_only))
def test_audit_tampering_is_detected(lab: Lab, case: Callable[[Lab], None], mode: str) -> None:
    with lab.world.uow() as uow:
        assert verify_audit_log(uow, lab.world.clock, None, record=False).ok

    unguard(lab, "audit_entries", mode)
    case(lab)

    with lab.world.uow() as uow:
        report = verify_audit_log(uow, lab.world.clock, None, record=False)
    assert not report.ok
    assert report.anchored
    assert any("audit_entries" in g for g in report.guards), report.guards
    if case is not a06_guard_only:
        assert report.problems, f"{case.__name__} went unnoticed"


def test_a_cut_tail_stays_visible_after_new_events_pass_the_old_count(lab: Lab) -> None:
    """Cut two events, lower the counter, then let the clinic add three more: the newest
    anchor is genuine again, but the older ones still name the events that were cut."""
    unguard(lab, "custody_events")
    c07_delete_tail_and_lower_counter(lab)  # 11 -> 9 events, counter 9
    lab.world.specimen()  # three more events (SQLite reuses ids 10, 11), anchored as usual
    with lab.world.uow() as uow:
        report = verify_chains(uow)
    assert report.findings
    assert lab.scalar("SELECT value FROM counters WHERE name = 'custody-chain'") == 12
