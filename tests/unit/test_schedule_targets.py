"""``schedule:<name>`` tier targets: validated against the schedules, resolved, and who may then act."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from activities.targets import resolve
from escalation import ladder
from escalation.actions import AcknowledgeRequest, ReassignRequest
from escalation.config import load_config
from escalation.models import EscalationPolicy
from escalation.permissions import acknowledge_refusal, may_acknowledge, reassign_refusal
from escalation.schedules import Schedule
from escalation.state import EscalationState, EventKind, ResolvedTargets, Status
from tests.support import start_input
from tests.unit.test_config import SUPPORT, edit, the_problem

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # a Monday
ROTA = Schedule.model_validate(
    {
        "name": "rota",
        "time_zone": "UTC",
        "layers": [
            {"participants": ["ana", "ben"], "shift_length": "1d", "first_handoff": "2026-11-30T09:00"}
        ],
    }
)
POLICY = EscalationPolicy.model_validate(
    {
        "name": "rota",
        "version": "1",
        "tiers": [
            {"name": "first", "primary": ["schedule:rota", "sam"], "ack_timeout": "10m"},
            {"name": "second", "primary": ["sofia"], "ack_timeout": "10m"},
        ],
    }
)


def test_resolve_keeps_the_tier_order_names_each_person_once_and_says_what_is_missing() -> None:
    resolved = resolve(["sam", "schedule:rota", "ana", "schedule:gone"], {"rota": ROTA}, T0)

    assert resolved.responders == ["sam", "ana"]
    assert resolved.schedules == {"rota": ["ana"], "gone": []}
    assert resolved.problem == "no schedule gone in the worker's configuration"
    assert resolve(["schedule:rota"], {"rota": ROTA}, T0 + timedelta(days=1)).responders == ["ben"]


def test_policy_responders_are_its_ids_and_its_schedules_are_named_apart() -> None:
    assert (POLICY.responders(), POLICY.schedules()) == ({"sam", "sofia"}, {"rota"})


def test_a_schedule_target_must_name_a_schedule(config_dir: Path) -> None:
    edit(config_dir, SUPPORT, '"schedule:frontline"', '"schedule:nightly"')
    message = the_problem(config_dir, SUPPORT, "tiers[0].primary[0]")
    assert message.endswith(
        "'schedule:nightly' names no schedule in schedules/ (found: frontline); "
        "add schedules/nightly.yaml or fix the name"
    )


def test_a_malformed_target_says_what_to_write(config_dir: Path) -> None:
    edit(config_dir, SUPPORT, '"schedule:frontline"', '"schedule: Front"')
    message = the_problem(config_dir, SUPPORT, "tiers[0].primary[0]")
    assert "use a responder id or 'schedule:<name>' (for example 'schedule:frontline')" in message


def test_a_tiers_channels_must_suit_everyone_its_schedules_can_put_on_call(config_dir: Path) -> None:
    edit(config_dir, SUPPORT, "ack_timeout: 15m", "ack_timeout: 15m\n    channels: [email]")
    edit(config_dir, "roster.yaml", "email: sam@example.com, ", "")  # sam covers a frontline holiday
    assert "email" in the_problem(config_dir, SUPPORT, "tiers[0].channels: sam:")


def test_the_example_support_policy_pages_the_frontline_schedule(config_dir: Path) -> None:
    assert load_config(config_dir).policies["support"].tiers[0].primary == ["schedule:frontline"]


def paged(people: list[str]) -> EscalationState:
    state = ladder.begin(start_input(POLICY), T0)
    resolved = ResolvedTargets(responders=[*people, "sam"], schedules={"rota": people}, at=T0)
    assert ladder.record_on_call(state, POLICY, resolved, T0) == [*people, "sam"]
    return state


def test_whom_a_schedule_resolved_to_may_acknowledge_and_take_a_handover() -> None:
    state = paged(["ana"])

    assert may_acknowledge(state, POLICY) == ["sam", "ana"]
    assert acknowledge_refusal(state, POLICY, AcknowledgeRequest(responder="ana")) is None
    assert acknowledge_refusal(state, POLICY, AcknowledgeRequest(responder="ben")) == (
        "responder 'ben' is not a target of policy 'rota' nor on call for a step it paged; "
        "act as one of: ana, sam, sofia"
    )
    ladder.acknowledge(state, POLICY, AcknowledgeRequest(responder="sam"), T0)
    assert reassign_refusal(state, POLICY, ReassignRequest(responder="sam", to="ana")) is None


def test_the_timeline_says_whom_each_schedule_resolved_to() -> None:
    state = paged(["ana"])
    on_call = state.timeline[-1]
    assert (on_call.kind, on_call.tier_name, on_call.targets) == (EventKind.ON_CALL, "first", ["ana"])
    assert on_call.note == "schedule:rota: ana at 2026-11-30 12:00 UTC"
    assert ladder.current_targets(POLICY, state) == ["ana", "sam"]


def test_an_empty_step_moves_on_at_once_and_an_empty_ladder_is_exhausted() -> None:
    p = EscalationPolicy.model_validate(
        {
            "name": "rota",
            "version": "1",
            "tiers": [{"name": "only", "primary": ["schedule:rota"], "ack_timeout": "1h"}],
        }
    )
    state = ladder.begin(start_input(p), T0)
    empty = ResolvedTargets(responders=[], schedules={"rota": []}, at=T0)

    assert ladder.record_on_call(state, p, empty, T0) == []

    skipped = state.timeline[-2]
    assert (skipped.kind, skipped.note) == (
        EventKind.SKIPPED,
        "nobody to page: schedule:rota: nobody on call at 2026-11-30 12:00 UTC; skipped at once",
    )
    assert (state.status, state.timeline[-1].kind) == (Status.EXHAUSTED, EventKind.EXHAUSTED)
    assert state.is_open
