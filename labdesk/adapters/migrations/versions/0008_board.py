"""board: precomputed clinician board entries, their dirty queue and triggers

The board reads one precomputed row per listed test (``board_entries``) instead of
evaluating every open test per load. Triggers on the tables behind a board row append the
changed test's id to ``board_dirty`` in the writing transaction; the board service
re-evaluates those tests before it reads. The statements are frozen here; their source is
``labdesk/adapters/board_triggers.py`` (a change there needs a new migration).

Entries are filled by the first board load after the upgrade (or ``labdesk overdue
rebuild-board``): ``board_state`` starts empty, so its fingerprint never matches.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

_SQLITE_TRIGGERS = (
    'CREATE TRIGGER board_dirty_ot_ins AFTER INSERT ON ordered_tests FOR EACH ROW WHEN NEW.id IS NOT NULL BEGIN INSERT INTO board_dirty (ordered_test_id) VALUES (NEW.id); END',
    'CREATE TRIGGER board_dirty_ot_upd AFTER UPDATE ON ordered_tests FOR EACH ROW WHEN NEW.id IS NOT NULL BEGIN INSERT INTO board_dirty (ordered_test_id) VALUES (NEW.id); END',
    'CREATE TRIGGER board_dirty_ord_upd AFTER UPDATE ON orders FOR EACH ROW BEGIN INSERT INTO board_dirty (ordered_test_id) SELECT id FROM ordered_tests WHERE order_id = NEW.id; END',
    'CREATE TRIGGER board_dirty_pat_upd AFTER UPDATE OF family_name, given_name, mrn ON patients FOR EACH ROW BEGIN INSERT INTO board_dirty (ordered_test_id) SELECT t.id FROM ordered_tests t JOIN orders o ON o.id = t.order_id WHERE o.patient_id = NEW.id; END',
    'CREATE TRIGGER board_dirty_spec_upd AFTER UPDATE ON specimens FOR EACH ROW BEGIN INSERT INTO board_dirty (ordered_test_id) SELECT id FROM ordered_tests WHERE specimen_id = NEW.id; END',
    'CREATE TRIGGER board_dirty_res_ins AFTER INSERT ON results FOR EACH ROW WHEN NEW.ordered_test_id IS NOT NULL BEGIN INSERT INTO board_dirty (ordered_test_id) VALUES (NEW.ordered_test_id); END',
    'CREATE TRIGGER board_dirty_res_upd_new AFTER UPDATE ON results FOR EACH ROW WHEN NEW.ordered_test_id IS NOT NULL BEGIN INSERT INTO board_dirty (ordered_test_id) VALUES (NEW.ordered_test_id); END',
    'CREATE TRIGGER board_dirty_res_upd_old AFTER UPDATE ON results FOR EACH ROW WHEN OLD.ordered_test_id IS NOT NULL BEGIN INSERT INTO board_dirty (ordered_test_id) VALUES (OLD.ordered_test_id); END',
    'CREATE TRIGGER board_dirty_ack_ins AFTER INSERT ON acknowledgements FOR EACH ROW WHEN NEW.ordered_test_id IS NOT NULL BEGIN INSERT INTO board_dirty (ordered_test_id) VALUES (NEW.ordered_test_id); END',
    'CREATE TRIGGER board_dirty_esc_ins AFTER INSERT ON escalations FOR EACH ROW WHEN NEW.ordered_test_id IS NOT NULL BEGIN INSERT INTO board_dirty (ordered_test_id) VALUES (NEW.ordered_test_id); END',
    'CREATE TRIGGER board_dirty_cus_ins AFTER INSERT ON custody_events FOR EACH ROW BEGIN INSERT INTO board_dirty (ordered_test_id) SELECT id FROM ordered_tests WHERE specimen_id = NEW.specimen_id; END',
    'CREATE TRIGGER board_dirty_mi_ins AFTER INSERT ON manifest_items FOR EACH ROW BEGIN INSERT INTO board_dirty (ordered_test_id) SELECT id FROM ordered_tests WHERE specimen_id = NEW.specimen_id; END',
    'CREATE TRIGGER board_dirty_man_upd AFTER UPDATE OF route_id ON manifests FOR EACH ROW BEGIN INSERT INTO board_dirty (ordered_test_id) SELECT t.id FROM ordered_tests t JOIN manifest_items i ON i.specimen_id = t.specimen_id WHERE i.manifest_id = NEW.id; END',
    'CREATE TRIGGER board_dirty_usr_upd AFTER UPDATE OF display_name ON users FOR EACH ROW BEGIN INSERT INTO board_dirty (ordered_test_id) SELECT ordered_test_id FROM escalations WHERE to_user_id = NEW.id; END',
)
_PG_TRIGGERS = (
    'CREATE FUNCTION board_dirty_ot_ins() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.id IS NOT NULL THEN INSERT INTO board_dirty (ordered_test_id) VALUES (NEW.id); END IF; RETURN NULL; END $$',
    'CREATE TRIGGER board_dirty_ot_ins AFTER INSERT ON ordered_tests FOR EACH ROW EXECUTE FUNCTION board_dirty_ot_ins()',
    'CREATE FUNCTION board_dirty_ot_upd() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.id IS NOT NULL THEN INSERT INTO board_dirty (ordered_test_id) VALUES (NEW.id); END IF; RETURN NULL; END $$',
    'CREATE TRIGGER board_dirty_ot_upd AFTER UPDATE ON ordered_tests FOR EACH ROW EXECUTE FUNCTION board_dirty_ot_upd()',
    'CREATE FUNCTION board_dirty_ord_upd() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO board_dirty (ordered_test_id) SELECT id FROM ordered_tests WHERE order_id = NEW.id; RETURN NULL; END $$',
    'CREATE TRIGGER board_dirty_ord_upd AFTER UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION board_dirty_ord_upd()',
    'CREATE FUNCTION board_dirty_pat_upd() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO board_dirty (ordered_test_id) SELECT t.id FROM ordered_tests t JOIN orders o ON o.id = t.order_id WHERE o.patient_id = NEW.id; RETURN NULL; END $$',
    'CREATE TRIGGER board_dirty_pat_upd AFTER UPDATE OF family_name, given_name, mrn ON patients FOR EACH ROW EXECUTE FUNCTION board_dirty_pat_upd()',
    'CREATE FUNCTION board_dirty_spec_upd() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO board_dirty (ordered_test_id) SELECT id FROM ordered_tests WHERE specimen_id = NEW.id; RETURN NULL; END $$',
    'CREATE TRIGGER board_dirty_spec_upd AFTER UPDATE ON specimens FOR EACH ROW EXECUTE FUNCTION board_dirty_spec_upd()',
    'CREATE FUNCTION board_dirty_res_ins() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.ordered_test_id IS NOT NULL THEN INSERT INTO board_dirty (ordered_test_id) VALUES (NEW.ordered_test_id); END IF; RETURN NULL; END $$',
    'CREATE TRIGGER board_dirty_res_ins AFTER INSERT ON results FOR EACH ROW EXECUTE FUNCTION board_dirty_res_ins()',
    'CREATE FUNCTION board_dirty_res_upd_new() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.ordered_test_id IS NOT NULL THEN INSERT INTO board_dirty (ordered_test_id) VALUES (NEW.ordered_test_id); END IF; RETURN NULL; END $$',
    'CREATE TRIGGER board_dirty_res_upd_new AFTER UPDATE ON results FOR EACH ROW EXECUTE FUNCTION board_dirty_res_upd_new()',
    'CREATE FUNCTION board_dirty_res_upd_old() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF OLD.ordered_test_id IS NOT NULL THEN INSERT INTO board_dirty (ordered_test_id) VALUES (OLD.ordered_test_id); END IF; RETURN NULL; END $$',
    'CREATE TRIGGER board_dirty_res_upd_old AFTER UPDATE ON results FOR EACH ROW EXECUTE FUNCTION board_dirty_res_upd_old()',
    'CREATE FUNCTION board_dirty_ack_ins() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.ordered_test_id IS NOT NULL THEN INSERT INTO board_dirty (ordered_test_id) VALUES (NEW.ordered_test_id); END IF; RETURN NULL; END $$',
    'CREATE TRIGGER board_dirty_ack_ins AFTER INSERT ON acknowledgements FOR EACH ROW EXECUTE FUNCTION board_dirty_ack_ins()',
    'CREATE FUNCTION board_dirty_esc_ins() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.ordered_test_id IS NOT NULL THEN INSERT INTO board_dirty (ordered_test_id) VALUES (NEW.ordered_test_id); END IF; RETURN NULL; END $$',
    'CREATE TRIGGER board_dirty_esc_ins AFTER INSERT ON escalations FOR EACH ROW EXECUTE FUNCTION board_dirty_esc_ins()',
    'CREATE FUNCTION board_dirty_cus_ins() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO board_dirty (ordered_test_id) SELECT id FROM ordered_tests WHERE specimen_id = NEW.specimen_id; RETURN NULL; END $$',
    'CREATE TRIGGER board_dirty_cus_ins AFTER INSERT ON custody_events FOR EACH ROW EXECUTE FUNCTION board_dirty_cus_ins()',
    'CREATE FUNCTION board_dirty_mi_ins() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO board_dirty (ordered_test_id) SELECT id FROM ordered_tests WHERE specimen_id = NEW.specimen_id; RETURN NULL; END $$',
    'CREATE TRIGGER board_dirty_mi_ins AFTER INSERT ON manifest_items FOR EACH ROW EXECUTE FUNCTION board_dirty_mi_ins()',
    'CREATE FUNCTION board_dirty_man_upd() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO board_dirty (ordered_test_id) SELECT t.id FROM ordered_tests t JOIN manifest_items i ON i.specimen_id = t.specimen_id WHERE i.manifest_id = NEW.id; RETURN NULL; END $$',
    'CREATE TRIGGER board_dirty_man_upd AFTER UPDATE OF route_id ON manifests FOR EACH ROW EXECUTE FUNCTION board_dirty_man_upd()',
    'CREATE FUNCTION board_dirty_usr_upd() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO board_dirty (ordered_test_id) SELECT ordered_test_id FROM escalations WHERE to_user_id = NEW.id; RETURN NULL; END $$',
    'CREATE TRIGGER board_dirty_usr_upd AFTER UPDATE OF display_name ON users FOR EACH ROW EXECUTE FUNCTION board_dirty_usr_upd()',
)
_SQLITE_DROPS = (
    'DROP TRIGGER IF EXISTS board_dirty_ot_ins',
    'DROP TRIGGER IF EXISTS board_dirty_ot_upd',
    'DROP TRIGGER IF EXISTS board_dirty_ord_upd',
    'DROP TRIGGER IF EXISTS board_dirty_pat_upd',
    'DROP TRIGGER IF EXISTS board_dirty_spec_upd',
    'DROP TRIGGER IF EXISTS board_dirty_res_ins',
    'DROP TRIGGER IF EXISTS board_dirty_res_upd_new',
    'DROP TRIGGER IF EXISTS board_dirty_res_upd_old',
    'DROP TRIGGER IF EXISTS board_dirty_ack_ins',
    'DROP TRIGGER IF EXISTS board_dirty_esc_ins',
    'DROP TRIGGER IF EXISTS board_dirty_cus_ins',
    'DROP TRIGGER IF EXISTS board_dirty_mi_ins',
    'DROP TRIGGER IF EXISTS board_dirty_man_upd',
    'DROP TRIGGER IF EXISTS board_dirty_usr_upd',
)
_PG_DROPS = (
    'DROP TRIGGER IF EXISTS board_dirty_ot_ins ON ordered_tests',
    'DROP FUNCTION IF EXISTS board_dirty_ot_ins()',
    'DROP TRIGGER IF EXISTS board_dirty_ot_upd ON ordered_tests',
    'DROP FUNCTION IF EXISTS board_dirty_ot_upd()',
    'DROP TRIGGER IF EXISTS board_dirty_ord_upd ON orders',
    'DROP FUNCTION IF EXISTS board_dirty_ord_upd()',
    'DROP TRIGGER IF EXISTS board_dirty_pat_upd ON patients',
    'DROP FUNCTION IF EXISTS board_dirty_pat_upd()',
    'DROP TRIGGER IF EXISTS board_dirty_spec_upd ON specimens',
    'DROP FUNCTION IF EXISTS board_dirty_spec_upd()',
    'DROP TRIGGER IF EXISTS board_dirty_res_ins ON results',
    'DROP FUNCTION IF EXISTS board_dirty_res_ins()',
    'DROP TRIGGER IF EXISTS board_dirty_res_upd_new ON results',
    'DROP FUNCTION IF EXISTS board_dirty_res_upd_new()',
    'DROP TRIGGER IF EXISTS board_dirty_res_upd_old ON results',
    'DROP FUNCTION IF EXISTS board_dirty_res_upd_old()',
    'DROP TRIGGER IF EXISTS board_dirty_ack_ins ON acknowledgements',
    'DROP FUNCTION IF EXISTS board_dirty_ack_ins()',
    'DROP TRIGGER IF EXISTS board_dirty_esc_ins ON escalations',
    'DROP FUNCTION IF EXISTS board_dirty_esc_ins()',
    'DROP TRIGGER IF EXISTS board_dirty_cus_ins ON custody_events',
    'DROP FUNCTION IF EXISTS board_dirty_cus_ins()',
    'DROP TRIGGER IF EXISTS board_dirty_mi_ins ON manifest_items',
    'DROP FUNCTION IF EXISTS board_dirty_mi_ins()',
    'DROP TRIGGER IF EXISTS board_dirty_man_upd ON manifests',
    'DROP FUNCTION IF EXISTS board_dirty_man_upd()',
    'DROP TRIGGER IF EXISTS board_dirty_usr_upd ON users',
    'DROP FUNCTION IF EXISTS board_dirty_usr_upd()',
)

_INDEXES = (
    ('ix_board_entries_open_due', ['is_open', 'sort_due', 'd1_due', 'd1_urgency', 'd2_due', 'd2_urgency']),
    ('ix_board_entries_status', ['is_open', 'status', 'sort_due']),
    ('ix_board_entries_d1', ['is_open', 'd1_reason', 'd1_due', 'sort_due']),
    ('ix_board_entries_d2', ['is_open', 'd2_reason', 'd2_due', 'sort_due']),
    ('ix_board_entries_provider', ['is_open', 'ordering_provider', 'sort_due']),
    ('ix_board_entries_provider_id', ['ordering_provider_id']),
    ('ix_board_entries_escalated_to_id', ['escalated_to_id']),
    ('ix_board_entries_mrn_key', ['mrn_key']),
    ('ix_board_entries_family_key', ['family_key']),
    ('ix_board_entries_given_key', ['given_key']),
    ('ix_board_entries_accession', ['accession']),
    ('ix_board_entries_placer_key', ['placer_key']),
    ('ix_board_entries_test_code', ['test_code']),
    ('ix_board_entries_closed_s', ['closed_s']),
    ('ix_board_entries_patient_key', ['patient_key']),
    ('ix_board_entries_mrn', ['mrn']),
    ('ix_board_entries_status_rank', ['status_rank']),
    ('ix_board_entries_severity', ['severity']),
    ('ix_board_entries_stat', ['stat']),
    ('ix_board_entries_provider_key', ['provider_key']),
    ('ix_board_entries_ordered_s', ['ordered_s']),
    ('ix_board_entries_collected_s', ['collected_s']),
)


def _binary_text(length: int) -> sa.String:
    return sa.String(length).with_variant(sa.String(length, collation='C'), 'postgresql')


def upgrade() -> None:
    op.create_table('board_entries',
    sa.Column('ordered_test_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('is_open', sa.Boolean(), nullable=False),
    sa.Column('closed_s', sa.Float(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('status_rank', sa.Integer(), nullable=False),
    sa.Column('stat', sa.Boolean(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('placer_order_number', _binary_text(40), nullable=False),
    sa.Column('placer_key', _binary_text(40), nullable=False),
    sa.Column('test_code', _binary_text(20), nullable=False),
    sa.Column('test_name', sa.String(length=120), nullable=False),
    sa.Column('ordering_provider', _binary_text(120), nullable=False),
    sa.Column('provider_key', _binary_text(120), nullable=False),
    sa.Column('ordering_provider_id', sa.Integer(), nullable=True),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('mrn', _binary_text(40), nullable=False),
    sa.Column('mrn_key', _binary_text(40), nullable=False),
    sa.Column('patient_name', sa.String(length=250), nullable=False),
    sa.Column('patient_key', _binary_text(250), nullable=False),
    sa.Column('family_key', _binary_text(120), nullable=False),
    sa.Column('given_key', _binary_text(120), nullable=False),
    sa.Column('accession', _binary_text(16), nullable=False),
    sa.Column('specimen_status', sa.String(length=20), nullable=False),
    sa.Column('ordered_s', sa.Float(), nullable=False),
    sa.Column('collected_s', sa.Float(), nullable=True),
    sa.Column('result_s', sa.Float(), nullable=True),
    sa.Column('severity', sa.Integer(), nullable=False),
    sa.Column('d1_reason', sa.String(length=32), nullable=True),
    sa.Column('d1_urgency', sa.Integer(), nullable=True),
    sa.Column('d1_since', sa.Float(), nullable=True),
    sa.Column('d1_due', sa.Float(), nullable=True),
    sa.Column('d2_reason', sa.String(length=32), nullable=True),
    sa.Column('d2_urgency', sa.Integer(), nullable=True),
    sa.Column('d2_since', sa.Float(), nullable=True),
    sa.Column('d2_due', sa.Float(), nullable=True),
    sa.Column('due_s', sa.Float(), nullable=True),
    sa.Column('sort_due', sa.Float(), nullable=False),
    sa.Column('escalated', sa.Boolean(), nullable=False),
    sa.Column('escalated_to_id', sa.Integer(), nullable=True),
    sa.Column('escalated_to', sa.String(length=120), nullable=False),
    sa.ForeignKeyConstraint(['ordered_test_id'], ['ordered_tests.id'], name=op.f('fk_board_entries_ordered_test_id_ordered_tests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ordered_test_id', name=op.f('pk_board_entries'))
    )
    with op.batch_alter_table('board_entries', schema=None) as batch_op:
        for name, columns in _INDEXES:
            batch_op.create_index(name, columns, unique=False)
    op.create_table('board_dirty',
    sa.Column('seq', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('ordered_test_id', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_board_dirty')),
    sqlite_autoincrement=True
    )
    op.create_table('board_state',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('rebuilt_s', sa.Float(), nullable=True),
    sa.Column('analyzed_rows', sa.Integer(), nullable=True),
    sa.Column('generation', sa.String(length=32), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_board_state'))
    )
    triggers = _PG_TRIGGERS if op.get_bind().dialect.name == 'postgresql' else _SQLITE_TRIGGERS
    for statement in triggers:
        op.execute(statement)


def downgrade() -> None:
    drops = _PG_DROPS if op.get_bind().dialect.name == 'postgresql' else _SQLITE_DROPS
    for statement in drops:
        op.execute(statement)
    op.drop_table('board_state')
    op.drop_table('board_dirty')
    with op.batch_alter_table('board_entries', schema=None) as batch_op:
        for name, _columns in reversed(_INDEXES):
            batch_op.drop_index(name)
    op.drop_table('board_entries')
