"""The shipped demo, as a user runs it: ``escalate up`` and ``escalate inbox``, then an incident climbs."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.e2e.conftest import Product, pages_of, start_product
from tests.ports import free_port
from tests.support import EXAMPLE_CONFIG, binary

pytestmark = pytest.mark.e2e


def start_inbox(config: Path, output: Path) -> subprocess.Popen[bytes]:
    smtp, http = free_port(), free_port()
    channels = config / "channels.yaml"
    text = (
        channels.read_text()
        .replace("port: 1025", f"port: {smtp}")
        .replace("127.0.0.1:8787", f"127.0.0.1:{http}")
    )
    channels.write_text(text)
    with output.open("wb") as sink:
        inbox = subprocess.Popen(
            [binary("escalate"), "inbox", "--smtp-port", str(smtp), "--http-port", str(http)],
            env={**os.environ, "ESCALATION_CONFIG": str(config)}, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    deadline = time.monotonic() + 30
    while "inbox: SMTP on" not in output.read_text():
        assert inbox.poll() is None and time.monotonic() < deadline, output.read_text()
        time.sleep(0.1)
    return inbox


@contextmanager
def demo_with_inbox(tmp_path: Path) -> Iterator[tuple[Product, Path]]:
    """The shipped configuration run by ``escalate up`` beside ``escalate inbox``; yields the product
    and the inbox's output file, and stops both (the product must stop cleanly)."""
    config = tmp_path / "config"
    shutil.copytree(EXAMPLE_CONFIG, config)
    caught = tmp_path / "inbox.log"
    inbox = start_inbox(config, caught)
    product = start_product(tmp_path, tmp_path / "data")
    try:
        yield product, caught
    finally:
        assert product.stop() == 0
        inbox.terminate()
        inbox.wait(timeout=30)


def open_demo_incident(product: Product) -> str:
    opened = product.cli_json("trigger", "--service", "demo", "--severity", "SEV2", "--title", "Disk full")
    return opened["incident_id"]


def test_the_demo_pages_the_local_mail_catcher_and_webhook_receiver_as_it_climbs(tmp_path: Path) -> None:
    with demo_with_inbox(tmp_path) as (product, caught):
        incident_id = open_demo_incident(product)
        status = product.until_status(incident_id, lambda s: {"sofia"} <= reached_by_email(s))
        lines = caught.read_text().splitlines()

    assert status["policy"]["name"] == "demo"
    for who in ("Ana Frontline <ana@example.com>", "Ben Frontline <ben@example.com>",
                "Sofia Supervisor <sofia@example.com>"):  # fmt: skip
        assert any(line.startswith(f"email to {who}: [SEV2] demo: Disk full") for line in lines), lines
    webhooks = [
        line for line in lines if line.startswith("webhook ops-bridge (signature ok): SEV2 Disk full")
    ]
    assert [line.rsplit("-> ", 1)[1] for line in webhooks][:3] == [
        "tier frontline: ana",
        "tier frontline: ben",
        "tier supervisor: sofia",
    ]
    assert sum(line.startswith("slack #team-room: SEV2 demo: Disk full") for line in lines) >= 3
    channels = {(tier, channel) for tier, _, channel in pages_of(status)}
    assert {("frontline", c) for c in ("console", "email", "slack", "webhook")} <= channels
    assert not [e for e in status["timeline"] if e["kind"] == "notify_failed"], "every channel delivered"


def reached_by_email(status: dict) -> set[str]:
    return {who for _, targets, channel in pages_of(status) if channel == "email" for who in targets}
