"""Property: an unanswered escalation climbs every step of any valid ladder exactly once."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from escalation import ladder
from escalation.models import EscalationPolicy, Severity
from escalation.state import EventKind, Phase, Status, Step
from tests.support import incident, start_input

T0 = datetime(2025, 3, 1, tzinfo=UTC)
PEOPLE = [f"person-{n}" for n in range(8)]
SEVERITIES = list(Severity)


@st.composite
def policies(draw: st.DrawFn) -> EscalationPolicy:
    tier_count = draw(st.integers(min_value=1, max_value=5))
    names = [f"tier-{t}" for t in range(tier_count)]
    people = st.lists(st.sampled_from(PEOPLE), min_size=1, max_size=3, unique=True)
    tiers = [
        {
            "name": name,
            "primary": draw(people),
            "backup": draw(st.one_of(st.just([]), people)),
            "ack_timeout": f"{draw(st.integers(min_value=1, max_value=120))}m",
        }
        for name in names
    ]
    rules = draw(
        st.dictionaries(
            st.sampled_from(SEVERITIES),
            st.fixed_dictionaries(
                {},
                optional={
                    "start_tier": st.sampled_from(names),
                    "timeout_scale": st.sampled_from([0.25, 0.5, 1.0, 2.0]),
                },
            ),
        )
    )
    return EscalationPolicy.model_validate(
        {
            "name": "generated",
            "version": "1",
            "tiers": tiers,
            "repeat": draw(st.integers(min_value=0, max_value=3)),
            "severities": {s.value: rule for s, rule in rules.items()},
        }
    )


def expected_steps(policy: EscalationPolicy, severity: Severity) -> list[Step]:
    start = ladder.start_tier(policy, severity)
    steps = []
    for round_ in range(policy.repeat + 1):
        for t in range(start, len(policy.tiers)):
            steps.append(Step(round=round_, tier=t, phase=Phase.PRIMARY))
            if policy.tiers[t].backup:
                steps.append(Step(round=round_, tier=t, phase=Phase.BACKUP))
    return steps


@settings(max_examples=300)
@given(policies(), st.sampled_from(SEVERITIES))
def test_unanswered_ladder_visits_every_step_once_then_exhausts(
    policy: EscalationPolicy, severity: Severity
) -> None:
    state = ladder.begin(start_input(policy, incident(severity)), T0)
    expected = expected_steps(policy, severity)
    allowed = policy.responders()

    visited = [state.step]
    now = T0
    while state.status is Status.TRIGGERED:
        assert len(visited) <= len(expected), "the ladder did not stop"
        assert set(ladder.targets(policy, state.step)) <= allowed
        now += ladder.wait_time(policy, severity, state.step)
        ladder.time_out(state, policy, now)
        if state.status is Status.TRIGGERED:
            visited.append(state.step)

    assert state.status is Status.EXHAUSTED
    assert visited == expected
    primaries = Counter((s.round, s.tier) for s in visited if s.phase is Phase.PRIMARY)
    start = ladder.start_tier(policy, severity)
    assert set(primaries) == {
        (r, t) for r in range(policy.repeat + 1) for t in range(start, len(policy.tiers))
    }
    assert set(primaries.values()) == {1}
    for before, after in pairwise(visited):
        if before.phase is Phase.PRIMARY and policy.tiers[before.tier].backup:
            assert after == Step(round=before.round, tier=before.tier, phase=Phase.BACKUP)

    kinds = Counter(event.kind for event in state.timeline)
    assert kinds[EventKind.ACK_TIMEOUT] == len(expected)
    assert kinds[EventKind.ESCALATED] == len(expected) - 1
    assert kinds[EventKind.EXHAUSTED] == 1
    assert state.timeline[-1].kind is EventKind.EXHAUSTED
    paged = {target for event in state.timeline for target in event.targets}
    assert paged <= allowed


@given(policies(), st.sampled_from(SEVERITIES))
def test_wait_time_is_scaled_and_at_least_one_second(policy: EscalationPolicy, severity: Severity) -> None:
    scale = policy.rule(severity).timeout_scale
    for step in expected_steps(policy, severity):
        tier = policy.tiers[step.tier]
        base = tier.ack_timeout if step.phase is Phase.PRIMARY else tier.effective_backup_timeout
        wait = ladder.wait_time(policy, severity, step)
        assert wait >= timedelta(seconds=1)
        assert abs(wait.total_seconds() - max(base.total_seconds() * scale, 1)) <= 0.5
