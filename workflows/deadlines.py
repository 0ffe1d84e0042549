"""Waiting inside a workflow: until a deadline that may move meanwhile, or until a fresh run is due."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from escalation.durations import MINIMUM


async def deadline_passed(
    unchanged: Callable[[], bool],
    deadline: Callable[[], datetime | None],
    interrupted: Callable[[], bool],
    summary: str,
) -> bool:
    """Wait while ``unchanged()`` holds; True once ``deadline()`` has passed.

    The deadline may move meanwhile (a severity change rescales it): the wait follows it, and
    with no deadline it waits for one. False when something else happened first, or when
    ``interrupted()`` (the history needs a fresh run).
    """
    while unchanged() and not interrupted():
        due = deadline()
        if due is None:
            await workflow.wait_condition(lambda: not unchanged() or deadline() is not None or interrupted())
            continue
        try:
            await workflow.wait_condition(
                lambda due=due: not unchanged() or deadline() != due or interrupted(),
                timeout=max(due - workflow.now(), MINIMUM),
                timeout_summary=summary,
            )
        except TimeoutError:
            return unchanged()
    return False


def history_is_long(limit: int) -> bool:
    """Time to continue as new: the server suggests it, or the history reached ``limit`` events."""
    info = workflow.info()
    return info.is_continue_as_new_suggested() or info.get_current_history_length() >= limit
