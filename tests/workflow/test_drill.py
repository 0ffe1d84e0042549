"""``escalate drill`` runs the real ladder in skipped time: what it reports is what the ladder's own
rules say, worked out here from the policy step by step, for several policies and severities."""

from __future__ import annotations

import dataclasses
import json
import shlex
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from temporalio.testing import WorkflowEnvironment

from escalation import ladder
from escalation.config import Config, load_config
from escalation.models import Channel, EscalationPolicy, Severity, schedule_name
from escalation.schedules import Schedule, on_call
from escalation.state import Status, Step
from starter.cli import run
from starter.drill import run_drill
from starter.drill_report import AckBy, DrillReport, DrillRequest, RowKind
from tests.support import EXAMPLE_CONFIG, REPO, policy

AT = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def config() -> Config:
    """The example configuration, with the tests' three-tier policy beside it (repeat 2, no severity
    rules)."""
    example = load_config(EXAMPLE_CONFIG)
    three_tiers = policy(repeat=2, name="three-tiers", severities={})  # SEV1 starts at the frontline too
    return dataclasses.replace(example, policies={**example.policies, three_tiers.name: three_tiers})


def expected_pages(
    policy: EscalationPolicy, severity: Severity, schedules: dict[str, Schedule], at: datetime = AT
) -> tuple[list[tuple[int, str, str, int, list[str]]], int]:
    """(offset, tier, phase, round, targets) of each page by the pure ladder rules, and when the
    ladder is exhausted: every step waits its scaled timeout and nobody answers. A ``schedule:<name>``
    target is read with ``on_call`` when its step is paged; a step with nobody on call pages nobody
    and takes no time."""
    pages, offset = [], timedelta(0)
    step: Step | None = ladder.first_step(policy, severity)
    while step is not None:
        people: list[str] = []
        for target in ladder.targets(policy, step):
            name = schedule_name(target)
            people += on_call(schedules[name], at + offset) if name else [target]
        if people:
            tier = policy.tiers[step.tier].name
            pages.append((int(offset.total_seconds()), tier, step.phase.value, step.round + 1, people))
            offset += ladder.wait_time(policy, severity, step)
        step = ladder.next_step(policy, severity, step)
    return pages, int(offset.total_seconds())


def drilled_pages(report: DrillReport) -> list[tuple[int, str, str, int, list[str]]]:
    return [
        (
            row.offset_seconds,
            row.tier,
            row.phase.value,
            row.round,
            [r for g in row.paged for r in g.responders],
        )
        for row in report.rows
        if row.kind is RowKind.PAGE
    ]


def drill(service: str, severity: Severity, **options: object) -> DrillRequest:
    return DrillRequest(service=service, severity=severity, at=AT, **options)


@pytest.mark.parametrize(
    ("service", "severity", "policy_name"),
    [
        ("checkout", Severity.SEV1, "support"),  # starts at supervisor, waits halved, one repeat
        ("checkout", Severity.SEV2, "support"),  # waits scaled by 0.75 (7m30s, 11m15s, 22m30s)
        ("checkout", Severity.SEV4, "support"),  # waits doubled: a ladder of hours
        ("demo", Severity.SEV3, "demo"),  # routed by its own route; second-scale steps
        ("checkout", Severity.SEV3, "three-tiers"),  # backup timeouts of its own, two repeats
    ],
)
async def test_unanswered_drill_follows_the_ladder_rules_until_exhausted(
    time_skipping_env: WorkflowEnvironment,
    config: Config,
    service: str,
    severity: Severity,
    policy_name: str,
) -> None:
    chosen = config.policies[policy_name]
    override = policy_name if policy_name == "three-tiers" else None
    report = await run_drill(config, drill(service, severity, policy=override), time_skipping_env)

    pages, exhausted_at = expected_pages(chosen, severity, config.schedules)
    assert report.policy == policy_name
    assert drilled_pages(report) == pages
    assert (report.end.status, report.end.offset_seconds) == (Status.EXHAUSTED, exhausted_at)
    assert report.rows[-1].kind is RowKind.EXHAUSTED


async def test_each_page_names_the_channels_contact_routing_chooses(
    time_skipping_env: WorkflowEnvironment, config: Config
) -> None:
    """ana's SEV1 rule adds e-mail, Slack and the webhook to her console; the demo tiers override
    everyone's channels."""
    own_rules = await run_drill(
        config, drill("checkout", Severity.SEV1, policy="three-tiers"), time_skipping_env
    )
    demo = await run_drill(config, drill("demo", Severity.SEV1), time_skipping_env)

    for report in (own_rules, demo):
        chosen = config.policies[report.policy]
        for row in (r for r in report.rows if r.kind is RowKind.PAGE):
            tier = next(t for t in chosen.tiers if t.name == row.tier)
            channels = {r: set(g.channels) for g in row.paged for r in g.responders}
            assert channels == {
                r: set(tier.channels or config.roster.channels_for(r, Severity.SEV1))
                for r in ladder.targets(
                    chosen, Step(round=row.round - 1, tier=chosen.tiers.index(tier), phase=row.phase)
                )
            }
            assert not row.unreachable
    first = own_rules.rows[0]
    assert [(g.responders, g.channels) for g in first.paged] == [
        (["ana"], [Channel.CONSOLE, Channel.EMAIL, Channel.SLACK, Channel.WEBHOOK])
    ]
    specialists = next(r for r in own_rules.rows if r.tier == "specialist")
    assert [(g.responders, g.channels) for g in specialists.paged] == [
        (["dba-kim", "net-lee"], [Channel.CONSOLE])
    ]
    everywhere = next(r for r in demo.rows if r.tier == "specialist")
    assert [(g.responders, g.channels) for g in everywhere.paged] == [
        (["dba-kim", "net-lee"], [Channel.CONSOLE, Channel.EMAIL, Channel.SLACK, Channel.WEBHOOK])
    ], "one group: the tier overrides both responders' channels"


async def test_acknowledgement_stops_the_ladder_after_the_step_due_at_its_second(
    time_skipping_env: WorkflowEnvironment, config: Config
) -> None:
    """SEV1 pages management at +25m; sofia's acknowledgement at +25m comes after that page."""
    request = drill("checkout", Severity.SEV1, ack_by=AckBy("sofia", timedelta(minutes=25)))

    report = await run_drill(config, request, time_skipping_env)

    pages, _ = expected_pages(config.policies["support"], Severity.SEV1, config.schedules)
    assert drilled_pages(report) == [page for page in pages if page[0] <= 25 * 60]
    assert drilled_pages(report)[-1][1:] == ("management", "primary", 1, ["mgr-mia"])
    last = report.rows[-1]
    assert (last.kind, last.responder, last.offset) == (RowKind.ACKNOWLEDGED, "sofia", "+25m")
    assert (report.end.status, report.end.responder, report.end.offset) == (
        Status.ACKNOWLEDGED,
        "sofia",
        "+25m",
    )


async def test_acknowledgement_between_steps_comes_at_its_own_time(
    time_skipping_env: WorkflowEnvironment, config: Config
) -> None:
    request = drill(
        "checkout", Severity.SEV3, policy="three-tiers", ack_by=AckBy("ben", timedelta(minutes=20))
    )

    report = await run_drill(config, request, time_skipping_env)

    assert drilled_pages(report) == [
        (0, "frontline", "primary", 1, ["ana"]),
        (15 * 60, "frontline", "backup", 1, ["ben"]),
    ]
    assert (report.end.status, report.end.responder, report.end.offset_seconds) == (
        Status.ACKNOWLEDGED,
        "ben",
        20 * 60,
    )


async def test_a_responder_whose_tier_was_not_reached_is_refused_and_the_ladder_goes_on(
    time_skipping_env: WorkflowEnvironment, config: Config
) -> None:
    request = drill("checkout", Severity.SEV1, ack_by=AckBy("mgr-mia", timedelta(minutes=10)))

    report = await run_drill(config, request, time_skipping_env)

    refused = [row for row in report.rows if row.kind is RowKind.REFUSED]
    assert [(row.responder, row.offset) for row in refused] == [("mgr-mia", "+10m")]
    assert "mgr-mia may not acknowledge" in refused[0].note
    pages, exhausted_at = expected_pages(config.policies["support"], Severity.SEV1, config.schedules)
    assert drilled_pages(report) == pages
    assert (report.end.status, report.end.offset_seconds) == (Status.EXHAUSTED, exhausted_at)


async def test_a_step_nobody_can_be_reached_on_moves_on_at_once(
    time_skipping_env: WorkflowEnvironment, config: Config
) -> None:
    """No Twilio in the example channels: an SMS-only tier cannot page anyone, and the real
    workflow moves on without waiting out the step."""
    sms_first = policy(name="sms-first", repeat=0)
    sms_first = sms_first.model_copy(
        update={
            "tiers": [sms_first.tiers[0].model_copy(update={"channels": [Channel.SMS]}), *sms_first.tiers[1:]]
        }
    )
    with_sms = dataclasses.replace(config, policies={**config.policies, "sms-first": sms_first})

    report = await run_drill(
        with_sms, drill("checkout", Severity.SEV3, policy="sms-first"), time_skipping_env
    )

    primary, backup, supervisor = report.rows[:3]
    for row, responder in ((primary, "ana"), (backup, "ben")):
        assert (row.tier, row.paged, row.offset_seconds) == ("frontline", [], 0)
        assert [(u.responder, u.channel) for u in row.unreachable] == [(responder, Channel.SMS)]
    assert (supervisor.tier, supervisor.paged[0].responders, supervisor.offset_seconds) == (
        "supervisor",
        ["sofia"],
        0,
    )


def readme_drills() -> list[tuple[list[str], str]]:
    """The commands of the README's Drills section, each with the output it shows."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Drills\n", 1)[1].split("\n## ", 1)[0]
    console = section.split("```console\n", 1)[1].split("```", 1)[0]
    samples = []
    for chunk in console.split("$ escalate ")[1:]:
        command, _, output = chunk.partition("\n")
        samples.append((shlex.split(command), output))
    return samples


def test_the_readmes_samples_are_the_real_output(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The first is support at SEV1, worked out by hand: supervisor first, every wait halved (5m,
    7m30s, 15m), then one more round; the README's times are the frontline schedule's
    (New York), whatever this machine's zone."""
    monkeypatch.setenv("ESCALATION_CONFIG", str(EXAMPLE_CONFIG))
    samples = readme_drills()
    assert len(samples) == 2

    for args, shown in samples:
        assert run(args) == 0
        assert capsys.readouterr().out == shown
    assert "+1h12m30s  Sat 04:12  specialist  backup   2      dba-raj via console" in samples[0][1]


def test_cli_json_has_the_same_rows(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ESCALATION_CONFIG", str(EXAMPLE_CONFIG))
    options = ["--service", "checkout", "--severity", "SEV1", "--at", "2026-11-28T03:00+00:00"]

    assert run(["drill", *options, "--ack-by", "sam@7m", "--json"]) == 0

    printed = json.loads(capsys.readouterr().out)
    assert [(row["offset"], row["kind"], row["tier"]) for row in printed["rows"]] == [
        ("+0m", "page", "supervisor"),
        ("+5m", "page", "supervisor"),
        ("+7m", "acknowledged", None),
    ]
    assert printed["rows"][1]["paged"] == [{"responders": ["sam"], "channels": ["console"]}]
    assert datetime.fromisoformat(printed["rows"][2]["at"]) == datetime(2026, 11, 28, 3, 7, tzinfo=UTC)
    assert printed["end"] == {
        "status": "acknowledged",
        "responder": "sam",
        "offset_seconds": 420,
        "offset": "+7m",
    }
    assert (printed["policy"], printed["chosen_by"]) == ("support", "the routing default")


FRIDAY_BEFORE_FIVE = datetime(2026, 11, 27, 16, 50, tzinfo=ZoneInfo("America/New_York"))
"""The example frontline schedule has ana until 17:00 (its business-hours layer), then ben (the
weekly layer): a hand-off 10 minutes into the ladder."""


def with_policy(config: Config, **fields: object) -> Config:
    chosen = EscalationPolicy.model_validate({"version": "1", "repeat": 1, **fields})
    return dataclasses.replace(config, policies={**config.policies, chosen.name: chosen})


async def test_schedules_resolve_at_the_simulated_time_with_a_hand_off_during_the_ladder(
    time_skipping_env: WorkflowEnvironment, config: Config
) -> None:
    frontline_first = with_policy(
        config,
        name="frontline-first",
        tiers=[
            {"name": "frontline", "primary": ["schedule:frontline"], "ack_timeout": "15m"},
            {"name": "supervisor", "primary": ["sofia"], "ack_timeout": "10m"},
        ],
    )
    request = DrillRequest(
        service="checkout", severity=Severity.SEV3, at=FRIDAY_BEFORE_FIVE, policy="frontline-first"
    )

    report = await run_drill(frontline_first, request, time_skipping_env)

    chosen = frontline_first.policies["frontline-first"]
    pages, exhausted_at = expected_pages(chosen, Severity.SEV3, frontline_first.schedules, FRIDAY_BEFORE_FIVE)
    assert drilled_pages(report) == pages
    assert [page[4] for page in pages if page[1] == "frontline"] == [["ana"], ["ben"]], "the hand-off"
    assert report.end.offset_seconds == exhausted_at
    frontline = [row for row in report.rows if row.tier == "frontline"]
    assert [row.on_call for row in frontline] == [{"frontline": ["ana"]}, {"frontline": ["ben"]}]
    assert [f"{row.at:%H:%M}" for row in frontline] == ["16:50", "17:15"]


async def test_a_step_with_nobody_on_call_is_skipped_at_once(
    time_skipping_env: WorkflowEnvironment, config: Config
) -> None:
    office = Schedule.model_validate(
        {
            "name": "office",
            "time_zone": "America/New_York",
            "layers": [
                {
                    "participants": ["ben"],
                    "shift_length": "1w",
                    "first_handoff": "2026-11-02T09:00",
                    "restrictions": {
                        "weekdays": ["mon", "tue", "wed", "thu", "fri"],
                        "start": "09:00",
                        "end": "17:00",
                    },
                }
            ],
        }
    )
    office_hours = with_policy(
        dataclasses.replace(config, schedules={**config.schedules, "office": office}),
        name="office-first",
        tiers=[
            {"name": "office", "primary": ["schedule:office"], "ack_timeout": "15m"},
            {"name": "supervisor", "primary": ["sofia"], "ack_timeout": "10m"},
        ],
    )
    request = DrillRequest(
        service="checkout", severity=Severity.SEV3, at=FRIDAY_BEFORE_FIVE, policy="office-first"
    )

    report = await run_drill(office_hours, request, time_skipping_env)

    pages, exhausted_at = expected_pages(
        office_hours.policies["office-first"], Severity.SEV3, office_hours.schedules, FRIDAY_BEFORE_FIVE
    )
    assert drilled_pages(report) == pages
    assert [(p[0], p[1]) for p in pages] == [(0, "office"), (15 * 60, "supervisor"), (25 * 60, "supervisor")]
    skipped = [row for row in report.rows if row.kind is RowKind.SKIPPED]
    assert [(row.offset, row.tier) for row in skipped] == [("+25m", "office")]
    assert "schedule:office: nobody on call" in skipped[0].note
    assert report.end.offset_seconds == exhausted_at == 35 * 60


async def test_whom_a_schedule_had_on_call_may_acknowledge_and_nobody_else_on_it(
    time_skipping_env: WorkflowEnvironment, config: Config
) -> None:
    """Friday 22:00 in New York: the example frontline schedule has ben (his week), not ana."""
    assert on_call(config.schedules["frontline"], AT) == ["ben"]
    ben = await run_drill(
        config, drill("checkout", Severity.SEV3, ack_by=AckBy("ben", timedelta(minutes=5))), time_skipping_env
    )
    ana = await run_drill(
        config, drill("checkout", Severity.SEV3, ack_by=AckBy("ana", timedelta(minutes=5))), time_skipping_env
    )

    assert (ben.end.status, ben.end.responder, ben.end.offset) == (Status.ACKNOWLEDGED, "ben", "+5m")
    assert ben.rows[0].on_call == {"frontline": ["ben"]}
    refused = [row for row in ana.rows if row.kind is RowKind.REFUSED]
    assert [(row.responder, row.offset) for row in refused] == [("ana", "+5m")]
    assert ana.end.status is Status.EXHAUSTED
