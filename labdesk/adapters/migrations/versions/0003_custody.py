"""custody: routes, courier manifests and their items, recollection tasks

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 19:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('routes',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('from_site_id', sa.Integer(), nullable=False),
    sa.Column('to_site_id', sa.Integer(), nullable=False),
    sa.Column('transit_minutes', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['from_site_id'], ['sites.id'], name=op.f('fk_routes_from_site_id_sites')),
    sa.ForeignKeyConstraint(['to_site_id'], ['sites.id'], name=op.f('fk_routes_to_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routes')),
    sa.UniqueConstraint('code', name=op.f('uq_routes_code'))
    )
    with op.batch_alter_table('routes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_routes_from_site_id'), ['from_site_id'], unique=False)

    op.create_table('manifests',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('number', sa.String(length=16), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('courier_id', sa.Integer(), nullable=False),
    sa.Column('route_id', sa.Integer(), nullable=True),
    sa.Column('station_code', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('receipt_started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('received_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['courier_id'], ['users.id'], name=op.f('fk_manifests_courier_id_users')),
    sa.ForeignKeyConstraint(['received_by_id'], ['users.id'], name=op.f('fk_manifests_received_by_id_users')),
    sa.ForeignKeyConstraint(['route_id'], ['routes.id'], name=op.f('fk_manifests_route_id_routes')),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_manifests_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_manifests')),
    sa.UniqueConstraint('number', name=op.f('uq_manifests_number'))
    )
    with op.batch_alter_table('manifests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_manifests_status_site_id'), ['status', 'site_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_manifests_courier_id_status'), ['courier_id', 'status'], unique=False)

    op.create_table('manifest_items',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('manifest_id', sa.Integer(), nullable=False),
    sa.Column('specimen_id', sa.Integer(), nullable=False),
    sa.Column('temperature_class', sa.String(length=16), nullable=False),
    sa.Column('bag_id', sa.String(length=32), nullable=False),
    sa.Column('expected', sa.Boolean(), nullable=False),
    sa.Column('scanned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('scanned_by_id', sa.Integer(), nullable=False),
    sa.Column('lab_outcome', sa.String(length=16), nullable=True),
    sa.Column('lab_scanned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lab_scanned_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['lab_scanned_by_id'], ['users.id'], name=op.f('fk_manifest_items_lab_scanned_by_id_users')),
    sa.ForeignKeyConstraint(['manifest_id'], ['manifests.id'], name=op.f('fk_manifest_items_manifest_id_manifests')),
    sa.ForeignKeyConstraint(['scanned_by_id'], ['users.id'], name=op.f('fk_manifest_items_scanned_by_id_users')),
    sa.ForeignKeyConstraint(['specimen_id'], ['specimens.id'], name=op.f('fk_manifest_items_specimen_id_specimens')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_manifest_items')),
    sa.UniqueConstraint('manifest_id', 'specimen_id', name=op.f('uq_manifest_items_manifest_id_specimen_id'))
    )
    with op.batch_alter_table('manifest_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_manifest_items_specimen_id'), ['specimen_id'], unique=False)

    op.create_table('recollection_tasks',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('specimen_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('note', sa.String(length=400), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('opened_by_id', sa.Integer(), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.Column('close_note', sa.String(length=400), nullable=False),
    sa.ForeignKeyConstraint(['closed_by_id'], ['users.id'], name=op.f('fk_recollection_tasks_closed_by_id_users')),
    sa.ForeignKeyConstraint(['opened_by_id'], ['users.id'], name=op.f('fk_recollection_tasks_opened_by_id_users')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_recollection_tasks_patient_id_patients')),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_recollection_tasks_site_id_sites')),
    sa.ForeignKeyConstraint(['specimen_id'], ['specimens.id'], name=op.f('fk_recollection_tasks_specimen_id_specimens')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recollection_tasks')),
    sa.UniqueConstraint('specimen_id', name=op.f('uq_recollection_tasks_specimen_id'))
    )
    with op.batch_alter_table('recollection_tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recollection_tasks_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_recollection_tasks_status_site_id'), ['status', 'site_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('recollection_tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recollection_tasks_status_site_id'))
        batch_op.drop_index(batch_op.f('ix_recollection_tasks_patient_id'))
    op.drop_table('recollection_tasks')
    with op.batch_alter_table('manifest_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_manifest_items_specimen_id'))
    op.drop_table('manifest_items')
    with op.batch_alter_table('manifests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_manifests_courier_id_status'))
        batch_op.drop_index(batch_op.f('ix_manifests_status_site_id'))
    op.drop_table('manifests')
    with op.batch_alter_table('routes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_routes_from_site_id'))
    op.drop_table('routes')
