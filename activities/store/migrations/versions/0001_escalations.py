"""The close-out table as the first version of the store created it.

Created where missing; adopted as it is where that version already wrote it (same columns,
same key), so existing records carry over untouched.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "escalations",
        sa.Column("incident_id", sa.Text, nullable=False),
        sa.Column("triggered_at", sa.Text, nullable=False),
        sa.Column("service", sa.Text, nullable=False),
        sa.Column("severity", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("policy_name", sa.Text, nullable=False),
        sa.Column("policy_version", sa.Text, nullable=False),
        sa.Column("acknowledged_by", sa.Text),
        sa.Column("acknowledged_tier", sa.Text),
        sa.Column("resolved_by", sa.Text),
        sa.Column("time_to_acknowledge_seconds", sa.Float),
        sa.Column("time_to_resolve_seconds", sa.Float),
        sa.Column("record", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("incident_id", "triggered_at"),
        if_not_exists=True,
    )
