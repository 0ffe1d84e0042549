"""Every responder action is reachable the same way: a validated update and a signal of its name."""

from __future__ import annotations

import typing

import pytest
from temporalio.workflow import _Definition

from escalation import actions
from escalation.actions import Action
from workflows.escalation import EscalationWorkflow

DEFINITION = _Definition.must_from_class(EscalationWorkflow)


@pytest.mark.parametrize("action", actions.ALL, ids=lambda a: a.name)
def test_action_is_an_update_with_a_validator_and_a_signal(action: Action) -> None:
    update = DEFINITION.updates[action.name]
    assert update.validator is not None, f"{action.name} update has no validator"
    assert action.name in DEFINITION.signals
    assert typing.get_type_hints(update.fn)["request"] is action.request
    assert typing.get_type_hints(DEFINITION.signals[action.name].fn)["request"] is action.request
