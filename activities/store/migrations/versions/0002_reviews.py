"""Post-incident reviews: the review as JSON, and its status as a column for ad-hoc SQL.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.add_column("escalations", sa.Column("review_status", sa.Text))
    op.add_column("escalations", sa.Column("review", sa.JSON(none_as_null=True)))
