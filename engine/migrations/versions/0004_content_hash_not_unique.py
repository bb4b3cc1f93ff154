"""Deployments may share content: a roll back stores an older file set again as the newest version.

Revision ID: 0004_content_hash_not_unique
Revises: 0003_people
Create Date: 2026-11-21
"""
from alembic import op

revision = "0004_content_hash_not_unique"
down_revision = "0003_people"
branch_labels = None
depends_on = None

#: Gives SQLite's unnamed unique constraint a name that batch mode can drop.
_NAMES = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _drop_unique() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("deployment", naming_convention=_NAMES) as batch:
            batch.drop_constraint("uq_deployment_content_hash", type_="unique")
    else:
        op.drop_constraint("deployment_content_hash_key", "deployment", type_="unique")


def upgrade() -> None:
    _drop_unique()
    op.create_index("ix_deployment_content_hash", "deployment", ["content_hash"])


def downgrade() -> None:
    op.drop_index("ix_deployment_content_hash", table_name="deployment")
    with op.batch_alter_table("deployment") as batch:
        batch.create_unique_constraint("uq_deployment_content_hash", ["content_hash"])
