from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from starter.connection import ensure_search_attributes
from tests.receivers import Receivers, start_receivers
from tests.support import (
    DEMO_ALERTS_KEY,
    DEMO_ALERTS_KEY_ENV,
    DEMO_WEBHOOK_SECRET,
    DEMO_WEBHOOK_SECRET_ENV,
    binary,
)

# The example configuration signs its demo webhook with a secret from the environment, as a
# real deployment would; workers, receivers and CLIs started by the tests all use this one.
os.environ[DEMO_WEBHOOK_SECRET_ENV] = DEMO_WEBHOOK_SECRET
os.environ[DEMO_ALERTS_KEY_ENV] = DEMO_ALERTS_KEY


@asynccontextmanager
async def time_skipping_server() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping test server with the escalation search attributes registered."""
    async with await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary("temporal-test-server"),
        data_converter=pydantic_data_converter,
    ) as env:
        await ensure_search_attributes(env.client)
        yield env


@pytest.fixture(scope="module")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping test server per test module; a 15-minute timeout takes milliseconds.

    Per module, not per session: after many escalations acted on and terminated, the test
    server can stop skipping time, and one module must not stall the clock of the next."""
    async with time_skipping_server() as env:
        yield env


@pytest.fixture
async def receivers() -> AsyncIterator[Receivers]:
    """Local SMTP, webhook/Slack and Twilio-shaped servers on loopback, stopped after the test."""
    running, stop = await start_receivers()
    yield running
    await stop()
