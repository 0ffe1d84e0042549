"""``integrations.yaml``: monitoring tools allowed to open escalations over HTTP.

Each integration names the service its events open incidents for, the environment variable
holding its key (the PagerDuty routing key or bearer token; never written here), and how its
events' severities map to ours.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import Field

from escalation.channel_settings import EnvName
from escalation.models import Identifier, Severity, Strict

INTEGRATIONS_FILE = "integrations.yaml"
INTEGRATION_PREFIX = "integration:"
"""Integrations act, and open incidents, as ``integration:<name>``."""

DEFAULT_SEVERITIES: dict[str, Severity] = {
    "critical": Severity.SEV1,
    "error": Severity.SEV2,
    "warning": Severity.SEV3,
    "info": Severity.SEV4,
}
"""PagerDuty's severities, which Alertmanager rules commonly use as their ``severity`` label."""


def integration_actor(name: str) -> str:
    """The responder (and incident source) an integration acts as."""
    return f"{INTEGRATION_PREFIX}{name}"


class Integration(Strict):
    service: Identifier
    key_env: EnvName
    policy: Identifier | None = None
    """Default: routing.yaml decides by service and severity."""
    default_severity: Severity = Severity.SEV3
    """For an event whose severity maps to none of ``severities``."""
    severities: dict[str, Severity] = Field(default_factory=lambda: dict(DEFAULT_SEVERITIES))
    rate_limit_per_minute: int = Field(default=120, ge=1, le=100_000)

    def severity_of(self, label: str | None) -> Severity:
        return self.severities.get((label or "").strip().lower(), self.default_severity)


class Integrations(Strict):
    integrations: dict[Identifier, Integration] = Field(default_factory=dict)

    def missing_secrets(self, env: Mapping[str, str], source: str) -> list[str]:
        """One problem line per integration whose key variable is unset or empty."""
        return [
            f"{source}: integrations.{name}.key_env: environment variable {i.key_env} is not set; "
            "export it where 'escalate serve' runs"
            for name, i in self.integrations.items()
            if not env.get(i.key_env)
        ]
