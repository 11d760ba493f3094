"""Triggers feeding ``replica_log``: every write to a table the station replica holds.

Each insert, update and delete on a replicated table appends ``(table_name, row_id)`` to
``replica_log`` in the writing transaction, so a station's refresh can ask for "what changed
since seq N" instead of reloading (issue 12 item 1). ``row_id`` is the row's key as text
(``code`` for catalog tables keyed by a code; ``series_code`` for ``series_steps``, whose
refresh re-reads the whole series). An update that changes the key logs the old key too.

Append-only chains (audit entries, custody events) are not replicated: the server's chains
are the record. The statements are frozen in migration 0020 (a change here needs a new
migration); ``tests/unit/test_replica_triggers.py`` checks the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass

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

_EVENTS = ("INSERT", "UPDATE", "DELETE")


def _sqlite_name(rule: Rule, event: str) -> str:
    return f"{rule.name}_{event[:3].lower()}"


def _sqlite_insert(rule: Rule, row: str) -> str:
    return (
        f"INSERT INTO {LOG_TABLE} (table_name, row_id, changed_at) "
        f"VALUES ('{rule.table}', {row}.{rule.key}, datetime('now'));"
    )


def sqlite_statements() -> list[str]:
    """CREATE TRIGGER statements for SQLite (one per table and event)."""
    statements = []
    for rule in RULES:
        for event in _EVENTS:
            if event == "INSERT":
                body = _sqlite_insert(rule, "NEW")
            elif event == "DELETE":
                body = _sqlite_insert(rule, "OLD")
            else:
                body = (
                    f"{_sqlite_insert(rule, 'NEW')} "
                    f"INSERT INTO {LOG_TABLE} (table_name, row_id, changed_at) "
                    f"SELECT '{rule.table}', OLD.{rule.key}, datetime('now') "
                    f"WHERE OLD.{rule.key} IS NOT NEW.{rule.key};"
                )
            statements.append(
                f"CREATE TRIGGER {_sqlite_name(rule, event)} AFTER {event} ON {rule.table} "
                f"FOR EACH ROW BEGIN {body} END"
            )
    return statements


def _pg_log(rule: Rule, row: str) -> str:
    return (
        f"INSERT INTO {LOG_TABLE} (table_name, row_id, changed_at) "
        f"VALUES ('{rule.table}', {row}.{rule.key}::text, now());"
    )


def postgresql_statements() -> list[str]:
    """CREATE FUNCTION and CREATE TRIGGER statements for PostgreSQL."""
    statements = []
    for rule in RULES:
        key = rule.key
        body = (
            f"IF TG_OP = 'DELETE' THEN {_pg_log(rule, 'OLD')} "
            f"ELSE {_pg_log(rule, 'NEW')} "
            f"IF TG_OP = 'UPDATE' AND OLD.{key} IS DISTINCT FROM NEW.{key} THEN "
            f"{_pg_log(rule, 'OLD')} END IF; END IF;"
        )
        statements.append(
            f"CREATE FUNCTION {rule.name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN {body} RETURN NULL; END $$"
        )
        statements.append(
            f"CREATE TRIGGER {rule.name} AFTER INSERT OR UPDATE OR DELETE ON {rule.table} "
            f"FOR EACH ROW EXECUTE FUNCTION {rule.name}()"
        )
    return statements


def create_statements(dialect: str) -> list[str]:
    """The CREATE statements for ``dialect`` (``sqlite`` or ``postgresql``)."""
    return postgresql_statements() if dialect == "postgresql" else sqlite_statements()


def drop_statements(dialect: str) -> list[str]:
    """Statements removing every replica-log trigger (and its PostgreSQL function)."""
    if dialect == "postgresql":
        statements = []
        for rule in RULES:
            statements.append(f"DROP TRIGGER IF EXISTS {rule.name} ON {rule.table}")
            statements.append(f"DROP FUNCTION IF EXISTS {rule.name}()")
        return statements
    return [f"DROP TRIGGER IF EXISTS {_sqlite_name(r, e)}" for r in RULES for e in _EVENTS]
