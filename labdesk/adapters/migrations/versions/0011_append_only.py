"""append-only: custody events refuse UPDATE/DELETE; TRUNCATE refused on both chained tables

``custody_events`` gets the guards ``audit_entries`` has had since 0007 (issue 15 item 4), and
on PostgreSQL a statement trigger refuses TRUNCATE of either table (row triggers do not fire
on TRUNCATE). Frozen from ``labdesk/adapters/append_only.py``, which also checks they are
still in place at every verify.

Revision ID: 0011_append_only
Revises: 0010_hl7_unique
Create Date: 2026-12-02 20:00:00
"""
from alembic import op


revision = '0011_append_only'
down_revision = '0010_hl7_unique'
branch_labels = None
depends_on = None

_SQLITE = (
    "CREATE TRIGGER custody_events_no_update BEFORE UPDATE ON custody_events "
    "BEGIN SELECT RAISE(ABORT, 'custody events are append-only'); END",
    "CREATE TRIGGER custody_events_no_delete BEFORE DELETE ON custody_events "
    "BEGIN SELECT RAISE(ABORT, 'custody events are append-only'); END",
)
_PG = (
    "CREATE FUNCTION custody_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION 'custody events are append-only'; END $$",
    "CREATE TRIGGER custody_events_append_only BEFORE UPDATE OR DELETE ON custody_events "
    "FOR EACH ROW EXECUTE FUNCTION custody_events_append_only()",
    "CREATE TRIGGER custody_events_no_truncate BEFORE TRUNCATE ON custody_events "
    "FOR EACH STATEMENT EXECUTE FUNCTION custody_events_append_only()",
    "CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_append_only()",
)


def upgrade() -> None:
    for statement in _PG if op.get_bind().dialect.name == 'postgresql' else _SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS audit_entries_no_truncate ON audit_entries")
        op.execute("DROP TRIGGER IF EXISTS custody_events_no_truncate ON custody_events")
        op.execute("DROP TRIGGER IF EXISTS custody_events_append_only ON custody_events")
        op.execute("DROP FUNCTION IF EXISTS custody_events_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS custody_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS custody_events_no_delete")
