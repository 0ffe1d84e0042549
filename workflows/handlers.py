"""Registers every action of the table on the running workflow: a validated update and a signal.

Both carry the action's name, so saved histories and ``temporal workflow signal --name``
keep working. A refused update is rejected by its validator and never enters history; a
refused signal is logged and ignored.
"""

from __future__ import annotations

from collections.abc import Callable

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from escalation.actions import ACTIONS, Action, ActionRequest
    from escalation.state import ActionResult

Refusal = Callable[[Action, ActionRequest], str | None]
Apply = Callable[[Action, ActionRequest], ActionResult]


def register_actions(refusal: Refusal, apply: Apply) -> None:
    """Call from ``@workflow.init``, so the first workflow task already has every handler."""
    for action in ACTIONS:
        workflow.set_update_handler(
            action.name, _update(action, apply), validator=_validator(action, refusal)
        )
        workflow.set_signal_handler(action.name, _signal(action, refusal, apply))


def _typed(handler: Callable, action: Action, returns: type | None) -> Callable:
    """The SDK decodes a handler's payload by its annotations: the action's own request model."""
    handler.__annotations__ = {"request": action.request, "return": returns}
    return handler


def _validator(action: Action, refusal: Refusal) -> Callable[[ActionRequest], None]:
    def validate(request: ActionRequest) -> None:
        if reason := refusal(action, request):
            raise ValueError(reason)

    return _typed(validate, action, None)


def _update(action: Action, apply: Apply) -> Callable[[ActionRequest], ActionResult]:
    return _typed(lambda request: apply(action, request), action, ActionResult)


def _signal(action: Action, refusal: Refusal, apply: Apply) -> Callable[[ActionRequest], None]:
    def apply_unless_refused(request: ActionRequest) -> None:
        if reason := refusal(action, request):
            workflow.logger.warning("%s signal ignored: %s", action.name, reason)
        else:
            apply(action, request)

    return _typed(apply_unless_refused, action, None)
