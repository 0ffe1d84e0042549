"""A record store that cannot be used says so in one line naming ESCALATION_DATABASE_URL and the
fix, never with a traceback and never with the URL's password."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from activities.store import RecordStore, StoreError
from escalation.settings import Settings
from starter.cli import run
from tests.ports import free_port
from tests.store.records import closed
from tests.support import EXAMPLE_CONFIG, binary

PASSWORD = "s3cret-Pa55"


def unreachable() -> str:
    return f"postgresql+psycopg://escalation:{PASSWORD}@127.0.0.1:{free_port()}/escalations"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("not a url", "not a database URL; use sqlite:///"),
        (f"mysql://root:{PASSWORD}@db/escalations", "'mysql' databases are not supported; use"),
        ("sqlite://", "an in-memory SQLite database keeps nothing; name a file"),
    ],
)
def test_an_unusable_url_is_refused_saying_what_to_use(url: str, problem: str) -> None:
    with pytest.raises(StoreError) as refused:
        RecordStore(url)
    [said] = refused.value.problems
    assert said.startswith(f"ESCALATION_DATABASE_URL: {problem}")
    assert PASSWORD not in said


def test_an_unreachable_database_is_named_with_its_password_masked() -> None:
    store = RecordStore(unreachable())
    with pytest.raises(StoreError) as refused:
        store.upgrade()
    [problem] = refused.value.problems
    assert problem.startswith(
        "ESCALATION_DATABASE_URL: the record store at postgresql+psycopg://escalation:***@"
    )
    assert "check that the database is running and reachable" in problem
    assert PASSWORD not in problem


def test_a_sqlite_file_that_cannot_be_created_is_named(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(
        StoreError, match=r"cannot create the SQLite file .*/file/escalations.db \(File exists\)"
    ):
        RecordStore(f"sqlite:///{tmp_path / 'file' / 'escalations.db'}").upgrade()


def test_postgresql_urls_use_psycopg_3() -> None:
    assert RecordStore("postgresql://u@db/escalations").location == "postgresql+psycopg://u@db/escalations"


def test_a_database_never_upgraded_says_how_to_set_it_up(database_url: str) -> None:
    with pytest.raises(StoreError, match="create its tables with: escalate db upgrade"):
        RecordStore(database_url).save(closed())


def test_the_url_comes_from_the_environment_and_sqlite_is_the_default(tmp_path: Path) -> None:
    assert (
        Settings.from_env({"ESCALATION_DATABASE_URL": "postgresql://db/x"}).database_url
        == "postgresql://db/x"
    )
    default = RecordStore.from_settings(Settings.from_env({"ESCALATION_DATA_DIR": str(tmp_path)}))
    assert default.location == f"sqlite:///{tmp_path / 'escalations.db'}"


def test_escalate_db_upgrade_creates_the_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ESCALATION_DATABASE", str(tmp_path / "escalations.db"))
    said = f"sqlite:///{tmp_path / 'escalations.db'}: up to date (schema revision 0003)"
    assert run(["db", "upgrade"]) == 0
    assert said in capsys.readouterr().out.splitlines()
    assert run(["db", "upgrade"]) == 0, "again: nothing to do"
    assert capsys.readouterr().out.splitlines() == [said], "and nothing upgraded"


def test_escalate_db_upgrade_and_record_say_what_is_wrong_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ESCALATION_DATABASE_URL", unreachable())
    for command in (["db", "upgrade"], ["record", "incident:payments:db-down"]):
        assert run(command) == 2
        error = capsys.readouterr().err
        assert error.startswith(
            "escalate: invalid configuration:\n  - ESCALATION_DATABASE_URL: the record store at"
        )
        assert "Traceback" not in error
        assert PASSWORD not in error


def test_escalate_up_stops_before_starting_anything_on_an_unreachable_database(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "ESCALATION_CONFIG": str(EXAMPLE_CONFIG),
        "ESCALATION_DATA_DIR": str(tmp_path / "data"),
        "ESCALATION_DATABASE_URL": unreachable(),
    }
    env.pop("TEMPORAL_ADDRESS", None)
    ports = [str(free_port()) for _ in range(3)]
    up = subprocess.run(
        [binary("escalate"), "up", "--port", ports[0], "--ui-port", ports[1], "--api-port", ports[2]],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert up.returncode == 2, up.stderr
    assert "ESCALATION_DATABASE_URL: the record store at postgresql+psycopg://escalation:***@" in up.stderr
    assert PASSWORD not in up.stdout + up.stderr
    assert not (tmp_path / "data" / "temporal.db").exists(), "the Temporal server was not started"
