"""The indicators at a million cases: each case keeps the figures it contributes (engine/case_figures.py:
``resolved_at``, ``handling_s``, ``verified``, ``late``), computed here for the existing cases, and the indexes the
period queries use (ix_cases_figures, PostgreSQL only, covers a period's cases for an index-only scan;
ix_cases_open_sla holds the open cases with a deadline; ix_human_task_ended the completed tasks by time).

The backfill reads the same definitions as engine/case_figures.py: one UPDATE on PostgreSQL (about a minute per
million cases on a 2-core machine; each case row is rewritten once, and steps writing a case wait meanwhile), row by row in Python on SQLite (an embedded
database is small, and SQLite stores times in SQLAlchemy's own text format, which SQL would have to imitate).

Revision ID: 0014_case_figures
Revises: 0012_channels
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

from engine import case_figures
from engine.models import FIGURES_INCLUDED, OPEN_WITH_SLA, UTCDateTime

revision = "0014_case_figures"
down_revision = "0013_whatif_runs"
branch_labels = None
depends_on = None

#: Cases with a completed task that was finished after its due time.
LATE = ("SELECT t.instance_id FROM human_task t WHERE t.status = 'completed' AND t.due_at IS NOT NULL "
        "AND t.ended_at > t.due_at")
_CLOSED_STAGE = ", ".join(f"CAST(c.stage_times ->> '{s}' AS timestamptz)" for s in case_figures.CLOSED_STAGES)
_NEVER_CLOSED = ", ".join(f"'{s}'" for s in case_figures.NEVER_CLOSED)
BACKFILL_POSTGRES = f"""
UPDATE cases SET resolved_at = f.resolved, handling_s = extract(epoch FROM f.resolved - cases.opened_at),
                 verified = f.verified, late = f.late
FROM (SELECT c.id,
             COALESCE({_CLOSED_STAGE}, CASE WHEN c.stage NOT IN ({_NEVER_CLOSED}) THEN c.closed_at END) AS resolved,
             c.stage_times ->> 'verify' IS NOT NULL AS verified,
             c.instance_id IN ({LATE}) AS late
      FROM cases c) AS f
WHERE f.id = cases.id AND (f.resolved IS NOT NULL OR f.verified OR f.late)"""


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("resolved_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("handling_s", sa.Float(), nullable=True))
        batch.add_column(sa.Column("verified", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("late", sa.Boolean(), nullable=False, server_default=sa.false()))
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(BACKFILL_POSTGRES)
        op.create_index("ix_cases_figures", "cases", ["opened_at"], postgresql_include=list(FIGURES_INCLUDED))
    else:
        _backfill_in_python(bind)
    op.create_index("ix_cases_open_sla", "cases", ["sla_due_at"], postgresql_where=sa.text(OPEN_WITH_SLA),
                    sqlite_where=sa.text(OPEN_WITH_SLA))
    op.create_index("ix_human_task_ended", "human_task", ["status", "ended_at"],
                    postgresql_include=["completed_by", "instance_id"])


def _backfill_in_python(bind) -> None:
    cases = sa.table("cases", sa.column("id", sa.Integer), sa.column("instance_id", sa.Integer),
                     sa.column("stage", sa.String), sa.column("stage_times", sa.JSON),
                     sa.column("opened_at", UTCDateTime), sa.column("closed_at", UTCDateTime),
                     sa.column("resolved_at", UTCDateTime), sa.column("handling_s", sa.Float),
                     sa.column("verified", sa.Boolean), sa.column("late", sa.Boolean))
    late = set(bind.execute(sa.text(LATE)).scalars())
    rows = bind.execute(sa.select(cases.c.id, cases.c.instance_id, cases.c.stage, cases.c.stage_times,
                                  cases.c.opened_at, cases.c.closed_at)).mappings().all()
    changed = [{"b_id": row["id"], **case_figures.figures(dict(row), row["instance_id"] in late)} for row in rows]
    changed = [row for row in changed if row["resolved_at"] is not None or row["verified"] or row["late"]]
    if changed:
        bind.execute(sa.update(cases).where(cases.c.id == sa.bindparam("b_id")), changed)


def downgrade() -> None:
    op.drop_index("ix_human_task_ended", table_name="human_task")
    op.drop_index("ix_cases_open_sla", table_name="cases")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_cases_figures", table_name="cases")
    with op.batch_alter_table("cases") as batch:
        for name in reversed(case_figures.COLUMNS):
            batch.drop_column(name)
