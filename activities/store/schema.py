"""The ``escalations`` table as the latest migration leaves it, for the store's queries.

Headline facts are columns for ad-hoc SQL (time to acknowledge per service, which tier
resolves most); ``record`` holds the whole record as JSON, without its review, which has its own
column because the review workflow updates it after the close-out. ``summary``, ``root_cause``
and ``prevention`` feed full-text search: SQLite's ``escalations_search`` FTS5 table (kept in
step by triggers) and PostgreSQL's generated ``search`` tsvector column (GIN-indexed).
Timestamps are ISO 8601 text in UTC, as the first version of the store wrote them; in one zone,
their text order is their time order.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Float, MetaData, Table, Text

metadata = MetaData()

escalations = Table(
    "escalations",
    metadata,
    Column("incident_id", Text, primary_key=True),
    Column("triggered_at", Text, primary_key=True),
    Column("service", Text, nullable=False),
    Column("severity", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("policy_name", Text, nullable=False),
    Column("policy_version", Text, nullable=False),
    Column("acknowledged_by", Text),
    Column("acknowledged_tier", Text),
    Column("resolved_by", Text),
    Column("time_to_acknowledge_seconds", Float),
    Column("time_to_resolve_seconds", Float),
    Column("record", Text, nullable=False),
    Column("review_status", Text),
    Column("review", JSON(none_as_null=True)),
    Column("summary", Text, nullable=False),
    Column("root_cause", Text, nullable=False),
    Column("prevention", Text, nullable=False),
)
