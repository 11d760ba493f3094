"""Triggers announcing every change behind what the screens show (live updates, issue 14).

Every insert, update and delete on a table a screen displays announces its topic in the
writing transaction, so no command, HL7 listener, import or hand-written SQL can change
something behind the screens' backs:

- PostgreSQL: an ``AFTER ... FOR EACH ROW`` trigger calls
  ``pg_notify('labdesk_changes', '<topic>:<id>')`` (:func:`labdesk.kernel.changes.encode`'s
  format). PostgreSQL sends it at commit, drops it at rollback and folds identical payloads
  of one transaction into one. No counter row: a hot row would serialise every writer.
- SQLite: the triggers bump ``change_counters.seq`` of the topic (one row per
  :class:`~labdesk.kernel.changes.Topic`, seeded by migration 0013); the watcher in
  :mod:`labdesk.adapters.change_feed.sqlite` reads the counters after a commit. The ids are
  not kept there (a screen reloads the topic).

What each table announces (the id is the row's own unless named):

==========================  ==============  ======================================
table                       topic           id
==========================  ==============  ======================================
``patients``                PATIENTS        the patient
``orders``                  ORDERS          the order
``ordered_tests``           ORDERS          the test's order (``order_id``)
``specimens``               SPECIMENS       the specimen
``custody_events``          CUSTODY         the specimen (``specimen_id``)
``manifests``               MANIFESTS       the manifest
``manifest_items``          MANIFESTS       the manifest (``manifest_id``)
``results``                 RESULTS         the result
``unmatched_results``       RESULTS         the unmatched result (a discrepancy)
``acknowledgements``        ACKS            the ordered test (``ordered_test_id``)
``escalations``             ACKS            the ordered test (``ordered_test_id``)
``print_jobs``              PRINT_JOBS      the print job
``recollection_tasks``      RECOLLECTIONS   the recollection task
==========================  ==============  ======================================

``custody_events`` is append-only (its guard refuses UPDATE and DELETE), so only its INSERT
is announced; every other table announces INSERT, UPDATE and DELETE.

Bulk loaders (benchmarks building 1M/10M rows with COPY) skip these triggers:

- PostgreSQL: ``SET session_replication_role = replica`` in the loading session (a
  superuser setting; it skips every ordinary trigger, the append-only guards and the board
  triggers too), or ``ALTER TABLE <table> DISABLE TRIGGER <name>`` with :data:`TRIGGERS`.
- SQLite (no way to disable a trigger): run :func:`drop_statements` before loading and
  :func:`create_statements` after, in the loader's transaction.

The statements are frozen in migration 0013 (a change here needs a new migration);
``tests/unit/test_change_feed_triggers.py`` checks the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from labdesk.kernel.changes import CHANNEL, Topic

PREFIX = "change_feed_"
"""Every change-feed trigger (and PostgreSQL trigger function) name starts with this."""
COUNTER_TABLE = "change_counters"
"""The SQLite per-topic counter table (created empty on PostgreSQL, never written there)."""

_ALL_EVENTS = ("INSERT", "UPDATE", "DELETE")


@dataclass(frozen=True)
class Rule:
    """One table announcing one topic, with the column holding the announced id."""

    table: str
    topic: Topic
    id_column: str = "id"
    events: tuple[str, ...] = _ALL_EVENTS

    @property
    def name(self) -> str:
        """The trigger (and PostgreSQL function) name."""
        return f"{PREFIX}{self.table}"


RULES: tuple[Rule, ...] = (
    Rule("patients", Topic.PATIENTS),
    Rule("orders", Topic.ORDERS),
    Rule("ordered_tests", Topic.ORDERS, "order_id"),
    Rule("specimens", Topic.SPECIMENS),
    Rule("custody_events", Topic.CUSTODY, "specimen_id", ("INSERT",)),
    Rule("manifests", Topic.MANIFESTS),
    Rule("manifest_items", Topic.MANIFESTS, "manifest_id"),
    Rule("results", Topic.RESULTS),
    Rule("unmatched_results", Topic.RESULTS),
    Rule("acknowledgements", Topic.ACKS, "ordered_test_id"),
    Rule("escalations", Topic.ACKS, "ordered_test_id"),
    Rule("print_jobs", Topic.PRINT_JOBS),
    Rule("recollection_tasks", Topic.RECOLLECTIONS),
)
"""Every table behind a screen, and what it announces."""


def _sqlite_name(rule: Rule, event: str) -> str:
    return f"{rule.name}_{event[:3].lower()}"


def sqlite_trigger_names() -> tuple[str, ...]:
    """The SQLite trigger names (one per table and event)."""
    return tuple(_sqlite_name(rule, event) for rule in RULES for event in rule.events)


def pg_trigger_names() -> tuple[str, ...]:
    """The PostgreSQL trigger names (one per table; the function has the same name)."""
    return tuple(rule.name for rule in RULES)


TRIGGERS: dict[str, tuple[tuple[str, str], ...]] = {
    "postgresql": tuple((rule.table, rule.name) for rule in RULES),
    "sqlite": tuple(
        (rule.table, _sqlite_name(rule, event)) for rule in RULES for event in rule.events
    ),
}
"""(table, trigger name) per dialect, e.g. for ``ALTER TABLE ... DISABLE TRIGGER``."""


def sqlite_statements() -> list[str]:
    """CREATE TRIGGER statements for SQLite: bump the topic's counter."""
    return [
        f"CREATE TRIGGER {_sqlite_name(rule, event)} AFTER {event} ON {rule.table} "
        f"FOR EACH ROW BEGIN UPDATE {COUNTER_TABLE} SET seq = seq + 1 "
        f"WHERE topic = '{rule.topic.value}'; END"
        for rule in RULES
        for event in rule.events
    ]


def _pg_function(rule: Rule) -> str:
    topic = rule.topic.value
    col = rule.id_column
    notify_new = f"PERFORM pg_notify('{CHANNEL}', '{topic}:' || NEW.{col});"
    notify_old = f"PERFORM pg_notify('{CHANNEL}', '{topic}:' || OLD.{col});"
    if "DELETE" in rule.events:
        body = (
            f"IF TG_OP = 'DELETE' THEN IF OLD.{col} IS NOT NULL THEN {notify_old} END IF; "
            f"ELSIF NEW.{col} IS NOT NULL THEN {notify_new} END IF;"
        )
    else:
        body = f"IF NEW.{col} IS NOT NULL THEN {notify_new} END IF;"
    return (
        f"CREATE FUNCTION {rule.name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN {body} RETURN NULL; END $$"
    )


def postgresql_statements() -> list[str]:
    """CREATE FUNCTION and CREATE TRIGGER statements for PostgreSQL: ``pg_notify``."""
    statements = []
    for rule in RULES:
        statements.append(_pg_function(rule))
        statements.append(
            f"CREATE TRIGGER {rule.name} AFTER {' OR '.join(rule.events)} ON {rule.table} "
            f"FOR EACH ROW EXECUTE FUNCTION {rule.name}()"
        )
    return statements


def create_statements(dialect: str) -> list[str]:
    """The CREATE statements for ``dialect`` (``sqlite`` or ``postgresql``)."""
    return postgresql_statements() if dialect == "postgresql" else sqlite_statements()


def drop_statements(dialect: str) -> list[str]:
    """Statements removing every change-feed trigger (and its PostgreSQL function)."""
    if dialect == "postgresql":
        statements = []
        for rule in RULES:
            statements.append(f"DROP TRIGGER IF EXISTS {rule.name} ON {rule.table}")
            statements.append(f"DROP FUNCTION IF EXISTS {rule.name}()")
        return statements
    return [f"DROP TRIGGER IF EXISTS {name}" for name in sqlite_trigger_names()]


def counter_seed_statements() -> list[str]:
    """INSERTs giving ``change_counters`` one row per topic (SQLite only)."""
    return [
        f"INSERT INTO {COUNTER_TABLE} (topic, seq) VALUES ('{topic.value}', 0)" for topic in Topic
    ]
