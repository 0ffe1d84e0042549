"""``escalate report`` reads the record store and prints the figures as text or JSON, or writes the
HTML page; a bad option is one line naming it and the fix, exit code 2, and nothing written."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from activities.store import RecordStore
from escalation.report_figures import report_figures
from escalation.settings import Settings
from starter.cli import run
from starter.report import report_text
from tests.report_records import NASTY_TITLE, recent_monday, report_records


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> RecordStore:
    """The seven escalations of the last whole week, and one of six weeks before (search, SEV2)."""
    monkeypatch.setenv("ESCALATION_DATA_DIR", str(tmp_path / "data"))
    store = RecordStore.from_settings(Settings.from_env())
    store.upgrade()
    records = report_records(recent_monday(datetime.now(UTC)))
    old = records[0].model_copy(update={"triggered_at": records[0].triggered_at - timedelta(weeks=6)})
    for record in [*records, old]:
        store.save(record)
    return store


def report_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    assert run(["report", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.usefixtures("store")
def test_json_is_the_figures_of_the_last_30_days(capsys: pytest.CaptureFixture[str]) -> None:
    figures = report_json(capsys)
    assert figures["escalations"] == 7, "the record of six weeks ago is older than the default 30d"
    assert figures["by_service"] == {"checkout": 1, "payments": 4, "search": 2}
    assert (figures["pages"], figures["pages_outside_working_hours"]) == (15, 9)
    assert figures["escalated"] == {"count": 3, "of": 7, "rate": 3 / 7}
    assert figures["working_hours"]["timezone"] == "UTC"
    assert report_json(capsys, "--since", "60d")["escalations"] == 8


@pytest.mark.usefixtures("store")
def test_service_and_timezone_narrow_and_move_the_figures(capsys: pytest.CaptureFixture[str]) -> None:
    search = report_json(capsys, "--service", "search")
    assert (search["service"], search["escalations"], search["by_service"]) == ("search", 2, {"search": 2})
    berlin = report_json(capsys, "--timezone", "Europe/Berlin")
    assert berlin["pages_outside_working_hours"] == 10  # worked out in test_report_figures


@pytest.mark.usefixtures("store")
def test_text_is_aligned_tables(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["report"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("7 escalations since ")
    header = next(line for line in lines if line.startswith("SEVERITY"))
    sev2 = next(line for line in lines if line.startswith("SEV2"))
    assert sev2.split() == ["SEV2", "4", "resolved", "4", "20m", "28m", "1h7m30s", "1h37m"]
    assert sev2.index("20m") == header.index("ACK p50"), "columns line up under their headings"
    responders = lines[lines.index(next(line for line in lines if line.startswith("RESPONDER"))) :]
    assert [line.split() for line in responders[1:3]] == [["ana", "5", "2"], ["sofia", "3", "2"]]
    assert "Escalated beyond the first tier" in "\n".join(lines)
    assert any(line.endswith(NASTY_TITLE) for line in lines)


def test_incident_text_cannot_drive_the_terminal() -> None:
    record = report_records()[2]  # the slowest
    hostile = record.model_copy(
        update={"incident": record.incident.model_copy(update={"title": "x\x1b[2Jy"})}
    )
    text = report_text(report_figures([hostile]))
    assert "x\\x1b[2Jy" in text and "\x1b" not in text


def test_no_records_say_so(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ESCALATION_DATA_DIR", str(tmp_path))
    RecordStore.from_settings(Settings.from_env()).upgrade()
    assert run(["report"]) == 0
    assert "no close-out records in this period" in capsys.readouterr().out


def test_a_store_without_tables_says_how_to_create_them(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ESCALATION_DATA_DIR", str(tmp_path))
    assert run(["report"]) == 2
    err = capsys.readouterr().err
    assert "no such table" in err and "escalate db upgrade" in err, err


@pytest.mark.usefixtures("store")
def test_html_is_written_owner_only_and_named(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    assert run(["report", "--html", str(page)]) == 0
    assert capsys.readouterr().out.startswith(f"wrote {page}: 7 escalations since ")
    assert stat.S_IMODE(page.stat().st_mode) == 0o600
    html = page.read_text()
    assert html.startswith("<!doctype html>") and "&lt;script&gt;alert" in html and "<script" not in html


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--since", "3 weeks"], "escalate: --since: '3 weeks' is not a duration: write it like \"45s\""),
        (["--since", "400d"], "escalate: --since: '400d' is too long: the longest duration is 365d"),
        (["--service", "Pay Ments"], "escalate: --service: 'Pay Ments' is not a service id; use lower-case"),
        (
            ["--timezone", "Mars/Olympus"],
            "escalate: --timezone: 'Mars/Olympus' is not a time zone; use an IANA",
        ),
        (
            ["--html", "{tmp}/missing/report.html"],
            "escalate: --html: {tmp}/missing does not exist; create it",
        ),
        (["--html", "{tmp}"], "escalate: --html: {tmp} is a directory; name a file"),
    ],
)
@pytest.mark.usefixtures("store")
def test_bad_options_are_one_line_naming_the_option_and_the_fix(
    args: list[str], expected: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    args = [arg.format(tmp=tmp_path) for arg in args]
    assert run(["report", *args]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(expected.format(tmp=tmp_path)), err
    assert err.count("\n") == 1
    assert not list(tmp_path.glob("**/*.html"))


@pytest.mark.skipif(
    not Path("/proc/self").is_dir(), reason="needs Linux's /proc, where nobody may create files"
)
@pytest.mark.usefixtures("store")
def test_an_unwritable_html_path_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["report", "--html", "/proc/report.html"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith("escalate: --html: cannot write /proc/report.html"), err
