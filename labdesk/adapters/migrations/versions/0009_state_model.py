"""state model: lost tests, result discrepancies, recollection links

- Ordered tests whose specimen was reported lost move to the new ``lost`` status (they
  stayed "in transit" before: see ``labdesk/domain/lifecycle.py``).
- ``unmatched_results.discrepancy_test_id``: a result kept for a person because its specimen
  was rejected or lost; the board flags the named test while the row is open (two board
  triggers, frozen here from ``labdesk/adapters/board_triggers.py``).
- ``specimens.recollection_of_id`` links a recollected specimen to the one it replaces;
  ``recollection_tasks.recollected_specimen_id`` records what closed a task.
- The board's entry format changed (new statuses and flags): the next load rebuilds it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 14:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

_SQLITE_TRIGGERS = ('CREATE TRIGGER board_dirty_um_ins AFTER INSERT ON unmatched_results FOR EACH ROW WHEN NEW.discrepancy_test_id IS NOT NULL BEGIN INSERT INTO board_dirty (ordered_test_id) VALUES (NEW.discrepancy_test_id); END', 'CREATE TRIGGER board_dirty_um_upd AFTER UPDATE ON unmatched_results FOR EACH ROW WHEN NEW.discrepancy_test_id IS NOT NULL BEGIN INSERT INTO board_dirty (ordered_test_id) VALUES (NEW.discrepancy_test_id); END')
_PG_TRIGGERS = ('CREATE FUNCTION board_dirty_um_ins() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.discrepancy_test_id IS NOT NULL THEN INSERT INTO board_dirty (ordered_test_id) VALUES (NEW.discrepancy_test_id); END IF; RETURN NULL; END $$', 'CREATE TRIGGER board_dirty_um_ins AFTER INSERT ON unmatched_results FOR EACH ROW EXECUTE FUNCTION board_dirty_um_ins()', 'CREATE FUNCTION board_dirty_um_upd() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.discrepancy_test_id IS NOT NULL THEN INSERT INTO board_dirty (ordered_test_id) VALUES (NEW.discrepancy_test_id); END IF; RETURN NULL; END $$', 'CREATE TRIGGER board_dirty_um_upd AFTER UPDATE ON unmatched_results FOR EACH ROW EXECUTE FUNCTION board_dirty_um_upd()')
_SQLITE_SPEC_UPD = (
    'CREATE TRIGGER board_dirty_spec_upd AFTER UPDATE ON specimens FOR EACH ROW BEGIN INSERT '
    'INTO board_dirty (ordered_test_id) SELECT id FROM ordered_tests WHERE specimen_id = NEW.id; END'
)
_SQLITE_DROPS = ('DROP TRIGGER IF EXISTS board_dirty_um_ins', 'DROP TRIGGER IF EXISTS board_dirty_um_upd')
_PG_DROPS = ('DROP TRIGGER IF EXISTS board_dirty_um_ins ON unmatched_results', 'DROP FUNCTION IF EXISTS board_dirty_um_ins()', 'DROP TRIGGER IF EXISTS board_dirty_um_upd ON unmatched_results', 'DROP FUNCTION IF EXISTS board_dirty_um_upd()')


def upgrade() -> None:
    with op.batch_alter_table('unmatched_results') as batch:
        batch.add_column(sa.Column('discrepancy_test_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(
            'fk_unmatched_results_discrepancy_test_id_ordered_tests',
            'ordered_tests', ['discrepancy_test_id'], ['id'],
        )
        batch.create_index(
            'ix_unmatched_results_discrepancy_test_id', ['discrepancy_test_id']
        )
    with op.batch_alter_table('specimens') as batch:
        batch.add_column(sa.Column('recollection_of_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(
            'fk_specimens_recollection_of_id_specimens', 'specimens',
            ['recollection_of_id'], ['id'],
        )
        batch.create_index('ix_specimens_recollection_of_id', ['recollection_of_id'])
    with op.batch_alter_table('recollection_tasks') as batch:
        batch.add_column(sa.Column('recollected_specimen_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(
            'fk_recollection_tasks_recollected_specimen_id_specimens', 'specimens',
            ['recollected_specimen_id'], ['id'],
        )
    op.execute(
        "UPDATE ordered_tests SET status = 'lost' "
        "WHERE status IN ('ordered', 'collected', 'in_transit') "
        "AND specimen_id IN (SELECT id FROM specimens WHERE status = 'lost')"
    )
    sqlite = op.get_bind().dialect.name != 'postgresql'
    statements = _SQLITE_TRIGGERS if sqlite else _PG_TRIGGERS
    if sqlite:  # batch mode rebuilt ``specimens``, which drops its triggers: put 0008's back
        statements = (*statements, _SQLITE_SPEC_UPD)
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name != 'postgresql'
    for statement in _SQLITE_DROPS if sqlite else _PG_DROPS:
        op.execute(statement)
    op.execute("UPDATE ordered_tests SET status = 'in_transit' WHERE status = 'lost'")
    with op.batch_alter_table('recollection_tasks') as batch:
        batch.drop_constraint(
            'fk_recollection_tasks_recollected_specimen_id_specimens', type_='foreignkey'
        )
        batch.drop_column('recollected_specimen_id')
    with op.batch_alter_table('specimens') as batch:
        batch.drop_index('ix_specimens_recollection_of_id')
        batch.drop_constraint('fk_specimens_recollection_of_id_specimens', type_='foreignkey')
        batch.drop_column('recollection_of_id')
    if sqlite:
        op.execute(_SQLITE_SPEC_UPD)
    with op.batch_alter_table('unmatched_results') as batch:
        batch.drop_index('ix_unmatched_results_discrepancy_test_id')
        batch.drop_constraint(
            'fk_unmatched_results_discrepancy_test_id_ordered_tests', type_='foreignkey'
        )
        batch.drop_column('discrepancy_test_id')
