"""The replica-log triggers frozen in migration 0020 agree with their source module."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from labdesk.adapters.replica import triggers

MIGRATION = (
    Path(__file__).resolve().parents[2] / "labdesk/adapters/migrations/versions/0020_replica_log.py"
)


def _migration() -> ModuleType:
    spec = importlib.util.spec_from_file_location("m0020", MIGRATION)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_frozen_statements_match_the_source() -> None:
    m = _migration()
    assert list(m._SQLITE_TRIGGERS) == triggers.sqlite_statements()
    assert list(m._PG_TRIGGERS) == triggers.postgresql_statements()
    assert list(m._SQLITE_DROPS) == triggers.drop_statements("sqlite")
    assert list(m._PG_DROPS) == triggers.drop_statements("postgresql")


def test_every_replicated_table_is_logged_once() -> None:
    tables = [rule.table for rule in triggers.RULES]
    assert len(tables) == len(set(tables))
    assert "audit_entries" not in tables
    assert "custody_events" not in tables
