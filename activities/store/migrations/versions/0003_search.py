"""Full-text search for similar incidents: the searched text as columns (filled in from the
records and reviews already kept), then SQLite FTS5 or PostgreSQL's tsvector with a GIN index.

Revision ID: 0003
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"

TEXT_COLUMNS = ("summary", "root_cause", "prevention")
SEARCHED = "title, summary, root_cause, prevention"
SQLITE = [
    f"""CREATE VIRTUAL TABLE escalations_search USING fts5(
        incident_id UNINDEXED, triggered_at UNINDEXED, {SEARCHED}, tokenize = 'porter unicode61')""",
    f"INSERT INTO escalations_search SELECT incident_id, triggered_at, {SEARCHED} FROM escalations",
    """CREATE TRIGGER escalations_search_insert AFTER INSERT ON escalations BEGIN
        INSERT INTO escalations_search VALUES (new.incident_id, new.triggered_at,
            new.title, new.summary, new.root_cause, new.prevention);
    END""",
    f"""CREATE TRIGGER escalations_search_update AFTER UPDATE OF {SEARCHED} ON escalations BEGIN
        DELETE FROM escalations_search
            WHERE incident_id = old.incident_id AND triggered_at = old.triggered_at;
        INSERT INTO escalations_search VALUES (new.incident_id, new.triggered_at,
            new.title, new.summary, new.root_cause, new.prevention);
    END""",
    """CREATE TRIGGER escalations_search_delete AFTER DELETE ON escalations BEGIN
        DELETE FROM escalations_search
            WHERE incident_id = old.incident_id AND triggered_at = old.triggered_at;
    END""",
]
POSTGRESQL = [
    """ALTER TABLE escalations ADD COLUMN search tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', title), 'A')
        || setweight(to_tsvector('english', root_cause), 'A')
        || setweight(to_tsvector('english', summary), 'B')
        || setweight(to_tsvector('english', prevention), 'B')
    ) STORED""",
    "CREATE INDEX escalations_search ON escalations USING GIN (search)",
]


def upgrade() -> None:
    for name in TEXT_COLUMNS:
        op.add_column("escalations", sa.Column(name, sa.Text, nullable=False, server_default=""))
    _fill_in_text()
    for statement in SQLITE if op.get_context().dialect.name == "sqlite" else POSTGRESQL:
        op.execute(statement)


def _fill_in_text() -> None:
    """The searched text of the rows already kept, read from their JSON as it was written then."""
    names = ("incident_id", "triggered_at", *TEXT_COLUMNS)
    table = sa.table("escalations", *(sa.column(name) for name in names))
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT incident_id, triggered_at, record, review FROM escalations"))
    for incident_id, triggered_at, record, review in rows.all():
        data = json.loads(record)
        review = json.loads(review) if isinstance(review, str) else review  # SQLite text, PostgreSQL json
        submission = (review or {}).get("submission") or {}
        connection.execute(
            table.update()
            .where(table.c.incident_id == incident_id, table.c.triggered_at == triggered_at)
            .values(
                summary=data["incident"].get("summary", ""),
                root_cause=(data.get("resolution") or {}).get("root_cause", ""),
                prevention="\n".join(submission.get("prevention", [])),
            )
        )
