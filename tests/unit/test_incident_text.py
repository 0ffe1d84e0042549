"""Incident text is untrusted: it is normalised or refused at the boundary and escaped per medium."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ElementTree
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from twilio.twiml.voice_response import VoiceResponse

from activities.channels.base import Message
from activities.channels.slack import SlackSender
from activities.channels.twilio import TwilioSender
from activities.contact_routing import Send
from activities.pages import Page, PageTemplateError, PageTemplates, Recipient
from escalation import ladder
from escalation.actions import AcknowledgeRequest
from escalation.channel_settings import TwilioSettings
from escalation.config import load_config
from escalation.models import Channel, Incident, Severity
from escalation.reports import current_details, report_markdown
from escalation.text import BACKTICK_LOOKALIKE, for_terminal, header_value, xml_chars
from starter.cli import run
from starter.inbox import Caught, page_line
from tests.support import EXAMPLE_CONFIG, incident, start_input

TEMPLATES = PageTemplates(EXAMPLE_CONFIG / "templates")
ESCAPE = "\x1b"


def page(hostile: Incident, key: str = "k") -> Page:
    return Page.build(
        incident_id=f"incident:payments:{hostile.dedup_key}", incident=hostile, severity=Severity.SEV1,
        tier="frontline", phase="primary", round=1, deadline=datetime(2026, 11, 25, 3, 15, tzinfo=UTC),
        recipients=[Recipient(id="ana", name="Ana Frontline")], web_ui_url="http://ui/x", idempotency_key=key,
    )  # fmt: skip


@pytest.mark.parametrize("separator", ["\n", "\r\n", "\u2028", "\u2029", "\x0b", "\x0c", "\x85", "\t"])
def test_titles_become_one_line_whatever_breaks_them(separator: str) -> None:
    assert incident(title=f" Disk full{separator}{separator}on db-1 ").title == "Disk full on db-1"


def test_one_line_fields_drop_control_characters_and_bidi_overrides() -> None:
    hostile = incident(title="a\x1b[2Jb\x00c\u202egnp.exe", source="cron\x07job",
                       report={"where": "eu-west-1\nrack 4", "reporter": "bot\x7f"})  # fmt: skip
    assert hostile.title == "a[2Jbcgnp.exe"
    assert (hostile.source, hostile.report.where, hostile.report.reporter) == (
        "cronjob",
        "eu-west-1 rack 4",
        "bot",
    )


def test_multi_line_fields_keep_their_line_breaks_but_no_other_control_characters() -> None:
    report = {"what_happened": "a\rb", "impact": "x\x00y", "actions_taken": "p\tq", "ask": "z\n"}
    hostile = incident(summary="line 1\r\nline 2\u2028line 3\u2029\x1b[31mline 4\x07", report=report)
    assert hostile.summary == "line 1\nline 2\nline 3\n[31mline 4"
    assert hostile.report.model_dump(include=set(report)) == {
        "what_happened": "a\nb", "impact": "xy", "actions_taken": "p q", "ask": "z"
    }  # fmt: skip


@pytest.mark.parametrize(
    "key", ["db\ndown", "db\rdown", "db\u2028down", "db\x00down", "db\tdown", "db\u202edown"]
)
def test_dedup_keys_with_control_characters_are_refused_naming_the_field_and_the_fix(
    key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ValidationError) as refused:
        incident(key=key)
    assert [error["loc"] for error in refused.value.errors()] == [("dedup_key",)]
    code = run(["trigger", "--service", "payments", "--severity", "SEV2", "--title", "x", "--dedup-key", key])
    error = capsys.readouterr().err
    assert code == 2 and error.count("\n") == 1
    assert (
        "dedup_key: contains the control character U+" in error and "use a key without line breaks" in error
    )


def test_titles_that_are_blank_or_too_long_are_refused_with_the_limit() -> None:
    with pytest.raises(ValidationError, match="must not be blank"):
        incident(title="\x00\n\u2028")
    with pytest.raises(ValidationError, match="shorten it to at most 1024"):
        incident(title="x" * 1025)


def test_links_must_be_http_urls_and_few_and_short(capsys: pytest.CaptureFixture[str]) -> None:
    for bad in ["javascript:alert(1)", "data:text/html,<b>", "ftp://files.example.com/x", "grafana"]:
        with pytest.raises(ValidationError, match=r"is not an http\(s\) URL"):
            incident(links=["https://ok.example.com/", bad])
    with pytest.raises(ValidationError, match="keep the 20 most useful"):
        incident(links=[f"https://example.com/{n}" for n in range(21)])
    with pytest.raises(ValidationError, match="links may be at most 2048"):
        incident(links=["https://example.com/" + "x" * 2048])
    assert incident(links=["https://g.example.com/d/x?a=<b>&c=d e"]).links == [
        "https://g.example.com/d/x?a=%3Cb%3E&c=d%20e"
    ]


def test_slack_escapes_incident_text_but_keeps_our_own_mentions() -> None:
    hostile = incident(
        title="<!channel> <@U0BOSS> db down", key="x`y",
        summary="see <https://evil.example.com|https://grafana.example.com/d/db> & <!everyone>",
    )  # fmt: skip
    message = TEMPLATES.slack_message(page(hostile, key="x`y/slack/room"), mentions="<@U0ANA0001>")
    mrkdwn = _mrkdwn_texts(message)
    assert "<@U0ANA0001>" in mrkdwn[1], "the mention we make stays a real mention"
    assert all("<" not in text.replace("<@U0ANA0001>", "") for text in mrkdwn), mrkdwn
    assert "&lt;!channel&gt; &lt;@U0BOSS&gt;" in message["text"]
    faked = "&lt;https://evil.example.com|https://grafana.example.com/d/db&gt; &amp; &lt;!everyone&gt;"
    assert any(faked in text for text in mrkdwn)
    quoted = f"x{BACKTICK_LOOKALIKE}y"
    assert all(text.count("`") % 2 == 0 for text in mrkdwn), "code spans hold"
    assert f"Incident `incident:payments:{quoted}` · key `{quoted}/slack/room`" in mrkdwn


def test_slack_names_without_a_member_id_are_escaped() -> None:
    config = load_config(EXAMPLE_CONFIG, with_channels=False)
    ben = config.roster.responders["ben"].model_copy(update={"name": "<!here> Ben"})
    roster = config.roster.model_copy(update={"responders": {**config.roster.responders, "ben": ben}})
    sender = SlackSender({}, roster, TEMPLATES)
    send = Send(channel=Channel.SLACK, destination="team-room", responders=("ana", "ben"))
    message = Message(send=send, key="k", page=page(incident()))
    assert sender.mentions(message) == "<@U0ANA0001>, &lt;!here&gt; Ben"


def test_voice_twiml_parses_with_a_form_feed_in_the_title() -> None:
    settings = TwilioSettings(from_number="+15550009999")
    env = {"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t"}
    roster = load_config(EXAMPLE_CONFIG, with_channels=False).roster
    sender = TwilioSender(Channel.VOICE, settings, env, roster, TEMPLATES)
    send = Send(channel=Channel.VOICE, destination="ana", responders=("ana",))
    form = sender.form(Message(send=send, key="k", page=page(incident(title="Disk\x0cfull <&> \uffff"))))
    said = [say.text for say in ElementTree.fromstring(form["Twiml"]).iter("Say")]
    assert len(said) == 2 and all("Disk full <&>" in text for text in said if text)


@given(st.text())
def test_twiml_is_well_formed_for_any_text(text: str) -> None:
    root = ElementTree.fromstring(str(VoiceResponse().say(xml_chars(text))))
    allowed = re.sub("[^\t\n\r -\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]", "", text)
    assert (root.text or "") == allowed.replace("\r\n", "\n").replace("\r", "\n")


@given(st.text())
def test_header_values_are_printable_ascii_and_decode_to_the_key(key: str) -> None:
    from urllib.parse import unquote

    encoded = header_value(key)
    assert all("!" <= char <= "~" for char in encoded) and unquote(encoded) == key


def test_markdown_details_cannot_inject_links_or_html() -> None:
    hostile = incident(
        title="[click me](javascript:alert(1))",
        summary="<img src=x onerror=alert(1)>\n# not a heading\n![x](https://evil.example.com/x.png)",
        report={"impact": "**bold** _it_ `code`", "where": "a&amp;b"},
        links=["https://grafana.example.com/d/x"],
    )  # fmt: skip
    text = report_markdown(hostile)
    body, _, link = text.rpartition("\n\n")
    assert re.findall(r"(?<!\\)[<>\[\]()!#*_`&]", body.replace("**", "")) == [], "all markup is escaped"
    assert "\\<img src\\=x onerror\\=alert\\(1\\)\\>  \n\\# not a heading  \n\\!\\[x\\]" in text
    assert "\\*\\*bold\\*\\* \\_it\\_ \\`code\\`" in text and "a\\&amp;b" in text
    assert link == "- <https://grafana.example.com/d/x>"
    start = start_input(i=hostile)
    details = current_details(ladder.view("incident-x", start, ladder.begin(start, datetime.now(UTC))))
    assert "\\[click me\\]\\(javascript\\:alert\\(1\\)\\)" in details


def test_terminal_printers_show_control_characters_as_escapes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    start = start_input()
    state = ladder.begin(start, datetime(2026, 11, 25, 3, 12, tzinfo=UTC))
    note = "on it\x1b]0;owned\x07\x1b[2J"
    ladder.acknowledge(
        state, start.policy, AcknowledgeRequest(responder="ana", note=note), state.triggered_at
    )
    older = Incident.model_construct(**{**start.incident.__dict__, "title": "db\x1b[31m down"})
    view = ladder.view("incident:payments:db-down", start, state).model_copy(update={"incident": older})

    class Connected:
        async def status(self, incident_id: str) -> Any:
            return view

    async def connect(*args: object) -> Connected:
        return Connected()

    monkeypatch.setattr("starter.cli.Escalations.connect", connect)
    assert run(["status", "incident:payments:db-down"]) == 0
    out = capsys.readouterr().out
    assert ESCAPE not in out and "\x07" not in out
    assert "db\\x1b[31m down" in out and "on it\\x1b]0;owned\\x07\\x1b[2J" in out
    assert len(out.splitlines()) > 3, "a multi-line printout keeps its lines"


def test_inbox_lines_show_control_characters_as_escapes() -> None:
    document = {"severity": "SEV1", "incident": {"title": "a\x1b[2J\nb"}, "tier": {"name": "t"},
                "targets": [{"id": "ana"}]}  # fmt: skip
    line = page_line(Caught("webhook", "ops", "k", document))
    assert line == "webhook ops (signature ok): SEV1 a\\x1b[2J\\x0ab -> tier t: ana"
    assert for_terminal("x\u202ey") == "x\\u202ey"


def test_templates_run_sandboxed_and_cannot_read_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config"
    shutil.copytree(EXAMPLE_CONFIG, config)
    monkeypatch.setenv("ESCALATION_TEST_SECRET", "hunter2-do-not-show")
    (config / "templates" / "sms.txt.j2").write_text(
        "{{ cycler.__init__.__globals__.os.environ.ESCALATION_TEST_SECRET }}"
    )
    with pytest.raises(PageTemplateError) as problem:
        PageTemplates(config / "templates")
    assert "unsafe" in str(problem.value) and "hunter2" not in str(problem.value)
    monkeypatch.setenv("ESCALATION_CONFIG", str(config))
    assert run(["check", "--skip-secrets"]) == 2
    output = capsys.readouterr()
    [problem_line] = [line for line in output.err.splitlines() if line.startswith("  - ")]
    assert "sms.txt.j2: access to attribute '__init__'" in problem_line
    assert "hunter2" not in output.err + output.out


def _mrkdwn_texts(message: dict[str, Any]) -> list[str]:
    """Every text of the message Slack parses as mrkdwn (mentions and links live there)."""
    texts = [message["text"]]
    for block in message["blocks"]:
        parts = [block.get("text", {}), *block.get("fields", []), *block.get("elements", [])]
        texts += [part["text"] for part in parts if isinstance(part, dict) and part.get("type") == "mrkdwn"]
    return texts
