"""Skipping time on the test server, also when a lock on its clock was left behind."""

from __future__ import annotations

from datetime import timedelta

from temporalio.api.testservice.v1 import LockTimeSkippingRequest
from temporalio.testing import WorkflowEnvironment

from starter.drill import skip_time


async def test_skips_the_time_asked(time_skipping_env: WorkflowEnvironment) -> None:
    before = await time_skipping_env.get_current_time()
    await skip_time(time_skipping_env, timedelta(hours=3))
    assert await time_skipping_env.get_current_time() - before >= timedelta(hours=3)


async def test_a_lock_left_behind_on_the_clock_is_released(time_skipping_env: WorkflowEnvironment) -> None:
    """As the test server has been seen to do under load: an extra lock, nothing pending."""
    await time_skipping_env.client.test_service.lock_time_skipping(LockTimeSkippingRequest())
    before = await time_skipping_env.get_current_time()

    await skip_time(time_skipping_env, timedelta(hours=3))

    assert await time_skipping_env.get_current_time() - before >= timedelta(hours=3)
    await skip_time(time_skipping_env, timedelta(days=1))  # skipping again is immediate
