"""Open311 intake: client systems with hashed api keys, and the requests they filed (with the reporter's contact).

Revision ID: 0007_open311_keys
Revises: 0006_session_epoch
Create Date: 2026-12-02

(Written beside 0006_session_epoch on another branch; revises it since both were merged.)
"""
import sqlalchemy as sa
from alembic import op

from engine.models import UTCDateTime

revision = "0007_open311_keys"
down_revision = "0006_session_epoch"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "open311_client",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_open311_client_name", "open311_client", ["name"])
    op.create_table(
        "open311_request",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("client_id", sa.Integer(), sa.ForeignKey("open311_client.id"), nullable=False),
        sa.Column("service_code", sa.String(80), nullable=False),
        sa.Column("instance_id", sa.Integer(), sa.ForeignKey("process_instance.id"), nullable=True),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("address", sa.String(300), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("media_url", sa.String(1000), nullable=True),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("contact", sa.JSON(), nullable=False),
    )
    for column in ("client_id", "service_code", "instance_id", "requested_at"):
        op.create_index(f"ix_open311_request_{column}", "open311_request", [column])


def downgrade() -> None:
    op.drop_table("open311_request")
    op.drop_index("ix_open311_client_name", table_name="open311_client")
    op.drop_table("open311_client")
