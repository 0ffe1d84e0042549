"""Schedules in the configuration directory, ``escalate check`` on them, and ``escalate oncall``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import icalendar
import pytest
import yaml

from escalation.config import ConfigError, load_config
from escalation.schedules import on_call
from starter.cli import run
from tests.support import REPO
from tests.unit.test_config import edit

FRONTLINE = "schedules/frontline.yaml"
NEW_YORK = "America/New_York"


def problems(directory: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(directory, with_channels=False)
    return caught.value.problems


@pytest.fixture
def cli(config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ESCALATION_CONFIG", str(config_dir))
    return config_dir


def test_the_example_rotates_weekly_with_a_business_hours_layer_and_a_holiday_swap(config_dir: Path) -> None:
    frontline = load_config(config_dir, with_channels=False).schedules["frontline"]
    assert frontline.time_zone == NEW_YORK and len(frontline.layers) == 2 and frontline.overrides

    def at(text: str) -> list[str]:
        return on_call(frontline, datetime.fromisoformat(text).replace(tzinfo=frontline.zone))

    assert at("2026-11-28T03:00") == ["ben"]  # a Saturday night in ben's week
    assert at("2026-11-30T08:59") == ["ben"] and at("2026-11-30T17:00") == ["ana"]  # Monday 09:00 hand-off
    assert at("2026-11-24T10:00") == ["ana"]  # business hours: the other frontliner
    assert at("2026-11-26T03:00") == ["sam"]  # Thanksgiving: sam instead of ben


def test_a_config_without_schedules_has_none(config_dir: Path) -> None:
    edit(config_dir, "policies/support.yaml", '"schedule:frontline"', "ana")  # no longer pages it
    (config_dir / FRONTLINE).unlink()
    assert load_config(config_dir, with_channels=False).schedules == {}


def test_unknown_responders_are_named_with_their_place_in_the_file(config_dir: Path) -> None:
    edit(config_dir, FRONTLINE, "participants: [ana, ben]", "participants: [ana, bob]")
    edit(config_dir, FRONTLINE, "responder: sam", "responder: samm")
    found = problems(config_dir)
    path = config_dir / FRONTLINE
    assert (
        f"{path}: layers[0].participants[1]: 'bob' is not in roster.yaml; add them under responders"
        in found[0]
    )
    assert f"{path}: overrides[0].responder: 'samm' is not in roster.yaml" in found[1]
    assert len(found) == 2


def test_a_bad_zone_and_a_window_that_leaves_nobody_are_errors_in_one_pass(config_dir: Path) -> None:
    edit(config_dir, FRONTLINE, "time_zone: America/New_York", "time_zone: America/Gotham")
    edit(config_dir, FRONTLINE, 'end: "17:00"', 'end: "09:00"')
    found = problems(config_dir)
    path = config_dir / FRONTLINE
    assert f"{path}: time_zone: 'America/Gotham' is not a time zone; use an IANA name" in found[0]
    assert f"{path}: layers[1].restrictions: start and end are equal, a window that leaves nobody" in found[1]


def test_an_unquoted_time_is_explained(config_dir: Path) -> None:
    edit(config_dir, FRONTLINE, 'end: "17:00"', "end: 17:30")
    (found,) = problems(config_dir)
    assert "layers[1].restrictions.end: is a number; write the time in quotes, e.g. '17:30'" in found


def test_two_files_cannot_define_the_same_schedule(config_dir: Path) -> None:
    text = (config_dir / FRONTLINE).read_text(encoding="utf-8")
    (config_dir / "schedules/copy.yaml").write_text("name: frontline\n" + text, encoding="utf-8")
    (found,) = problems(config_dir)
    assert (
        "name: schedule 'frontline' is also defined in" in found
        and "give each schedule a unique name" in found
    )


OFFICE_HOURS_ONLY = """
time_zone: America/New_York
layers:
  - participants: [ana]
    shift_length: 1w
    first_handoff: "2026-01-05T09:00"
    restrictions: {weekdays: [mon, tue, wed, thu, fri], start: "09:00", end: "17:00"}
"""


def test_check_warns_of_coverage_gaps_naming_the_hours_and_still_passes(
    cli: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (cli / FRONTLINE).write_text(OFFICE_HOURS_ONLY, encoding="utf-8")
    assert run(["check", "--skip-secrets"]) == 0
    captured = capsys.readouterr()
    assert "9 responders" in captured.out
    warning, *gaps, more = captured.err.splitlines()
    assert warning.startswith("warning: schedule frontline has nobody on call for ")
    assert warning.endswith(" in the next 4 weeks (America/New_York); add a layer or an override to cover:")
    assert len(gaps) == 10 and more.startswith("  and ") and more.endswith(" more")
    evenings = [gap.split("  to  ") for gap in gaps[1:-1]]  # the first and last may be cut by the window
    assert all(start.endswith(("17:00 EST", "17:00 EDT")) for start, _ in evenings)
    assert all(end.endswith(("09:00 EST", "09:00 EDT")) for _, end in evenings)
    assert any(start.strip().startswith("Fri ") and end.startswith("Mon ") for start, end in evenings)


def test_check_is_quiet_about_a_schedule_that_covers_every_hour(
    cli: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["check", "--skip-secrets"]) == 0
    assert "warning" not in capsys.readouterr().err


def oncall(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(["oncall", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_oncall_shows_who_is_on_call_and_the_next_hand_offs_in_the_zone(
    cli: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = oncall(capsys, "--at", "2026-11-28T03:00", "--days", "4")
    assert code == 0
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert (
        f"$ escalate oncall --at 2026-11-28T03:00 --days 4\n{out}```" in readme
    )  # the README shows it as it is
    lines = out.splitlines()
    assert lines[0].startswith("frontline (America/New_York): ")
    assert lines[1] == "  on call at Sat 2026-11-28 03:00 EST: ben"
    assert lines[3:] == [
        "    Sat 2026-11-28 03:00 EST  to  Mon 2026-11-30 17:00 EST  ben",
        "    Mon 2026-11-30 17:00 EST  to  Tue 2026-12-01 09:00 EST  ana",
        "    Tue 2026-12-01 09:00 EST  to  Tue 2026-12-01 17:00 EST  ben",
        "    Tue 2026-12-01 17:00 EST  to  Wed 2026-12-02 03:00 EST  ana",
    ]


def test_oncall_json_gives_shifts_and_gaps_with_the_zone_offset(
    cli: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = oncall(capsys, "frontline", "--at", "2026-11-01T00:00", "--days", "2", "--json")
    assert code == 0
    (view,) = json.loads(out)["schedules"]
    assert view["name"] == "frontline" and view["time_zone"] == NEW_YORK and view["on_call"] == []
    assert view["at"] == "2026-11-01T00:00:00-04:00"  # still daylight time until 02:00 that night
    assert view["gaps"] == [{"start": "2026-11-01T00:00:00-04:00", "end": "2026-11-02T09:00:00-05:00"}]
    assert view["shifts"][0] == {
        "responder": "ben",
        "start": "2026-11-02T09:00:00-05:00",
        "end": "2026-11-02T17:00:00-05:00",
    }


def test_oncall_ics_parses_back_to_the_same_shifts(cli: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = oncall(
        capsys, "frontline", "--ics", "--at", "2026-11-23T12:00", "--days", "7", "--responder", "sam"
    )
    assert code == 0
    calendar = icalendar.Calendar.from_ical(out)
    assert str(calendar["X-WR-CALNAME"]) == "On call: frontline (sam)"
    events = [(e.start.astimezone(UTC), e.end.astimezone(UTC), str(e["SUMMARY"])) for e in calendar.events]
    thanksgiving = datetime(2026, 11, 26, 5, tzinfo=UTC)  # 00:00 in New York
    assert events == [
        (thanksgiving, thanksgiving + timedelta(hours=9), "On call: Sam Supervisor (sam) (frontline)"),
        (
            thanksgiving + timedelta(hours=17),
            thanksgiving + timedelta(hours=24),
            "On call: Sam Supervisor (sam) (frontline)",
        ),
    ]
    assert [str(e.start.tzinfo) for e in calendar.events] == [NEW_YORK, NEW_YORK]
    assert len({str(e["UID"]) for e in calendar.events}) == 2


def test_a_feed_starts_at_the_start_of_the_day_so_uids_stay_put(
    cli: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uids = []
    for at in ("2026-11-24T10:00", "2026-11-24T16:00"):
        _, out, _ = oncall(capsys, "frontline", "--ics", "--at", at)
        uids.append([str(e["UID"]) for e in icalendar.Calendar.from_ical(out).events][:3])
    assert uids[0] == uids[1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "schedule 'nope' does not exist; use one of: frontline"),
        (["--at", "saturday"], "--at: 'saturday' is not a time; write it like 2026-11-28T03:00"),
        (["--days", "0"], "--days: 0 is out of range; use 1 to 366 days"),
        (["--ics"], "--ics: name the schedule, e.g. 'escalate oncall NAME --ics'; use one of: frontline"),
        (["frontline", "--responder", "zed"], "--responder: 'zed' is not in the roster; use one of schedule"),
        (["frontline", "--responder", "mgr-mia"], "--responder: 'mgr-mia' takes no shifts here; use one of"),
    ],
)
def test_oncall_refuses_bad_input_naming_the_option_and_the_fix(
    cli: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = oncall(capsys, *args)
    assert code == 2 and out == ""
    assert err.startswith(f"escalate: {message}") and err.count("\n") == 1


def test_oncall_without_schedules_says_where_to_add_one(
    cli: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(cli, "policies/support.yaml", '"schedule:frontline"', "ana")  # no longer pages it
    (cli / FRONTLINE).unlink()
    code, out, _ = oncall(capsys)
    assert code == 0 and out.startswith(f"no schedules in {cli / 'schedules'}; add one")


def test_the_documented_example_is_the_shipped_one(config_dir: Path) -> None:
    docs = (REPO / "docs/configuration.md").read_text(encoding="utf-8")
    section = docs[docs.index("## `schedules/*.yaml`") :]
    block = section[section.index("```yaml") + len("```yaml") : section.index("```\n")]
    assert yaml.safe_load(block) == yaml.safe_load((config_dir / FRONTLINE).read_text(encoding="utf-8"))
