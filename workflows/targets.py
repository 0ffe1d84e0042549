"""Reading a step's schedules when it is paged: the ``resolve_targets`` activity, bounded.

Only a step with ``schedule:<name>`` targets calls it; fixed responder ids never leave the
workflow, so a policy without schedules runs exactly the commands it always did.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from escalation.models import schedule_name
    from escalation.state import RESOLVE_TARGETS_ACTIVITY, ResolvedTargets, TargetsRequest

RESOLVE_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=5))


async def resolve_targets(targets: list[str], budget: timedelta) -> ResolvedTargets:
    """Whom ``targets`` page now, as the worker's schedules stand at the workflow's time.

    Within ``budget`` (the page's own bound, so the step's wait is never stalled); if the
    schedules cannot be read by then, the step pages its fixed ids only and says why.
    """
    now = workflow.now()
    try:
        return await workflow.execute_activity(
            RESOLVE_TARGETS_ACTIVITY,
            TargetsRequest(targets=targets, at=now),
            result_type=ResolvedTargets,
            schedule_to_close_timeout=budget,
            retry_policy=RESOLVE_RETRY,
            summary=f"who is on call: {', '.join(t for t in targets if schedule_name(t))}",
        )
    except ActivityError as error:
        fixed = [target for target in targets if schedule_name(target) is None]
        unread = {name: [] for target in targets if (name := schedule_name(target))}
        problem = f"schedules could not be read: {error.cause or error}"
        return ResolvedTargets(responders=fixed, schedules=unread, at=now, problem=problem)
