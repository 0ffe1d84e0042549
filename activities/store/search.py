"""Full-text relevance for similar incidents: SQLite FTS5 (bm25) or PostgreSQL (ts_rank).

A new incident's title and summary become a query that any of its words may match (OR): an
incident sharing only a few words with a past one is still worth a look, and the rank puts
those sharing the most, and the rarest, first. Words like "the" would match everything, so
they are dropped; PostgreSQL's English configuration drops them too, and both stem words
("connections" finds "connection").
"""

from __future__ import annotations

import re

from sqlalchemy import ColumnElement, Select, and_, column, func, literal_column, select, table

from activities.store.schema import escalations

MAX_WORDS = 32
STOP_WORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "him",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
    ]
)
FTS = table("escalations_search", column("incident_id"), column("triggered_at"))
"""SQLite's FTS5 table (migration 0003): its own copy of the searched text, keyed like the record."""
SQLITE_RANK = literal_column("bm25(escalations_search, 0, 0, 2.0, 1.0, 2.0, 1.0)")
"""Weights per column (the two keys, then title, summary, root cause, prevention): a word shared
in a title or a root cause counts twice. A lower bm25 is a better match."""
SEARCH = literal_column("search")
"""PostgreSQL's generated tsvector column (migration 0003), title and root cause weighted A."""


def query_words(text: str) -> list[str]:
    """The distinct words worth searching for, in order, at most ``MAX_WORDS``."""
    words = (word for word in re.findall(r"[^\W_]+", text.lower()) if len(word) > 1)
    return list(dict.fromkeys(word for word in words if word not in STOP_WORDS))[:MAX_WORDS]


def similar_query(dialect: str, words: list[str], service: str, where: ColumnElement[bool]) -> Select:
    """Records matching any of ``words`` (and ``where``): same service first, then the most relevant,
    then the newest. Words are letters and digits only, so quoting them cannot break the query."""
    columns = select(escalations.c.record, escalations.c.review)
    same_service = (escalations.c.service == service).desc()
    newest = escalations.c.triggered_at.desc()
    if dialect == "sqlite":
        match = " OR ".join(f'"{word}"' for word in words)
        keys = and_(
            FTS.c.incident_id == escalations.c.incident_id, FTS.c.triggered_at == escalations.c.triggered_at
        )
        return (
            columns.join_from(escalations, FTS, keys)
            .where(literal_column("escalations_search").op("MATCH")(match), where)
            .order_by(same_service, SQLITE_RANK, newest)
        )
    any_word = " | ".join(f"'{word}'" for word in words)
    tsquery = func.to_tsquery(literal_column("'english'::regconfig"), any_word)
    return columns.where(SEARCH.op("@@")(tsquery), where).order_by(
        same_service, func.ts_rank(SEARCH, tsquery).desc(), newest
    )
