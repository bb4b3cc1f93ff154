"""Teams are managed in the web app: a retired team takes no new tasks and is no longer offered as a choice, and
its history (tasks, memberships, audit) stays.

Revision ID: 0010_team_retired
Revises: 0009_case_text_search
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0010_team_retired"
down_revision = "0009_case_text_search"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("team") as batch:
        batch.add_column(sa.Column("retired", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("team") as batch:
        batch.drop_column("retired")
