"""The embedded default's secrets file: made once, owner-only, reused, and an exported value wins."""

from __future__ import annotations

import stat
from pathlib import Path

from starter.local_secrets import SECRETS_FILE, use_local_secrets


def saved(data_dir: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in (data_dir / SECRETS_FILE).read_text().splitlines())


def test_secrets_are_made_once_and_reused(tmp_path: Path) -> None:
    first: dict[str, str] = {}
    use_local_secrets(tmp_path / "data", ["A_KEY", "B_SECRET"], first)
    assert stat.S_IMODE((tmp_path / "data" / SECRETS_FILE).stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700
    assert first["A_KEY"] != first["B_SECRET"] and all(len(v) >= 32 for v in first.values())
    second: dict[str, str] = {}
    use_local_secrets(tmp_path / "data", ["A_KEY", "B_SECRET"], second)
    assert second == first == saved(tmp_path / "data")


def test_an_exported_value_wins_and_is_not_written(tmp_path: Path) -> None:
    env = {"A_KEY": "exported"}
    use_local_secrets(tmp_path, ["A_KEY", "B_SECRET"], env)
    assert env["A_KEY"] == "exported"
    assert list(saved(tmp_path)) == ["B_SECRET"]


def test_without_generating_only_saved_values_are_used(tmp_path: Path) -> None:
    env: dict[str, str] = {}
    use_local_secrets(tmp_path / "none", ["A_KEY"], env, generate=False)
    assert env == {} and not (tmp_path / "none").exists()
    use_local_secrets(tmp_path, ["A_KEY"], {})
    use_local_secrets(tmp_path, ["A_KEY", "B_SECRET"], env, generate=False)
    assert list(env) == ["A_KEY"] and list(saved(tmp_path)) == ["A_KEY"]
