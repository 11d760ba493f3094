"""live updates (issue 14): change-notification triggers

Every insert, update and delete on a table behind a screen announces its topic in the
writing transaction (``labdesk.kernel.changes``): on PostgreSQL an ``AFTER ... FOR EACH ROW``
trigger calls ``pg_notify('labdesk_changes', '<topic>:<id>')``; on SQLite the triggers bump
the topic's row in ``change_counters`` (seeded here, one row per topic), which the SQLite
change feed reads after it notices a commit on the file. ``change_counters`` exists on
PostgreSQL too, empty and never written (no hot row for every writer to queue on).

The statements are frozen here; their source is ``labdesk/adapters/change_feed/triggers.py``
(a change there needs a new migration; ``tests/unit/test_change_feed_triggers.py`` checks
they agree). Bulk loaders skip them as that module's docstring says.

Revision ID: 0013_change_feed
Revises: 0012_command_log
Create Date: 2026-12-03 08:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0013_change_feed'
down_revision = '0012_command_log'
branch_labels = None
depends_on = None

_SQLITE_TRIGGERS = (
    "CREATE TRIGGER change_feed_patients_ins AFTER INSERT ON patients FOR EACH ROW BEGIN UPDATE change_counters SET seq = seq + 1 WHERE topic = 'patients'; END",
    "CREATE TRIGGER change_feed_patients_upd AFTER UPDATE ON patients FOR EACH ROW BEGIN UPDATE change_counters SET seq = seq + 1 WHERE topic = 'patients'; END",
    "CREATE TRIGGER change_feed_patients_del AFTER DELETE ON patients FOR EACH ROW BEGIN UPDATE change_counters SET seq = seq + 1 WHERE topic = 'patients'; END",
    "CREATE TRIGGER change_feed_orders_ins AFTER INSERT ON orders FOR EACH ROW BEGIN UPDATE change_counters SET seq = seq + 1 WHERE topic = 'orders'; END",
    "CREATE TRIGGER change_feed_orders_upd AFTER UPDATE ON orders FOR EACH ROW BEGIN UPDATE change_counters SET seq = seq + 1 WHERE topic = 'orders'; END",
    "CREATE TRIGGER change_feed_orders_del AFTER DELETE ON orders FOR EACH ROW BEGIN UPDATE change_counters SET seq = seq + 1 WHERE topic = 'orders'; END",
    "CREATE TRIGGER change_feed_ordered_tests_ins AFTER INSERT ON ordered_tests FOR EACH ROW BEGIN UPDATE change_counters SET seq = seq + 1 WHERE topic = 'orders'; END",
    "CREATE TRIGGER change_feed_ordered_tests_upd AFTER UPDATE ON ordered_tests FOR EACH ROW BEGIN UPDATE change_counters SET seq = seq + 1 WHERE topic = 'orders'; END",
    "CREATE TRIGGER change_feed_ordered_tests_del AFTER DELETE ON ordered_tests FOR EACH ROW BEGIN UPDATE change_counters SET seq = seq + 1 WHERE topic = 'orders'; END",
    "CREATE TRIGGER change_feed_specimens_ins AFTER INSERT ON specimens FOR EACH ROW BEGIN UPDATE change_counters SET seq = seq + 1 WHERE topic = 'specimens'; END",
    "CREATE TRIGGER change_feed_specimens_upd AFTER UPDATE ON specimens FOR EACH ROW BEGIN UPDATE change_counters SET seq = seq + 1 WHERE topic = 'specimens'; END",
    "CREATE TRIGGER change_feed_specimens_del AFTER DELETE ON specimens FOR EACH ROW BEGIN UPDATE change_counters SET seq = seq + 1 WHERE topic = 'specimens'; END",
    "CREATE TRIGGER change_feed_custody_events_ins AFTER INSERT ON custody_events FOR EACH ROW BEGIN UPDATE change_counters SET seq = seq + 1 WHERE topic = 'custody'; END",
    "CREATE TRIGGER change_feed_manifests_ins AFTER INSERT ON manifests FOR EACH ROW BEGIN UPDATE change_counters SET seq = seq + 1 WHERE topic = 'manifests'; END",
    "CREATE TRIGGER change_feed_manifests_upd AFTER UPDATE ON manifests FOR EACH ROW BEGIN UPDATE change_counters SET seq = seq + 1 WHERE topic = 'manifests'; END",
    "CREATE TRIGGER change_feed_manifests_del AFTER DELETE ON manifests FOR EACH ROW BEGIN UPDATE change_counters SET seq = seq + 1 WHERE topic = 'manifests'; END",
    "CREATE TRIGGER change_feed_manifest_items_ins AFTER INSERT ON manifest_items FOR EACH ROW BEGIN UPDATE change_counters SET seq = seq + 1 WHERE topic = 'manifests'; END",
    "CREATE TRIGGER change_feed_manifest_items_upd AFTER UPDATE ON manifest_items FOR EACH ROW BEGIN UPDATE change_counters SET seq = seq + 1 WHERE topic = 'manifests'; END",
    "CREATE TRIGGER change_feed_manifest_items_del AFTER DELETE ON manifest_items FOR EACH ROW BEGIN UPDATE change_counters SET seq = seq + 1 WHERE topic = 'manifests'; END",
    "CREATE TRIGGER change_feed_results_ins AFTER INSERT ON results FOR EACH ROW BEGIN UPDATE change_counters SET seq = seq + 1 WHERE topic = 'results'; END",
    "CREATE TRIGGER change_feed_results_upd AFTER UPDATE ON results FOR EACH ROW BEGIN UPDATE change_counters SET seq = seq + 1 WHERE topic = 'results'; END",
    "CREATE TRIGGER change_feed_results_del AFTER DELETE ON results FOR EACH ROW BEGIN UPDATE change_counters SET seq = seq + 1 WHERE topic = 'results'; END",
    "CREATE TRIGGER change_feed_unmatched_results_ins AFTER INSERT ON unmatched_results FOR EACH ROW BEGIN UPDATE change_counters SET seq = seq + 1 WHERE topic = 'results'; END",
    "CREATE TRIGGER change_feed_unmatched_results_upd AFTER UPDATE ON unmatched_results FOR EACH ROW BEGIN UPDATE change_counters SET seq = seq + 1 WHERE topic = 'results'; END",
    "CREATE TRIGGER change_feed_unmatched_results_del AFTER DELETE ON unmatched_results FOR EACH ROW BEGIN UPDATE change_counters SET seq = seq + 1 WHERE topic = 'results'; END",
    "CREATE TRIGGER change_feed_acknowledgements_ins AFTER INSERT ON acknowledgements FOR EACH ROW BEGIN UPDATE change_counters SET seq = seq + 1 WHERE topic = 'acks'; END",
    "CREATE TRIGGER change_feed_acknowledgements_upd AFTER UPDATE ON acknowledgements FOR EACH ROW BEGIN UPDATE change_counters SET seq = seq + 1 WHERE topic = 'acks'; END",
    "CREATE TRIGGER change_feed_acknowledgements_del AFTER DELETE ON acknowledgements FOR EACH ROW BEGIN UPDATE change_counters SET seq = seq + 1 WHERE topic = 'acks'; END",
    "CREATE TRIGGER change_feed_escalations_ins AFTER INSERT ON escalations FOR EACH ROW BEGIN UPDATE change_counters SET seq = seq + 1 WHERE topic = 'acks'; END",
    "CREATE TRIGGER change_feed_escalations_upd AFTER UPDATE ON escalations FOR EACH ROW BEGIN UPDATE change_counters SET seq = seq + 1 WHERE topic = 'acks'; END",
    "CREATE TRIGGER change_feed_escalations_del AFTER DELETE ON escalations FOR EACH ROW BEGIN UPDATE change_counters SET seq = seq + 1 WHERE topic = 'acks'; END",
    "CREATE TRIGGER change_feed_print_jobs_ins AFTER INSERT ON print_jobs FOR EACH ROW BEGIN UPDATE change_counters SET seq = seq + 1 WHERE topic = 'print_jobs'; END",
    "CREATE TRIGGER change_feed_print_jobs_upd AFTER UPDATE ON print_jobs FOR EACH ROW BEGIN UPDATE change_counters SET seq = seq + 1 WHERE topic = 'print_jobs'; END",
    "CREATE TRIGGER change_feed_print_jobs_del AFTER DELETE ON print_jobs FOR EACH ROW BEGIN UPDATE change_counters SET seq = seq + 1 WHERE topic = 'print_jobs'; END",
    "CREATE TRIGGER change_feed_recollection_tasks_ins AFTER INSERT ON recollection_tasks FOR EACH ROW BEGIN UPDATE change_counters SET seq = seq + 1 WHERE topic = 'recollections'; END",
    "CREATE TRIGGER change_feed_recollection_tasks_upd AFTER UPDATE ON recollection_tasks FOR EACH ROW BEGIN UPDATE change_counters SET seq = seq + 1 WHERE topic = 'recollections'; END",
    "CREATE TRIGGER change_feed_recollection_tasks_del AFTER DELETE ON recollection_tasks FOR EACH ROW BEGIN UPDATE change_counters SET seq = seq + 1 WHERE topic = 'recollections'; END",
)
_PG_TRIGGERS = (
    "CREATE FUNCTION change_feed_patients() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP = 'DELETE' THEN IF OLD.id IS NOT NULL THEN PERFORM pg_notify('labdesk_changes', 'patients:' || OLD.id); END IF; ELSIF NEW.id IS NOT NULL THEN PERFORM pg_notify('labdesk_changes', 'patients:' || NEW.id); END IF; RETURN NULL; END $$",
    'CREATE TRIGGER change_feed_patients AFTER INSERT OR UPDATE OR DELETE ON patients FOR EACH ROW EXECUTE FUNCTION change_feed_patients()',
    "CREATE FUNCTION change_feed_orders() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP = 'DELETE' THEN IF OLD.id IS NOT NULL THEN PERFORM pg_notify('labdesk_changes', 'orders:' || OLD.id); END IF; ELSIF NEW.id IS NOT NULL THEN PERFORM pg_notify('labdesk_changes', 'orders:' || NEW.id); END IF; RETURN NULL; END $$",
    'CREATE TRIGGER change_feed_orders AFTER INSERT OR UPDATE OR DELETE ON orders FOR EACH ROW EXECUTE FUNCTION change_feed_orders()',
    "CREATE FUNCTION change_feed_ordered_tests() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP = 'DELETE' THEN IF OLD.order_id IS NOT NULL THEN PERFORM pg_notify('labdesk_changes', 'orders:' || OLD.order_id); END IF; ELSIF NEW.order_id IS NOT NULL THEN PERFORM pg_notify('labdesk_changes', 'orders:' || NEW.order_id); END IF; RETURN NULL; END $$",
    'CREATE TRIGGER change_feed_ordered_tests AFTER INSERT OR UPDATE OR DELETE ON ordered_tests FOR EACH ROW EXECUTE FUNCTION change_feed_ordered_tests()',
    "CREATE FUNCTION change_feed_specimens() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP = 'DELETE' THEN IF OLD.id IS NOT NULL THEN PERFORM pg_notify('labdesk_changes', 'specimens:' || OLD.id); END IF; ELSIF NEW.id IS NOT NULL THEN PERFORM pg_notify('labdesk_changes', 'specimens:' || NEW.id); END IF; RETURN NULL; END $$",
    'CREATE TRIGGER change_feed_specimens AFTER INSERT OR UPDATE OR DELETE ON specimens FOR EACH ROW EXECUTE FUNCTION change_feed_specimens()',
    "CREATE FUNCTION change_feed_custody_events() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.specimen_id IS NOT NULL THEN PERFORM pg_notify('labdesk_changes', 'custody:' || NEW.specimen_id); END IF; RETURN NULL; END $$",
    'CREATE TRIGGER change_feed_custody_events AFTER INSERT ON custody_events FOR EACH ROW EXECUTE FUNCTION change_feed_custody_events()',
    "CREATE FUNCTION change_feed_manifests() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP = 'DELETE' THEN IF OLD.id IS NOT NULL THEN PERFORM pg_notify('labdesk_changes', 'manifests:' || OLD.id); END IF; ELSIF NEW.id IS NOT NULL THEN PERFORM pg_notify('labdesk_changes', 'manifests:' || NEW.id); END IF; RETURN NULL; END $$",
    'CREATE TRIGGER change_feed_manifests AFTER INSERT OR UPDATE OR DELETE ON manifests FOR EACH ROW EXECUTE FUNCTION change_feed_manifests()',
    "CREATE FUNCTION change_feed_manifest_items() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP = 'DELETE' THEN IF OLD.manifest_id IS NOT NULL THEN PERFORM pg_notify('labdesk_changes', 'manifests:' || OLD.manifest_id); END IF; ELSIF NEW.manifest_id IS NOT NULL THEN PERFORM pg_notify('labdesk_changes', 'manifests:' || NEW.manifest_id); END IF; RETURN NULL; END $$",
    'CREATE TRIGGER change_feed_manifest_items AFTER INSERT OR UPDATE OR DELETE ON manifest_items FOR EACH ROW EXECUTE FUNCTION change_feed_manifest_items()',
    "CREATE FUNCTION change_feed_results() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP = 'DELETE' THEN IF OLD.id IS NOT NULL THEN PERFORM pg_notify('labdesk_changes', 'results:' || OLD.id); END IF; ELSIF NEW.id IS NOT NULL THEN PERFORM pg_notify('labdesk_changes', 'results:' || NEW.id); END IF; RETURN NULL; END $$",
    'CREATE TRIGGER change_feed_results AFTER INSERT OR UPDATE OR DELETE ON results FOR EACH ROW EXECUTE FUNCTION change_feed_results()',
    "CREATE FUNCTION change_feed_unmatched_results() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP = 'DELETE' THEN IF OLD.id IS NOT NULL THEN PERFORM pg_notify('labdesk_changes', 'results:' || OLD.id); END IF; ELSIF NEW.id IS NOT NULL THEN PERFORM pg_notify('labdesk_changes', 'results:' || NEW.id); END IF; RETURN NULL; END $$",
    'CREATE TRIGGER change_feed_unmatched_results AFTER INSERT OR UPDATE OR DELETE ON unmatched_results FOR EACH ROW EXECUTE FUNCTION change_feed_unmatched_results()',
    "CREATE FUNCTION change_feed_acknowledgements() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP = 'DELETE' THEN IF OLD.ordered_test_id IS NOT NULL THEN PERFORM pg_notify('labdesk_changes', 'acks:' || OLD.ordered_test_id); END IF; ELSIF NEW.ordered_test_id IS NOT NULL THEN PERFORM pg_notify('labdesk_changes', 'acks:' || NEW.ordered_test_id); END IF; RETURN NULL; END $$",
    'CREATE TRIGGER change_feed_acknowledgements AFTER INSERT OR UPDATE OR DELETE ON acknowledgements FOR EACH ROW EXECUTE FUNCTION change_feed_acknowledgements()',
    "CREATE FUNCTION change_feed_escalations() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP = 'DELETE' THEN IF OLD.ordered_test_id IS NOT NULL THEN PERFORM pg_notify('labdesk_changes', 'acks:' || OLD.ordered_test_id); END IF; ELSIF NEW.ordered_test_id IS NOT NULL THEN PERFORM pg_notify('labdesk_changes', 'acks:' || NEW.ordered_test_id); END IF; RETURN NULL; END $$",
    'CREATE TRIGGER change_feed_escalations AFTER INSERT OR UPDATE OR DELETE ON escalations FOR EACH ROW EXECUTE FUNCTION change_feed_escalations()',
    "CREATE FUNCTION change_feed_print_jobs() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP = 'DELETE' THEN IF OLD.id IS NOT NULL THEN PERFORM pg_notify('labdesk_changes', 'print_jobs:' || OLD.id); END IF; ELSIF NEW.id IS NOT NULL THEN PERFORM pg_notify('labdesk_changes', 'print_jobs:' || NEW.id); END IF; RETURN NULL; END $$",
    'CREATE TRIGGER change_feed_print_jobs AFTER INSERT OR UPDATE OR DELETE ON print_jobs FOR EACH ROW EXECUTE FUNCTION change_feed_print_jobs()',
    "CREATE FUNCTION change_feed_recollection_tasks() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP = 'DELETE' THEN IF OLD.id IS NOT NULL THEN PERFORM pg_notify('labdesk_changes', 'recollections:' || OLD.id); END IF; ELSIF NEW.id IS NOT NULL THEN PERFORM pg_notify('labdesk_changes', 'recollections:' || NEW.id); END IF; RETURN NULL; END $$",
    'CREATE TRIGGER change_feed_recollection_tasks AFTER INSERT OR UPDATE OR DELETE ON recollection_tasks FOR EACH ROW EXECUTE FUNCTION change_feed_recollection_tasks()',
)
_SQLITE_SEED = (
    "INSERT INTO change_counters (topic, seq) VALUES ('patients', 0)",
    "INSERT INTO change_counters (topic, seq) VALUES ('orders', 0)",
    "INSERT INTO change_counters (topic, seq) VALUES ('specimens', 0)",
    "INSERT INTO change_counters (topic, seq) VALUES ('custody', 0)",
    "INSERT INTO change_counters (topic, seq) VALUES ('manifests', 0)",
    "INSERT INTO change_counters (topic, seq) VALUES ('results', 0)",
    "INSERT INTO change_counters (topic, seq) VALUES ('acks', 0)",
    "INSERT INTO change_counters (topic, seq) VALUES ('print_jobs', 0)",
    "INSERT INTO change_counters (topic, seq) VALUES ('recollections', 0)",
)
_SQLITE_DROPS = (
    'DROP TRIGGER IF EXISTS change_feed_patients_ins',
    'DROP TRIGGER IF EXISTS change_feed_patients_upd',
    'DROP TRIGGER IF EXISTS change_feed_patients_del',
    'DROP TRIGGER IF EXISTS change_feed_orders_ins',
    'DROP TRIGGER IF EXISTS change_feed_orders_upd',
    'DROP TRIGGER IF EXISTS change_feed_orders_del',
    'DROP TRIGGER IF EXISTS change_feed_ordered_tests_ins',
    'DROP TRIGGER IF EXISTS change_feed_ordered_tests_upd',
    'DROP TRIGGER IF EXISTS change_feed_ordered_tests_del',
    'DROP TRIGGER IF EXISTS change_feed_specimens_ins',
    'DROP TRIGGER IF EXISTS change_feed_specimens_upd',
    'DROP TRIGGER IF EXISTS change_feed_specimens_del',
    'DROP TRIGGER IF EXISTS change_feed_custody_events_ins',
    'DROP TRIGGER IF EXISTS change_feed_manifests_ins',
    'DROP TRIGGER IF EXISTS change_feed_manifests_upd',
    'DROP TRIGGER IF EXISTS change_feed_manifests_del',
    'DROP TRIGGER IF EXISTS change_feed_manifest_items_ins',
    'DROP TRIGGER IF EXISTS change_feed_manifest_items_upd',
    'DROP TRIGGER IF EXISTS change_feed_manifest_items_del',
    'DROP TRIGGER IF EXISTS change_feed_results_ins',
    'DROP TRIGGER IF EXISTS change_feed_results_upd',
    'DROP TRIGGER IF EXISTS change_feed_results_del',
    'DROP TRIGGER IF EXISTS change_feed_unmatched_results_ins',
    'DROP TRIGGER IF EXISTS change_feed_unmatched_results_upd',
    'DROP TRIGGER IF EXISTS change_feed_unmatched_results_del',
    'DROP TRIGGER IF EXISTS change_feed_acknowledgements_ins',
    'DROP TRIGGER IF EXISTS change_feed_acknowledgements_upd',
    'DROP TRIGGER IF EXISTS change_feed_acknowledgements_del',
    'DROP TRIGGER IF EXISTS change_feed_escalations_ins',
    'DROP TRIGGER IF EXISTS change_feed_escalations_upd',
    'DROP TRIGGER IF EXISTS change_feed_escalations_del',
    'DROP TRIGGER IF EXISTS change_feed_print_jobs_ins',
    'DROP TRIGGER IF EXISTS change_feed_print_jobs_upd',
    'DROP TRIGGER IF EXISTS change_feed_print_jobs_del',
    'DROP TRIGGER IF EXISTS change_feed_recollection_tasks_ins',
    'DROP TRIGGER IF EXISTS change_feed_recollection_tasks_upd',
    'DROP TRIGGER IF EXISTS change_feed_recollection_tasks_del',
)
_PG_DROPS = (
    'DROP TRIGGER IF EXISTS change_feed_patients ON patients',
    'DROP FUNCTION IF EXISTS change_feed_patients()',
    'DROP TRIGGER IF EXISTS change_feed_orders ON orders',
    'DROP FUNCTION IF EXISTS change_feed_orders()',
    'DROP TRIGGER IF EXISTS change_feed_ordered_tests ON ordered_tests',
    'DROP FUNCTION IF EXISTS change_feed_ordered_tests()',
    'DROP TRIGGER IF EXISTS change_feed_specimens ON specimens',
    'DROP FUNCTION IF EXISTS change_feed_specimens()',
    'DROP TRIGGER IF EXISTS change_feed_custody_events ON custody_events',
    'DROP FUNCTION IF EXISTS change_feed_custody_events()',
    'DROP TRIGGER IF EXISTS change_feed_manifests ON manifests',
    'DROP FUNCTION IF EXISTS change_feed_manifests()',
    'DROP TRIGGER IF EXISTS change_feed_manifest_items ON manifest_items',
    'DROP FUNCTION IF EXISTS change_feed_manifest_items()',
    'DROP TRIGGER IF EXISTS change_feed_results ON results',
    'DROP FUNCTION IF EXISTS change_feed_results()',
    'DROP TRIGGER IF EXISTS change_feed_unmatched_results ON unmatched_results',
    'DROP FUNCTION IF EXISTS change_feed_unmatched_results()',
    'DROP TRIGGER IF EXISTS change_feed_acknowledgements ON acknowledgements',
    'DROP FUNCTION IF EXISTS change_feed_acknowledgements()',
    'DROP TRIGGER IF EXISTS change_feed_escalations ON escalations',
    'DROP FUNCTION IF EXISTS change_feed_escalations()',
    'DROP TRIGGER IF EXISTS change_feed_print_jobs ON print_jobs',
    'DROP FUNCTION IF EXISTS change_feed_print_jobs()',
    'DROP TRIGGER IF EXISTS change_feed_recollection_tasks ON recollection_tasks',
    'DROP FUNCTION IF EXISTS change_feed_recollection_tasks()',
)


def upgrade() -> None:
    op.create_table(
        'change_counters',
        sa.Column('topic', sa.String(length=32), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('topic', name=op.f('pk_change_counters')),
    )
    statements: tuple[str, ...]
    if op.get_bind().dialect.name == 'postgresql':
        statements = _PG_TRIGGERS
    else:
        statements = _SQLITE_SEED + _SQLITE_TRIGGERS
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    drops = _PG_DROPS if op.get_bind().dialect.name == 'postgresql' else _SQLITE_DROPS
    for statement in drops:
        op.execute(statement)
    op.drop_table('change_counters')
