"""A session epoch per user: logging out or changing the password raises it, which ends every session signed with
an older one (webui/security.py compares the two on every request).

Revision ID: 0006_session_epoch
Revises: 0005_design_draft
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_session_epoch"
down_revision = "0005_design_draft"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("app_user") as batch:
        batch.add_column(sa.Column("session_epoch", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("app_user") as batch:
        batch.drop_column("session_epoch")
