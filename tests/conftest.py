from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from temporalio.testing import WorkflowEnvironment

from starter.drill import time_skipping_server
from tests.receivers import Receivers, start_receivers
from tests.support import (
    DEMO_ALERTS_KEY,
    DEMO_ALERTS_KEY_ENV,
    DEMO_WEBHOOK_SECRET,
    DEMO_WEBHOOK_SECRET_ENV,
)

# The example configuration signs its demo webhook with a secret from the environment, as a
# real deployment would; workers, receivers and CLIs started by the tests all use this one.
os.environ[DEMO_WEBHOOK_SECRET_ENV] = DEMO_WEBHOOK_SECRET
os.environ[DEMO_ALERTS_KEY_ENV] = DEMO_ALERTS_KEY


@pytest.fixture(scope="module")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping test server per test module (as ``escalate drill`` starts one, search
    attributes registered); a 15-minute timeout takes milliseconds.

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
