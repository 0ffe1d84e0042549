"""An SMS reply acknowledges a climbing escalation: ``escalate up`` pages a Twilio-shaped server,
and the reply reaches the API's webhook signed as Twilio signs it."""

from __future__ import annotations

import asyncio
import shutil
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import httpx
import pytest
from twilio.request_validator import RequestValidator

from tests.e2e.conftest import start_product
from tests.receivers import TWILIO_ENV, TWILIO_SID, TWILIO_TOKEN, Receivers
from tests.support import EXAMPLE_CONFIG

pytestmark = pytest.mark.e2e

POLICY = """
name: e2e-sms
version: 1
tiers:
  - {name: frontline, primary: [ana], ack_timeout: 2s, channels: [sms]}
  - {name: supervisor, primary: [sofia], ack_timeout: 5m, channels: [sms]}
"""
ANA, SOFIA = "+15550100101", "+15550100201"


async def sms_to(receivers: Receivers, phone: str) -> str:
    """The first SMS the Twilio-shaped server took for ``phone`` (waits, bounded)."""
    deadline = time.monotonic() + 60
    while not (bodies := [m["Body"] for m in receivers.twilio.messages if m["To"] == phone]):
        assert time.monotonic() < deadline, f"no SMS to {phone}; got {receivers.twilio.messages}"
        await asyncio.sleep(0.2)
    return bodies[0]


async def test_an_sms_reply_acknowledges_a_climbing_escalation(
    tmp_path: Path, receivers: Receivers, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config"
    shutil.copytree(EXAMPLE_CONFIG, config)
    (config / "channels.yaml").write_text(receivers.channels_yaml())
    (config / "policies" / "e2e-sms.yaml").write_text(POLICY)
    for name, value in TWILIO_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("ESCALATION_PUBLIC_URL", raising=False)  # escalate up: the API's own address
    product = await asyncio.to_thread(start_product, tmp_path, tmp_path / "data")
    try:
        opened = await asyncio.to_thread(
            product.cli_json, "trigger", "--service", "payments", "--severity", "SEV2",
            "--title", "Checkout failing", "--policy", "e2e-sms",
        )  # fmt: skip
        incident_id = opened["incident_id"]
        assert (await sms_to(receivers, ANA)).endswith("Reply 1a to acknowledge, 1e to escalate")
        climbed = await sms_to(receivers, SOFIA)
        assert climbed.startswith("SEV2 payments: Checkout failing. Ack by ")
        assert climbed.endswith("Reply 1a to acknowledge, 1e to escalate")

        url = f"{product.api_url}/v1/twilio/sms"
        reply = {"MessageSid": "SM" + "1" * 32, "AccountSid": TWILIO_SID, "From": SOFIA,
                 "To": "+15550009999", "Body": "1A"}  # fmt: skip
        signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, reply)
        async with httpx.AsyncClient(timeout=60) as http:
            forged = await http.post(
                url, data=reply | {"Body": "1e"}, headers={"X-Twilio-Signature": signature}
            )
            answered = await http.post(url, data=reply, headers={"X-Twilio-Signature": signature})
        status = await asyncio.to_thread(product.cli_json, "status", incident_id)
    finally:
        assert await asyncio.to_thread(product.stop) == 0

    assert forged.status_code == 403, "a body other than the one signed is refused"
    assert answered.status_code == 200, answered.text
    said = ElementTree.fromstring(answered.text).findtext("Message")
    assert said == f"{incident_id} acknowledged by sofia (tier supervisor)"
    assert (status["status"], status["acknowledged_by"]) == ("acknowledged", "sofia")
    [acknowledged] = [e for e in status["timeline"] if e["kind"] == "acknowledged"]
    assert (acknowledged["actor"], acknowledged["via"]) == ("sofia", "sms")
    assert not [e for e in status["timeline"] if e["kind"] == "escalated" and e["actor"] == "sofia"]
