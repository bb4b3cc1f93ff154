"""Designers' drafts: an unfinished edit of a process's file set, kept per designer until deployed or discarded.

Revision ID: 0005_design_draft
Revises: 0004_content_hash_not_unique
Create Date: 2026-11-21
"""
import sqlalchemy as sa
from alembic import op

from engine.models import UTCDateTime

revision = "0005_design_draft"
down_revision = "0004_content_hash_not_unique"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "design_draft",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("process_id", sa.String(200), nullable=False),
        sa.Column("author", sa.String(120), nullable=False),
        sa.Column("base_deployment_id", sa.Integer(), sa.ForeignKey("deployment.id"), nullable=True),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("saved_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("process_id", "author"),
    )
    op.create_index("ix_design_draft_process_id", "design_draft", ["process_id"])


def downgrade() -> None:
    op.drop_index("ix_design_draft_process_id", table_name="design_draft")
    op.drop_table("design_draft")
