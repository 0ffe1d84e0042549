"""Saved histories must replay on the current workflow code: running escalations survive deploys."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.escalation import EscalationWorkflow
from workflows.reply_codes import ReplyCodesWorkflow
from workflows.review import ReviewWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_histories_are_saved() -> None:
    assert len(HISTORIES) >= 2, "run: python -m tests.replay.capture"


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_history_replays_without_nondeterminism(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    replayer = Replayer(
        workflows=[EscalationWorkflow, ReplyCodesWorkflow, ReviewWorkflow],
        data_converter=pydantic_data_converter,
    )
    await replayer.replay_workflow(history)
