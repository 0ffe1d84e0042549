"""Fixtures for pure unit tests: a private copy of the example configuration to break."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support import EXAMPLE_CONFIG


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A copy of config/ that a test may edit freely."""
    target = tmp_path / "config"
    shutil.copytree(EXAMPLE_CONFIG, target)
    return target
