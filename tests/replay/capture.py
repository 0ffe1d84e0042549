"""Record the histories the replay tests check, from the current workflow code.

    python -m tests.replay.capture

Run it only when a history from a new code path is wanted; histories already saved must
keep replaying after every change to the workflow (guard changes with workflow.patched).
"""

from __future__ import annotations

import asyncio
import tempfile
from datetime import timedelta
from pathlib import Path

from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from escalation.config import load_config
from escalation.connection import ensure_search_attributes
from escalation.records import RecordStore
from escalation.state import AcknowledgeRequest, ResolveRequest
from tests.support import EXAMPLE_CONFIG, binary, policy, start_input
from worker import build_worker
from workflows.escalation import EscalationWorkflow

HISTORIES = Path(__file__).parent / "histories"
QUEUE = "replay-capture"


async def _climb_exhaust_ack_resolve(env: WorkflowEnvironment, client: Client) -> WorkflowHandle:
    handle = await client.start_workflow(EscalationWorkflow.run, start_input(policy(repeat=1)),
                                         id="incident-replay-climb", task_queue=QUEUE)  # fmt: skip
    await env.sleep(timedelta(hours=4))
    await handle.execute_update(EscalationWorkflow.acknowledge, AcknowledgeRequest(responder="sam"))
    await handle.execute_update(EscalationWorkflow.resolve, ResolveRequest(responder="sam", summary="done"))
    return handle


async def _resolve_deadline_then_signals(env: WorkflowEnvironment, client: Client) -> WorkflowHandle:
    handle = await client.start_workflow(EscalationWorkflow.run, start_input(policy(resolve_deadline="1h")),
                                         id="incident-replay-deadline", task_queue=QUEUE)  # fmt: skip
    await handle.execute_update(EscalationWorkflow.acknowledge, AcknowledgeRequest(responder="ana"))
    await env.sleep(timedelta(minutes=70))
    await handle.signal(EscalationWorkflow.acknowledge_signal, AcknowledgeRequest(responder="sofia"))
    await handle.signal(EscalationWorkflow.resolve_signal, ResolveRequest(responder="sofia", summary="ok"))
    return handle


SCENARIOS = {"climb_exhaust_ack_resolve": _climb_exhaust_ack_resolve,
             "resolve_deadline_then_signals": _resolve_deadline_then_signals}  # fmt: skip


async def main() -> None:
    HISTORIES.mkdir(exist_ok=True)
    async with await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary("temporal-test-server"), data_converter=pydantic_data_converter
    ) as env:
        await ensure_search_attributes(env.client)
        with tempfile.TemporaryDirectory() as tmp:
            store = RecordStore(Path(tmp) / "records.db")
            async with build_worker(env.client, QUEUE, load_config(EXAMPLE_CONFIG), store):
                for name, scenario in SCENARIOS.items():
                    handle = await scenario(env, env.client)
                    await handle.result()
                    history = await handle.fetch_history()
                    (HISTORIES / f"{name}.json").write_text(history.to_json())
                    print(f"saved {name}: {len(history.events)} events")


if __name__ == "__main__":
    asyncio.run(main())
