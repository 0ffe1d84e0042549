"""``escalate review ID``: submit the post-incident review of an incident's latest escalation."""

from __future__ import annotations

import argparse
from datetime import UTC

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from escalation.learning import Review, ReviewStatus, ReviewSubmission, Verdict
from escalation.models import PATTERN_HINTS

FLAGS = {
    "verdict": "--verdict",
    "stop_at": "--stop-at",
    "prevention": "--prevention",
    "lessons": "--lesson",
    "follow_ups": "--follow-up",
}
"""The flag that gives each field of the submission."""


def add_review_parser(commands: argparse._SubParsersAction, over_api: bool) -> argparse.ArgumentParser:
    """``over_api``: the token names the responder, so ``--as`` is optional."""
    parser = commands.add_parser(
        "review", help="submit the post-incident review of a resolved incident (as its owner)"
    )
    parser.add_argument("incident_id")
    parser.add_argument(
        "--as",
        dest="responder",
        required=not over_api,
        help="your responder id from the roster" + (" (default: the token's)" if over_api else ""),
    )
    parser.add_argument(
        "--verdict",
        required=True,
        choices=[verdict.value for verdict in Verdict],
        help="did the escalation need to climb as far as it did?",
    )
    parser.add_argument("--stop-at", help="the tier it could have stopped at (for unnecessary or partly)")
    for field, what in (
        ("prevention", "a prevention action"),
        ("lessons", "a lesson learned"),
        ("follow_ups", "a follow-up (e.g. a ticket)"),
    ):
        parser.add_argument(
            FLAGS[field], dest=field, action="extend", nargs="+", default=[], metavar="TEXT",
            help=f"{what}; repeat the flag or give several",
        )  # fmt: skip
    return parser


def submission(args: argparse.Namespace) -> ReviewSubmission:
    """The flags as a submission; ValueError naming the flag and the fix."""
    fields = {field: getattr(args, field) for field in FLAGS}
    if not (args.prevention or args.lessons or args.follow_ups):
        raise ValueError("give at least one --prevention, --lesson or --follow-up: what was learned")
    try:
        return ReviewSubmission.model_validate(fields)
    except ValidationError as error:
        raise ValueError("; ".join(_problem(item) for item in error.errors(include_url=False))) from None


def _problem(item: ErrorDetails) -> str:
    loc = item["loc"]
    flag = FLAGS.get(str(loc[0]), "review") if loc else "review"
    which = f" (item {loc[1] + 1})" if len(loc) > 1 and isinstance(loc[1], int) else ""
    pattern = (item.get("ctx") or {}).get("pattern")
    return f"{flag}{which}: {PATTERN_HINTS.get(pattern) or item['msg'].removeprefix('Value error, ')}"


def outcome(incident_id: str, review: Review) -> str:
    verdict = review.submission.verdict.value if review.submission else "-"
    return f"review of {incident_id} recorded: {verdict}, submitted by {review.submitted_by}; thank you"


def summary(review: Review) -> str:
    """One line for ``escalate record``: where the review stands."""
    if review.status is ReviewStatus.PENDING:
        due = f", due {review.due_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if review.due_at else ""
        return f"pending (owner {review.owner or 'anyone it paged'}{due}; 'escalate review' submits it)"
    if review.status is ReviewStatus.COMPLETE and review.submission:
        stop = f", could have stopped at {review.submission.stop_at}" if review.submission.stop_at else ""
        return f"complete by {review.submitted_by}: {review.submission.verdict.value}{stop}"
    return review.status.value
