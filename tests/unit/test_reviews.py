"""Who owns a review, who may submit it, what is refused, and how the CLI and links carry it."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from activities.action_links import ActionLinks, LinkClaims, LinkError, mint, read_link, read_review_link
from escalation import ladder
from escalation.actions import AcknowledgeRequest, ResolveRequest
from escalation.learning import Review, ReviewStatus, ReviewSubmission, Verdict
from escalation.models import Channel, ReviewRule, Severity
from escalation.reviews import ReviewInput, ReviewSubmissionRequest, opening, owner, paged, refusal
from escalation.state import Delivery, EscalationRecord, NotifyResult, Phase, Step
from starter import review_cli
from starter.cli import run
from starter.web import tokens
from tests.support import incident, policy, start_input

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
P = policy()
ROSTER = {"ana", "ben", "sofia", "sam", "dba-kim", "net-lee"}
TIERS = [tier.name for tier in P.tiers]
LESSON = ReviewSubmission(verdict=Verdict.NECESSARY, lessons=["the failover runbook works"])
SECRET = "test-only-link-secret-of-at-least-32-bytes"


def record(
    *, acknowledged_by: str | None = "ana", resolved_by: str = "ana", sev: Severity = Severity.SEV2
) -> EscalationRecord:
    """An escalation that paged ana (reached) and ben (not reached), then was resolved."""
    start = start_input(P, incident(sev))
    state = ladder.begin(start, T0)
    deliveries = [
        Delivery(responder="ana", channel=Channel.EMAIL, delivered=True),
        Delivery(responder="ben", channel=Channel.EMAIL, delivered=False, detail="mailbox full"),
    ]
    step = Step(round=0, tier=0, phase=Phase.PRIMARY)
    ladder.record_notified(state, P, step, NotifyResult(deliveries=deliveries), T0)
    if acknowledged_by:
        ladder.acknowledge(state, P, AcknowledgeRequest(responder=acknowledged_by), at(5))
    ladder.resolve(state, P, ResolveRequest(responder=resolved_by, summary="fixed"), at(40))
    return ladder.record("incident:payments:db-down", start, state)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def opened(closed: EscalationRecord) -> tuple[EscalationRecord, ReviewInput]:
    saved, review = opening(closed, ReviewRule(), TIERS, ROSTER)
    assert review is not None
    return saved, review


def by(responder: str, submission: ReviewSubmission = LESSON) -> ReviewSubmissionRequest:
    return ReviewSubmissionRequest(responder=responder, submission=submission)


def test_the_resolver_owns_the_review_when_on_the_roster() -> None:
    assert owner(record(resolved_by="sofia"), ROSTER) == "sofia"


def test_an_integration_resolving_leaves_the_review_to_whoever_held_it_last() -> None:
    assert owner(record(resolved_by="integration:alerts"), ROSTER) == "ana"


def test_without_an_owner_everyone_paged_may_submit_reached_or_not() -> None:
    closed = record(acknowledged_by=None, resolved_by="integration:alerts")
    assert owner(closed, ROSTER) is None
    assert paged(closed) == ["ana", "ben"]

    saved, review = opened(closed)

    assert saved.review == Review(status=ReviewStatus.PENDING, due_at=T0 + timedelta(minutes=40, days=14))
    assert review.may_submit == ["ana", "ben"]
    assert refusal(review, review.review, by("ben")) is None
    assert refusal(review, review.review, by("sofia")) == (
        "sofia was not paged for incident:payments:db-down; one of ana, ben submits its review"
    )


def test_a_severity_the_rule_leaves_out_needs_no_review() -> None:
    saved, review = opening(record(sev=Severity.SEV3), ReviewRule(), TIERS, ROSTER)

    assert review is None
    assert saved.review == Review(status=ReviewStatus.NOT_REQUIRED)


def test_a_required_review_opens_pending_with_its_owner_due_at_the_window() -> None:
    rule = ReviewRule(window=timedelta(days=7), reminders=[timedelta(days=2)])

    saved, review = opening(record(), rule, TIERS, ROSTER)

    assert saved.review == Review(status=ReviewStatus.PENDING, owner="ana", due_at=at(40) + timedelta(days=7))
    assert review is not None and review.may_submit == ["ana"] and review.rule == rule
    assert review.record.review is None and review.review == saved.review


def test_refusals_say_who_owns_it_which_tiers_exist_and_what_happened_before() -> None:
    _, review = opened(record())
    pending = review.review

    assert refusal(review, pending, by("ana")) is None
    assert refusal(review, pending, by("ben")) == "ben may not submit this review: it is ana's"
    nowhere = LESSON.model_copy(update={"stop_at": "nowhere"})
    assert refusal(review, pending, by("ana", nowhere)) == (
        f"stop_at 'nowhere' is not a tier of policy test; use one of: {', '.join(TIERS)}"
    )
    submitted_at = T0 + timedelta(days=1)
    complete = pending.model_copy(
        update={"status": ReviewStatus.COMPLETE, "submitted_by": "ana", "submitted_at": submitted_at}
    )
    assert refusal(review, complete, by("ana")) == (
        "the review of incident:payments:db-down was already submitted by ana at 2025-03-02 09:00 UTC"
    )
    skipped = pending.model_copy(update={"status": ReviewStatus.SKIPPED})
    assert refusal(review, skipped, by("ana")) == (
        "the review window of incident:payments:db-down closed at 2025-03-15 09:40 UTC; "
        "the record says the review was skipped"
    )


# --- the review link -----------------------------------------------------------------------


LINKS = ActionLinks(SECRET, "https://escalations.example.com/", timedelta(hours=24))


def token_of(url: str | None) -> str:
    assert url is not None and url.startswith("https://escalations.example.com/r/")
    return url.removeprefix("https://escalations.example.com/r/")


def test_a_review_link_names_the_escalation_and_the_responder_until_the_window_closes() -> None:
    due = datetime.now(UTC) + timedelta(days=14)

    claims = read_review_link(token_of(LINKS.review_url("incident:payments:x", T0, "ana", due)), SECRET)

    assert (claims.incident_id, claims.triggered_at, claims.responder) == ("incident:payments:x", T0, "ana")
    assert claims.expires == due.replace(microsecond=0)


def test_a_review_link_is_not_minted_after_its_window_and_not_read_once_expired() -> None:
    now = datetime.now(UTC)
    assert LINKS.review_url("incident:payments:x", T0, "ana", due_at=now - timedelta(seconds=1)) is None

    minted = token_of(LINKS.review_url("incident:payments:x", T0, "ana", due_at=now + timedelta(days=1)))
    claims = jwt.decode(minted, SECRET, algorithms=["HS256"], audience="escalation:review-link")
    expired = jwt.encode(claims | {"exp": int((now - timedelta(seconds=5)).timestamp())}, SECRET)
    with pytest.raises(LinkError, match="the review window has closed"):
        read_review_link(expired, SECRET)


def test_review_links_action_links_and_responder_tokens_do_not_pass_for_each_other() -> None:
    review = token_of(LINKS.review_url("incident:payments:x", T0, "ana"))
    soon = datetime.now(UTC) + timedelta(hours=1)
    action = mint(
        LinkClaims(
            incident_id="incident:payments:x", triggered_at=T0, responder="ana", action="acknowledge",
            round=0, tier_name="frontline", phase=Phase.PRIMARY, expires=soon,
        ),
        SECRET,
    )  # fmt: skip
    responder = tokens.issue("ana", timedelta(hours=1), SECRET)

    with pytest.raises(LinkError, match="not valid"):
        read_link(review, SECRET)
    for token in (action, responder):
        with pytest.raises(LinkError, match="not valid"):
            read_review_link(token, SECRET)
    with pytest.raises(LinkError, match="not valid"):
        read_review_link(review, "another-secret-of-at-least-32-bytes-long")
    with pytest.raises(tokens.TokenError):
        tokens.responder_of(review, SECRET, ROSTER)


# --- escalate review's flags ---------------------------------------------------------------


def parsed(*flags: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    review_cli.add_review_parser(parser.add_subparsers(), over_api=False)
    return parser.parse_args(["review", "incident:payments:x", "--as", "ana", *flags])


def test_the_flags_make_the_submission_lists_repeatable() -> None:
    args = parsed(
        "--verdict", "partly", "--stop-at", "supervisor", "--prevention", "alert on lag", "add a replica",
        "--lesson", "runbooks work", "--follow-up", "OPS-1", "--follow-up", "OPS-2",
    )  # fmt: skip

    assert review_cli.submission(args) == ReviewSubmission(
        verdict=Verdict.PARTLY,
        stop_at="supervisor",
        prevention=["alert on lag", "add a replica"],
        lessons=["runbooks work"],
        follow_ups=["OPS-1", "OPS-2"],
    )


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--verdict", "necessary"], "give at least one --prevention, --lesson or --follow-up"),
        (["--verdict", "necessary", "--lesson", "ok", " "], "--lesson (item 2): String should have at least"),
        (["--verdict", "partly", "--stop-at", "Front Line", "--lesson", "ok"], "--stop-at: use lower-case"),
    ],
)
def test_bad_flags_are_named_with_the_fix(flags: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        review_cli.submission(parsed(*flags))


def test_an_unknown_verdict_is_refused_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parsed("--verdict", "wrong", "--lesson", "x")
    assert "--verdict: invalid choice: 'wrong'" in capsys.readouterr().err


def test_escalate_review_refuses_bad_flags_before_connecting(capsys: pytest.CaptureFixture[str]) -> None:
    code = run(["review", "incident:payments:x", "--as", "ana", "--verdict", "necessary"])

    assert code == 2
    assert "give at least one --prevention, --lesson or --follow-up" in capsys.readouterr().err


def test_escalate_record_says_where_the_review_stands() -> None:
    saved, _ = opened(record())
    assert saved.review is not None
    assert review_cli.summary(saved.review) == (
        "pending (owner ana, due 2025-03-15 09:40 UTC; 'escalate review' submits it)"
    )
    submission = LESSON.model_copy(update={"verdict": Verdict.PARTLY, "stop_at": "supervisor"})
    complete = saved.review.model_copy(
        update={"status": ReviewStatus.COMPLETE, "submitted_by": "ana", "submission": submission}
    )
    assert review_cli.summary(complete) == "complete by ana: partly, could have stopped at supervisor"
    assert review_cli.summary(Review(status=ReviewStatus.SKIPPED)) == "skipped"
