"""Who gets which message: notification rules, tier overrides, shared endpoints."""

from __future__ import annotations

from activities.contact_routing import Send, plan
from escalation.config import Config, load_config
from escalation.models import Channel, Severity
from tests.support import EXAMPLE_CONFIG

EXAMPLE: Config = load_config(EXAMPLE_CONFIG)
C, E, SL, W = Channel.CONSOLE, Channel.EMAIL, Channel.SLACK, Channel.WEBHOOK


def routed(targets: list[str], severity: Severity, override: list[Channel] | None = None):
    return plan(EXAMPLE.roster, EXAMPLE.channels, targets, severity, override)


def test_each_responder_is_paged_by_their_rule_for_the_severity() -> None:
    sends, refused = routed(["ana", "ben"], Severity.SEV1)
    assert refused == []
    assert sends == [
        Send(C, "ana", ("ana",)), Send(E, "ana", ("ana",)), Send(SL, "team-room", ("ana",)),
        Send(W, "ops-bridge", ("ana",)), Send(C, "ben", ("ben",)),
    ]  # fmt: skip


def test_without_a_rule_for_the_severity_the_roster_default_applies() -> None:
    sends, _ = routed(["ana"], Severity.SEV3)
    assert sends == [Send(C, "ana", ("ana",))]


def test_a_tier_override_wins_and_shared_endpoints_get_one_message_for_all_targets() -> None:
    sends, refused = routed(["ana", "ben", "sofia"], Severity.SEV4, [E, W])
    assert refused == []
    assert sends == [
        Send(E, "ana", ("ana",)), Send(W, "ops-bridge", ("ana", "ben", "sofia")),
        Send(E, "ben", ("ben",)), Send(E, "sofia", ("sofia",)),
    ]  # fmt: skip


def test_a_target_paged_twice_in_one_step_gets_one_message() -> None:
    sends, _ = routed(["ana", "ana"], Severity.SEV2, [E])
    assert sends == [Send(E, "ana", ("ana",))]


def test_what_cannot_be_sent_is_refused_with_the_fix() -> None:
    sends, refused = routed(["ghost", "ana"], Severity.SEV2, [Channel.SMS, E])
    assert sends == [Send(E, "ana", ("ana",))]
    assert [(d.responder, d.channel, d.delivered) for d in refused] == [
        ("ghost", None, False), ("ana", Channel.SMS, False),
    ]  # fmt: skip
    assert refused[0].detail == "not in the worker's roster; add them to roster.yaml"
    assert refused[1].detail == "sms is not set up; add a twilio: section to channels.yaml"


def test_message_keys_extend_the_step_key_with_channel_and_destination_only() -> None:
    send = Send(W, "ops-bridge", ("ana", "ben"))
    assert (
        send.key("incident:a:b/run/r0/t1/primary/p3")
        == "incident:a:b/run/r0/t1/primary/p3/webhook/ops-bridge"
    )
