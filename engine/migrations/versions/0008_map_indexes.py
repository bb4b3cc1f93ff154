"""The command centre's map: an index that lets the heat map count the cases of a period per place without reading
the cases table (opened_at first for the period's range, then scenario, lat and lon for an index-only scan).

Revision ID: 0008_map_indexes
Revises: 0007_open311_keys
Create Date: 2026-12-02
"""
from alembic import op

revision = "0008_map_indexes"
down_revision = "0007_open311_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_cases_heat", "cases", ["opened_at", "scenario", "lat", "lon"])


def downgrade() -> None:
    op.drop_index("ix_cases_heat", table_name="cases")
