"""One builder for ``AFTER ... FOR EACH ROW`` triggers on SQLite and PostgreSQL.

The change feed (:mod:`labdesk.adapters.change_feed.triggers`) and the replica log
(:mod:`labdesk.adapters.replica.triggers`) both put one trigger set on a list of tables and
differ only in what the trigger body writes. This module owns the rest: the names, the
``CREATE``/``DROP`` statement text and which events fire, so the two cannot drift apart.

The shape it produces:

- SQLite has no trigger functions and no ``TG_OP``: one trigger per table and event,
  named ``<name>_ins|_upd|_del``, ``CREATE TRIGGER <n> AFTER <event> ON <table> FOR EACH ROW
  BEGIN <body> END``.
- PostgreSQL: one plpgsql function per table (``<name>()``, body ends ``RETURN NULL``: an
  AFTER trigger's result is ignored) and one trigger named like it, firing on every event.

Migrations freeze the statements as text (0013, 0020), so a change to the text here needs a
new migration; the tests that compare each trigger module with its migration catch one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

EVENTS: tuple[str, ...] = ("INSERT", "UPDATE", "DELETE")
"""Every row event, in the order triggers are created."""


class TriggerRule(Protocol):
    """What the builder needs of a rule: the table, the trigger name and its events."""

    @property
    def table(self) -> str:
        """The table the trigger is on."""
        ...

    @property
    def name(self) -> str:
        """The trigger (and PostgreSQL function) name."""
        ...

    @property
    def events(self) -> tuple[str, ...]:
        """The events that fire it, a subset of :data:`EVENTS` in that order."""
        ...


R = TypeVar("R", bound=TriggerRule)


def sqlite_trigger_name(rule: TriggerRule, event: str) -> str:
    """The SQLite trigger of ``rule`` for ``event`` (``<name>_ins``, ``_upd``, ``_del``)."""
    return f"{rule.name}_{event[:3].lower()}"


@dataclass(frozen=True)
class RowTriggers(Generic[R]):
    """A trigger set: the rules, and what each trigger body writes.

    Args:
        rules: one per table.
        sqlite_body: the statements between ``BEGIN`` and ``END`` of a rule's SQLite
            trigger for one event (each ending with ``;``).
        pg_body: the plpgsql between ``BEGIN`` and ``RETURN NULL;`` of a rule's PostgreSQL
            function, which serves every event (branch on ``TG_OP``).
    """

    rules: tuple[R, ...]
    sqlite_body: Callable[[R, str], str]
    pg_body: Callable[[R], str]

    def sqlite_names(self) -> tuple[str, ...]:
        """The SQLite trigger names (one per rule and event)."""
        return tuple(
            sqlite_trigger_name(rule, event) for rule in self.rules for event in rule.events
        )

    def sqlite_statements(self) -> list[str]:
        """CREATE TRIGGER statements for SQLite (one per rule and event)."""
        return [
            f"CREATE TRIGGER {sqlite_trigger_name(rule, event)} AFTER {event} ON {rule.table} "
            f"FOR EACH ROW BEGIN {self.sqlite_body(rule, event)} END"
            for rule in self.rules
            for event in rule.events
        ]

    def postgresql_statements(self) -> list[str]:
        """CREATE FUNCTION and CREATE TRIGGER statements for PostgreSQL (two per rule)."""
        statements = []
        for rule in self.rules:
            statements.append(
                f"CREATE FUNCTION {rule.name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN {self.pg_body(rule)} RETURN NULL; END $$"
            )
            statements.append(
                f"CREATE TRIGGER {rule.name} AFTER {' OR '.join(rule.events)} ON {rule.table} "
                f"FOR EACH ROW EXECUTE FUNCTION {rule.name}()"
            )
        return statements

    def create_statements(self, dialect: str) -> list[str]:
        """The CREATE statements for ``dialect`` (``sqlite`` or ``postgresql``)."""
        if dialect == "postgresql":
            return self.postgresql_statements()
        return self.sqlite_statements()

    def drop_statements(self, dialect: str) -> list[str]:
        """Statements removing every trigger of the set (and its PostgreSQL function)."""
        if dialect == "postgresql":
            statements = []
            for rule in self.rules:
                statements.append(f"DROP TRIGGER IF EXISTS {rule.name} ON {rule.table}")
                statements.append(f"DROP FUNCTION IF EXISTS {rule.name}()")
            return statements
        return [f"DROP TRIGGER IF EXISTS {name}" for name in self.sqlite_names()]
