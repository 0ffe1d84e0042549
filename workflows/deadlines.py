"""Waiting inside a workflow until a deadline that may move while it is awaited."""

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
