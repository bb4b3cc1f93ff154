"""Video analytics intake: the events posted, by their own event id (a repeated id is a no-op).

Revision ID: 0012_channels
Revises: 0011_outbox
Create Date: 2026-12-02

"""
import sqlalchemy as sa
from alembic import op

from engine.models import UTCDateTime

revision = "0012_channels"
down_revision = "0011_outbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "video_event",
        sa.Column("event_id", sa.String(120), primary_key=True),
        sa.Column("camera_id", sa.String(80), nullable=False),
        sa.Column("event_type", sa.String(80), nullable=False),
        sa.Column("instance_id", sa.Integer(), sa.ForeignKey("process_instance.id"), nullable=True),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_video_event_camera_id", "video_event", ["camera_id"])
    op.create_index("ix_video_event_instance_id", "video_event", ["instance_id"])


def downgrade() -> None:
    op.drop_table("video_event")
