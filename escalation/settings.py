"""Process settings from the environment, with defaults that work in a fresh checkout."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError

from escalation.config import ConfigError
from escalation.durations import Duration

DEFAULT_TASK_QUEUE = "escalations"
DEFAULT_UI_URL = "http://localhost:8233"
SECRET_ENV = "ESCALATION_API_SECRET"
OWNER_ONLY_FILE = 0o600
OWNER_ONLY_DIR = 0o700
"""Modes of what the data directory holds (records, secrets, logs): its owner's only."""
"""Signs responder tokens and the action links in pages; the API and the worker share it."""


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    config_dir: Path = Path("config")
    data_dir: Path = Path(".escalation")
    database: Path | None = None
    database_url: str | None = None
    """Where close-out records are kept when not the SQLite file at ``database_path``: an SQLAlchemy
    URL (``postgresql+psycopg://user:password@host/db``) shared by every worker, the CLI and the API."""
    task_queue: str = DEFAULT_TASK_QUEUE
    ui_url: str = DEFAULT_UI_URL
    worker_wait: Duration = timedelta(seconds=30)
    public_url: HttpUrl | None = None
    """Where responders' browsers, Slack and Twilio reach the API; pages link to it."""
    link_ttl: Duration = timedelta(hours=24)
    """How long a page's action links work."""
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    """The worker's Prometheus ``/metrics`` port; unset or 0: not served."""
    sdk_metrics_port: int | None = Field(default=None, ge=0, le=65535)
    """The worker's Temporal SDK metrics port; unset or 0: not served."""

    @property
    def database_path(self) -> Path:
        """The SQLite file of the embedded default (without ``ESCALATION_DATABASE_URL``):
        ``ESCALATION_DATABASE`` or under the data directory."""
        return self.database or self.data_dir / "escalations.db"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        names = {
            "config_dir": "ESCALATION_CONFIG",
            "data_dir": "ESCALATION_DATA_DIR",
            "database": "ESCALATION_DATABASE",
            "database_url": "ESCALATION_DATABASE_URL",
            "task_queue": "ESCALATION_TASK_QUEUE",
            "ui_url": "ESCALATION_UI_URL",
            "worker_wait": "ESCALATION_WORKER_WAIT",
            "public_url": "ESCALATION_PUBLIC_URL",
            "link_ttl": "ESCALATION_LINK_TTL",
            "metrics_host": "ESCALATION_METRICS_HOST",
            "metrics_port": "ESCALATION_METRICS_PORT",
            "sdk_metrics_port": "ESCALATION_SDK_METRICS_PORT",
        }
        try:
            return cls(**{field: env[var] for field, var in names.items() if env.get(var)})
        except ValidationError as error:
            raise ConfigError(
                [
                    f"{names[str(e['loc'][0])]}: {e['msg'].removeprefix('Value error, ')}"
                    for e in error.errors()
                ]
            ) from None
