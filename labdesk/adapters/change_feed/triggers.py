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

The statement text comes from :mod:`labdesk.adapters.sql_triggers` (shared with the replica
log); this module says only what each body does. The statements are frozen in migration
0013 (a change here or there needs a new migration); ``tests/unit/test_change_feed_triggers.py``
checks the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from labdesk.adapters.sql_triggers import EVENTS, RowTriggers, sqlite_trigger_name
from labdesk.kernel.changes import CHANNEL, Topic

PREFIX = "change_feed_"
"""Every change-feed trigger (and PostgreSQL trigger function) name starts with this."""
COUNTER_TABLE = "change_counters"
"""The SQLite per-topic counter table (created empty on PostgreSQL, never written there)."""


@dataclass(frozen=True)
class Rule:
    """One table announcing one topic, with the column holding the announced id."""

    table: str
    topic: Topic
    id_column: str = "id"
    events: tuple[str, ...] = EVENTS

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


def _sqlite_body(rule: Rule, event: str) -> str:
    """SQLite: bump the topic's counter (every event alike)."""
    return f"UPDATE {COUNTER_TABLE} SET seq = seq + 1 WHERE topic = '{rule.topic.value}';"


def _pg_body(rule: Rule) -> str:
    """PostgreSQL: ``pg_notify`` the topic and the row's id (a NULL id announces nothing)."""
    topic = rule.topic.value
    col = rule.id_column
    notify_new = f"PERFORM pg_notify('{CHANNEL}', '{topic}:' || NEW.{col});"
    notify_old = f"PERFORM pg_notify('{CHANNEL}', '{topic}:' || OLD.{col});"
    if "DELETE" in rule.events:
        return (
            f"IF TG_OP = 'DELETE' THEN IF OLD.{col} IS NOT NULL THEN {notify_old} END IF; "
            f"ELSIF NEW.{col} IS NOT NULL THEN {notify_new} END IF;"
        )
    return f"IF NEW.{col} IS NOT NULL THEN {notify_new} END IF;"


_TRIGGERS = RowTriggers(RULES, _sqlite_body, _pg_body)
# The statement API the migrations' tests and the bulk loaders call is the builder's.
sqlite_trigger_names = _TRIGGERS.sqlite_names
sqlite_statements = _TRIGGERS.sqlite_statements
postgresql_statements = _TRIGGERS.postgresql_statements
create_statements = _TRIGGERS.create_statements
drop_statements = _TRIGGERS.drop_statements


def pg_trigger_names() -> tuple[str, ...]:
    """The PostgreSQL trigger names (one per table; the function has the same name)."""
    return tuple(rule.name for rule in RULES)


TRIGGERS: dict[str, tuple[tuple[str, str], ...]] = {
    "postgresql": tuple((rule.table, rule.name) for rule in RULES),
    "sqlite": tuple(
        (rule.table, sqlite_trigger_name(rule, event)) for rule in RULES for event in rule.events
    ),
}
"""(table, trigger name) per dialect, e.g. for ``ALTER TABLE ... DISABLE TRIGGER``."""


def counter_seed_statements() -> list[str]:
    """INSERTs giving ``change_counters`` one row per topic (SQLite only)."""
    return [
        f"INSERT INTO {COUNTER_TABLE} (topic, seq) VALUES ('{topic.value}', 0)" for topic in Topic
    ]
