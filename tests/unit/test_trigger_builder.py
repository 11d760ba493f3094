"""The shared row-trigger builder: the statement text, the names, and triggers that run.

The change feed and the replica log build their triggers here; their own tests compare what
they build with migrations 0013 and 0020, byte for byte.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from labdesk.adapters.change_feed import triggers as change_feed
from labdesk.adapters.replica import triggers as replica
from labdesk.adapters.sql_triggers import EVENTS, RowTriggers, sqlite_trigger_name


@dataclass(frozen=True)
class _Rule:
    table: str
    events: tuple[str, ...] = EVENTS

    @property
    def name(self) -> str:
        return f"log_{self.table}"


def _sqlite_body(rule: _Rule, event: str) -> str:
    row = "OLD" if event == "DELETE" else "NEW"
    return f"INSERT INTO log (what) VALUES ('{event}:' || {row}.id);"


def _pg_body(rule: _Rule) -> str:
    return "PERFORM 1;"


TRIGGERS = RowTriggers((_Rule("a"), _Rule("b", ("INSERT",))), _sqlite_body, _pg_body)


def test_sqlite_one_trigger_per_rule_and_event() -> None:
    assert TRIGGERS.sqlite_names() == ("log_a_ins", "log_a_upd", "log_a_del", "log_b_ins")
    assert TRIGGERS.sqlite_statements()[2] == (
        "CREATE TRIGGER log_a_del AFTER DELETE ON a FOR EACH ROW BEGIN "
        "INSERT INTO log (what) VALUES ('DELETE:' || OLD.id); END"
    )
    assert TRIGGERS.create_statements("sqlite") == TRIGGERS.sqlite_statements()


def test_postgresql_one_function_and_one_trigger_per_rule() -> None:
    assert TRIGGERS.postgresql_statements() == [
        "CREATE FUNCTION log_a() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN PERFORM 1; RETURN NULL; END $$",
        "CREATE TRIGGER log_a AFTER INSERT OR UPDATE OR DELETE ON a "
        "FOR EACH ROW EXECUTE FUNCTION log_a()",
        "CREATE FUNCTION log_b() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN PERFORM 1; RETURN NULL; END $$",
        "CREATE TRIGGER log_b AFTER INSERT ON b FOR EACH ROW EXECUTE FUNCTION log_b()",
    ]
    assert TRIGGERS.create_statements("postgresql") == TRIGGERS.postgresql_statements()
    assert TRIGGERS.drop_statements("postgresql") == [
        "DROP TRIGGER IF EXISTS log_a ON a",
        "DROP FUNCTION IF EXISTS log_a()",
        "DROP TRIGGER IF EXISTS log_b ON b",
        "DROP FUNCTION IF EXISTS log_b()",
    ]


def test_sqlite_triggers_fire_on_their_events_and_drop_cleanly() -> None:
    db = sqlite3.connect(":memory:")
    db.executescript(
        "CREATE TABLE a (id INTEGER PRIMARY KEY); CREATE TABLE b (id INTEGER PRIMARY KEY);"
        "CREATE TABLE log (n INTEGER PRIMARY KEY, what TEXT);"
    )
    for statement in TRIGGERS.sqlite_statements():
        db.execute(statement)
    db.execute("INSERT INTO a (id) VALUES (1)")
    db.execute("UPDATE a SET id = 2 WHERE id = 1")
    db.execute("DELETE FROM a")
    db.execute("INSERT INTO b (id) VALUES (7)")
    db.execute("DELETE FROM b")  # b's rule fires on INSERT only
    logged = [row[0] for row in db.execute("SELECT what FROM log ORDER BY n")]
    assert logged == ["INSERT:1", "UPDATE:2", "DELETE:2", "INSERT:7"]
    for statement in TRIGGERS.drop_statements("sqlite"):
        db.execute(statement)
    left = db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'").fetchone()
    assert left == (0,)


def test_both_trigger_modules_build_through_the_shared_names() -> None:
    """The change feed's and replica log's trigger names are the builder's names."""
    for rules, statements in (
        (change_feed.RULES, change_feed.sqlite_statements()),
        (replica.RULES, replica.sqlite_statements()),
    ):
        names = [sqlite_trigger_name(rule, event) for rule in rules for event in rule.events]
        assert [s.split()[2] for s in statements] == names
