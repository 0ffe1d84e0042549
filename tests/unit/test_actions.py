"""The CLI builds one subcommand per action of the table, and its arguments make the action's request."""

from __future__ import annotations

import pytest

from escalation.actions import ACTIONS, BY_NAME, Action
from starter.cli import build_parser
from tests.action_samples import SAMPLES


def test_every_action_has_a_sample() -> None:
    assert set(SAMPLES) == set(BY_NAME)


def _argv(action: Action, request: dict[str, object]) -> list[str]:
    """What a person types: the command, the incident, positional fields, then flags."""
    argv = [action.command, "incident:demo:disk"]
    argv += [str(request[name]) for name in action.positional]
    for name, value in request.items():
        if name == "responder":
            argv += ["--as", str(value)]
        elif name not in action.positional:
            argv += [f"--{name.replace('_', '-')}", str(value)]
    return argv


@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: a.name)
def test_the_cli_parses_each_action_into_its_request(action: Action) -> None:
    sample = SAMPLES[action.name].request
    args = build_parser().parse_args(_argv(action, sample))
    parsed = {
        name: getattr(args, name) for name in ("responder", *action.inputs) if getattr(args, name) is not None
    }
    assert action.request.model_validate(parsed) == action.request.model_validate(sample)
    assert args.incident_id == "incident:demo:disk"


@pytest.mark.parametrize("action", [a for a in ACTIONS if any(i.is_required() for i in a.inputs.values())])
def test_the_cli_refuses_an_action_without_its_required_fields(action: Action, capsys) -> None:
    with pytest.raises(SystemExit) as exit:
        build_parser().parse_args([action.command, "incident:demo:disk", "--as", "ana"])
    assert exit.value.code == 2
    assert "required" in capsys.readouterr().err
