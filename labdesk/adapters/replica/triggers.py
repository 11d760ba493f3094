"""Triggers feeding ``replica_log``: every write to a table the station replica holds.

Each insert, update and delete on a replicated table appends ``(table_name, row_id)`` to
``replica_log`` in the writing transaction, so a station's refresh can ask for "what changed
since seq N" instead of reloading (issue 12 item 1). ``row_id`` is the row's key as text
(``code`` for catalog tables keyed by a code; ``series_code`` for ``series_steps``, whose
refresh re-reads the whole series). An update that changes the key logs the old key too.

Append-only chains (audit entries, custody events) are not replicated: the server's chains
are the record. The statement text comes from :mod:`labdesk.adapters.sql_triggers` (shared
with the change feed); this module says only what each body writes. The statements are
frozen in migration 0020 (a change here or there needs a new migration);
``tests/unit/test_replica_triggers.py`` checks the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from labdesk.adapters.sql_triggers import EVENTS, RowTriggers

PREFIX = "replica_log_"
"""Every replica-log trigger (and PostgreSQL function) name starts with this."""
LOG_TABLE = "replica_log"


@dataclass(frozen=True)
class Rule:
    """One replicated table and the column its log entries name."""

    table: str
    key: str = "id"

    @property
    def name(self) -> str:
        """The trigger (and PostgreSQL function) name."""
        return f"{PREFIX}{self.table}"

    @property
    def events(self) -> tuple[str, ...]:
        """Every event: an insert, an update and a delete all change what a station holds."""
        return EVENTS


RULES: tuple[Rule, ...] = (
    Rule("sites"),
    Rule("stations"),
    Rule("routes"),
    Rule("container_types", "code"),
    Rule("test_definitions", "code"),
    Rule("preparation_rules", "test_code"),
    Rule("pediatric_tubes", "test_code"),
    Rule("series_steps", "series_code"),
    Rule("users"),
    Rule("patients"),
    Rule("patient_identifiers"),
    Rule("patient_weights"),
    Rule("orders"),
    Rule("ordered_tests"),
    Rule("timed_draws"),
    Rule("encounters"),
    Rule("specimens"),
    Rule("collection_details", "specimen_id"),
    Rule("test_reservations"),
    Rule("preparation_answers"),
    Rule("recollection_tasks"),
    Rule("manifests"),
    Rule("manifest_items"),
)
"""Every table the station replica holds, with its key column."""


def _sqlite_log(rule: Rule, row: str) -> str:
    return (
        f"INSERT INTO {LOG_TABLE} (table_name, row_id, changed_at) "
        f"VALUES ('{rule.table}', {row}.{rule.key}, datetime('now'));"
    )


def _sqlite_body(rule: Rule, event: str) -> str:
    """SQLite: log the row's key; an update that changes the key logs the old one too."""
    if event == "INSERT":
        return _sqlite_log(rule, "NEW")
    if event == "DELETE":
        return _sqlite_log(rule, "OLD")
    return (
        f"{_sqlite_log(rule, 'NEW')} "
        f"INSERT INTO {LOG_TABLE} (table_name, row_id, changed_at) "
        f"SELECT '{rule.table}', OLD.{rule.key}, datetime('now') "
        f"WHERE OLD.{rule.key} IS NOT NEW.{rule.key};"
    )


def _pg_log(rule: Rule, row: str) -> str:
    return (
        f"INSERT INTO {LOG_TABLE} (table_name, row_id, changed_at) "
        f"VALUES ('{rule.table}', {row}.{rule.key}::text, now());"
    )


def _pg_body(rule: Rule) -> str:
    """PostgreSQL: the same, one function for every event (``TG_OP``)."""
    key = rule.key
    return (
        f"IF TG_OP = 'DELETE' THEN {_pg_log(rule, 'OLD')} "
        f"ELSE {_pg_log(rule, 'NEW')} "
        f"IF TG_OP = 'UPDATE' AND OLD.{key} IS DISTINCT FROM NEW.{key} THEN "
        f"{_pg_log(rule, 'OLD')} END IF; END IF;"
    )


_TRIGGERS = RowTriggers(RULES, _sqlite_body, _pg_body)
# The statement API the migrations' tests and the bulk loaders call is the builder's.
sqlite_statements = _TRIGGERS.sqlite_statements
postgresql_statements = _TRIGGERS.postgresql_statements
create_statements = _TRIGGERS.create_statements
drop_statements = _TRIGGERS.drop_statements
