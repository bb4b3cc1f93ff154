"""The designer's what-if runs: who asked when, the setups compared, status, progress and the comparison; and an
index on when each alert was received, so a period's alerts are read back in order without scanning the table.

Revision ID: 0013_whatif_runs
Revises: 0012_channels
Create Date: 2026-12-02

"""
import sqlalchemy as sa
from alembic import op

from engine.models import UTCDateTime

revision = "0013_whatif_runs"
down_revision = "0012_channels"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "whatif_run",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("requested_by", sa.String(120), nullable=False),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
        sa.Column("process_id", sa.String(200), nullable=True),
        sa.Column("setup", sa.JSON(), nullable=False),
        sa.Column("files", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("progress", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_whatif_run_requested_by", "whatif_run", ["requested_by"])
    op.create_index("ix_whatif_run_requested_at", "whatif_run", ["requested_at"])
    op.create_index("ix_whatif_run_process_id", "whatif_run", ["process_id"])
    op.create_index("ix_alert_received_at", "alert", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_alert_received_at", "alert")
    op.drop_table("whatif_run")
