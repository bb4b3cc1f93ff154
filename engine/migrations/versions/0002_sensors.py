"""sensors: device registry, alerts, alarms, dead letters

Revision ID: 0002_sensors
Revises: 0001
Create Date: 2026-11-21
"""
from alembic import op
import sqlalchemy as sa
import engine.models


revision = "0002_sensors"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dead_letter',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('received_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('topic', sa.String(length=300), nullable=True),
    sa.Column('reason', sa.String(length=40), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('msg_id', sa.String(length=120), nullable=True),
    sa.Column('device_id', sa.String(length=80), nullable=True),
    sa.Column('raw', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('dead_letter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dead_letter_reason'), ['reason'], unique=False)
        batch_op.create_index(batch_op.f('ix_dead_letter_received_at'), ['received_at'], unique=False)

    op.create_table('device',
    sa.Column('id', sa.String(length=80), nullable=False),
    sa.Column('device_type', sa.String(length=80), nullable=False),
    sa.Column('scenario', sa.String(length=80), nullable=False),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('address', sa.String(length=300), nullable=True),
    sa.Column('compound', sa.String(length=120), nullable=True),
    sa.Column('inside_compound', sa.Boolean(), nullable=False),
    sa.Column('owner_team', sa.String(length=120), nullable=True),
    sa.Column('heartbeat_interval_s', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('last_seen_at', engine.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('offline_after', engine.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('registered_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('device', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_device_compound'), ['compound'], unique=False)
        batch_op.create_index(batch_op.f('ix_device_offline_after'), ['offline_after'], unique=False)
        batch_op.create_index(batch_op.f('ix_device_owner_team'), ['owner_team'], unique=False)
        batch_op.create_index(batch_op.f('ix_device_scenario'), ['scenario'], unique=False)

    op.create_table('alarm',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.String(length=80), nullable=False),
    sa.Column('scenario', sa.String(length=80), nullable=False),
    sa.Column('open_key', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('process_id', sa.String(length=200), nullable=False),
    sa.Column('clear_message', sa.String(length=200), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('severity', sa.String(length=20), nullable=True),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('flaps', sa.Integer(), nullable=False),
    sa.Column('first_seen_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('cleared_at', engine.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('clear_pending', sa.Boolean(), nullable=False),
    sa.Column('start_data', sa.JSON(), nullable=False),
    sa.Column('start_claimed_at', engine.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', engine.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], ),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('open_key')
    )
    with op.batch_alter_table('alarm', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alarm_clear_pending'), ['clear_pending'], unique=False)
        batch_op.create_index(batch_op.f('ix_alarm_device_id'), ['device_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alarm_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alarm_status'), ['status'], unique=False)

    op.create_table('alert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('msg_id', sa.String(length=120), nullable=False),
    sa.Column('device_id', sa.String(length=80), nullable=False),
    sa.Column('scenario', sa.String(length=80), nullable=False),
    sa.Column('event', sa.String(length=20), nullable=False),
    sa.Column('reported_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('received_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=True),
    sa.Column('alarm_id', sa.Integer(), nullable=True),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['alarm_id'], ['alarm.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('msg_id')
    )
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_alarm_id'), ['alarm_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_device_id'), ['device_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_device_id'))
        batch_op.drop_index(batch_op.f('ix_alert_alarm_id'))

    op.drop_table('alert')
    with op.batch_alter_table('alarm', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alarm_status'))
        batch_op.drop_index(batch_op.f('ix_alarm_instance_id'))
        batch_op.drop_index(batch_op.f('ix_alarm_device_id'))
        batch_op.drop_index(batch_op.f('ix_alarm_clear_pending'))

    op.drop_table('alarm')
    with op.batch_alter_table('device', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_device_scenario'))
        batch_op.drop_index(batch_op.f('ix_device_owner_team'))
        batch_op.drop_index(batch_op.f('ix_device_offline_after'))
        batch_op.drop_index(batch_op.f('ix_device_compound'))

    op.drop_table('device')
    with op.batch_alter_table('dead_letter', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dead_letter_received_at'))
        batch_op.drop_index(batch_op.f('ix_dead_letter_reason'))

    op.drop_table('dead_letter')
