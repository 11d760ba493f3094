"""The change-feed triggers: every topic is announced, and migration 0013 froze them right."""

from __future__ import annotations

import importlib.util
import re
from types import ModuleType

from labdesk.adapters.change_feed import triggers
from labdesk.adapters.migrate import MIGRATIONS_DIR
from labdesk.adapters.orm import metadata
from labdesk.kernel.changes import CHANNEL, Topic


def _migration() -> ModuleType:
    path = MIGRATIONS_DIR / "versions" / "0013_change_feed.py"
    spec = importlib.util.spec_from_file_location("migration_0013", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_topic_is_announced_by_some_table() -> None:
    assert {rule.topic for rule in triggers.RULES} == set(Topic)


def test_every_rule_names_a_real_table_and_column() -> None:
    for rule in triggers.RULES:
        table = metadata.tables[rule.table]
        assert rule.id_column in table.c, rule


def test_the_screens_tables_are_all_covered() -> None:
    covered = {rule.table for rule in triggers.RULES}
    assert {
        "patients", "orders", "ordered_tests", "specimens", "custody_events", "manifests",
        "manifest_items", "results", "unmatched_results", "acknowledgements", "escalations",
        "print_jobs", "recollection_tasks",
    } <= covered  # fmt: skip


def test_postgresql_triggers_notify_the_contract_payload() -> None:
    statements = triggers.postgresql_statements()
    functions = [s for s in statements if s.startswith("CREATE FUNCTION")]
    assert len(functions) == len(triggers.RULES)
    for rule, body in zip(triggers.RULES, functions, strict=True):
        assert f"pg_notify('{CHANNEL}', '{rule.topic.value}:' || NEW.{rule.id_column})" in body
    assert not any("change_counters" in s for s in statements)  # no hot row on PostgreSQL
    creates = [s for s in statements if s.startswith("CREATE TRIGGER")]
    assert [re.split(r"\s+", s)[2] for s in creates] == list(triggers.pg_trigger_names())


def test_sqlite_triggers_bump_one_counter_per_event() -> None:
    statements = triggers.sqlite_statements()
    assert len(statements) == len(triggers.sqlite_trigger_names())
    for statement in statements:
        assert "UPDATE change_counters SET seq = seq + 1 WHERE topic = '" in statement
    seeded = triggers.counter_seed_statements()
    assert len(seeded) == len(Topic)


def test_the_append_only_custody_log_announces_inserts_only() -> None:
    (rule,) = [r for r in triggers.RULES if r.table == "custody_events"]
    assert rule.events == ("INSERT",)
    assert rule.id_column == "specimen_id"


def test_bulk_loaders_can_drop_and_recreate_every_trigger() -> None:
    for dialect in ("sqlite", "postgresql"):
        names = [name for _table, name in triggers.TRIGGERS[dialect]]
        dropped = " ".join(triggers.drop_statements(dialect))
        assert all(name in dropped for name in names)
        assert len(triggers.create_statements(dialect)) >= len(names)


def test_migration_0013_froze_the_current_statements() -> None:
    migration = _migration()
    assert list(migration._SQLITE_TRIGGERS) == triggers.sqlite_statements()
    assert list(migration._PG_TRIGGERS) == triggers.postgresql_statements()
    assert list(migration._SQLITE_SEED) == triggers.counter_seed_statements()
    assert list(migration._SQLITE_DROPS) == triggers.drop_statements("sqlite")
    assert list(migration._PG_DROPS) == triggers.drop_statements("postgresql")
    assert migration.revision == "0013_change_feed"
    assert migration.down_revision == "0012_command_log"
