"""The transactional outbox (case events and notification requests written in each step's transaction), their
deliveries to department webhooks and people's channels, department subscriptions, notification templates and
people's contact details.

Revision ID: 0011_outbox
Revises: 0010_team_retired
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

from engine.models import UTCDateTime

revision = "0011_outbox"
down_revision = "0010_team_retired"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("instance_id", sa.Integer(), sa.ForeignKey("process_instance.id"), nullable=True),
        sa.Column("kind", sa.String(60), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("fanned_out", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_outbox_event_instance_id", "outbox_event", ["instance_id"])
    op.create_index("ix_outbox_event_pending", "outbox_event", ["fanned_out", "id"])
    op.create_table(
        "webhook_subscription",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("department", sa.String(120), nullable=False, unique=True),
        sa.Column("url", sa.String(1000), nullable=False),
        sa.Column("event_types", sa.JSON(), nullable=False),
        sa.Column("secret_env", sa.String(120), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "delivery",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("event_id", sa.Integer(), sa.ForeignKey("outbox_event.id"), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=True),
        sa.Column("subscriber", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("subscription_id", sa.Integer(), sa.ForeignKey("webhook_subscription.id"), nullable=True),
        sa.Column("recipient", sa.String(120), nullable=True),
        sa.Column("subject", sa.String(300), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("idempotency_key", sa.String(120), nullable=False, unique=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("replays", sa.Integer(), nullable=False),
    )
    op.create_index("ix_delivery_event_id", "delivery", ["event_id"])
    op.create_index("ix_delivery_subscription_id", "delivery", ["subscription_id"])
    op.create_index("ix_delivery_due", "delivery", ["status", "next_attempt_at"])
    op.create_index("ix_delivery_order", "delivery", ["instance_id", "subscriber", "id"])
    op.create_index("ix_delivery_recipient", "delivery", ["recipient", "channel", "id"])
    op.create_table(
        "notification_template",
        sa.Column("code", sa.String(80), primary_key=True),
        sa.Column("subject_zh", sa.String(300), nullable=False),
        sa.Column("body_zh", sa.Text(), nullable=False),
        sa.Column("subject_en", sa.String(300), nullable=False),
        sa.Column("body_en", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.String(120), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "contact_details",
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("phone", sa.String(40), nullable=True),
        sa.Column("email", sa.String(200), nullable=True),
        sa.Column("wecom_id", sa.String(120), nullable=True),
        sa.Column("dingtalk_id", sa.String(120), nullable=True),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("contact_details")
    op.drop_table("notification_template")
    op.drop_table("delivery")
    op.drop_table("webhook_subscription")
    op.drop_table("outbox_event")
