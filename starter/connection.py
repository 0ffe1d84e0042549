"""Connecting to Temporal the standard way, and making sure the server knows our search attributes."""

from __future__ import annotations

import os
import re

import structlog
import tenacity
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.envconfig import ClientConfig
from temporalio.runtime import Runtime
from temporalio.service import RPCError, RPCStatusCode

from workflows import visibility

RETRY_FIRST_DELAY_SECONDS = 1
RETRY_MAX_DELAY_SECONDS = 30

_TOML_POSITION = re.compile(r"at line (?P<line>\d+), column (?P<column>\d+)")
"""Where the SDK's loader says a profile file is wrong (its message also quotes the line)."""


class TemporalConnectionError(Exception):
    """Temporal could not be reached or used; the message says what to check."""


class TemporalUnreachableError(TemporalConnectionError):
    """The server did not answer: it may be starting or restarting, so trying again can help."""


async def connect(target: str | None = None, runtime: Runtime | None = None) -> Client:
    """Connect using ``TEMPORAL_ADDRESS``/``TEMPORAL_NAMESPACE``/TLS/API key or a TOML profile.

    ``target`` overrides the address (used by ``escalate up`` for its embedded server);
    ``runtime`` is the SDK runtime (the worker's exports the SDK's metrics; default: the SDK's).
    """
    try:
        config = ClientConfig.load_client_connect_config()
    except Exception as error:  # the SDK's loader raises several types for a bad profile or file
        raise _settings_problem(error) from None
    if target:
        config["target_host"] = target
    config.setdefault("target_host", "localhost:7233")
    try:
        return await Client.connect(**config, data_converter=pydantic_data_converter, runtime=runtime)
    except (RuntimeError, ValueError) as error:
        reason = "connection refused" if "refused" in str(error).lower() else str(error)
        raise TemporalUnreachableError(
            f"cannot reach Temporal at {config['target_host']} ({reason}); start it with "
            "'escalate up' or set TEMPORAL_ADDRESS to a running server"
        ) from None


async def connect_with_retry(target: str | None = None, runtime: Runtime | None = None) -> Client:
    """``connect``, waiting out an outage: long-running processes must outlive a server restart.

    Retries only while the server is unreachable (1 s doubling to 30 s, each retry logged),
    never on bad settings, and never gives up; cancel the call to stop waiting.
    """
    retrying = tenacity.AsyncRetrying(
        retry=tenacity.retry_if_exception_type(TemporalUnreachableError),
        wait=tenacity.wait_exponential(min=RETRY_FIRST_DELAY_SECONDS, max=RETRY_MAX_DELAY_SECONDS),
        before_sleep=_log_retry,
        reraise=True,
    )
    return await retrying(connect, target, runtime)


def _log_retry(attempt: tenacity.RetryCallState) -> None:
    """The reason and the delay of each retry (tenacity sets both before it sleeps)."""
    structlog.get_logger().warning(
        "temporal unreachable; retrying",
        problem=str(attempt.outcome.exception()),
        attempt=attempt.attempt_number,
        retry_in_seconds=attempt.next_action.sleep,
    )


def _settings_problem(error: Exception) -> TemporalConnectionError:
    """Where the connection settings are wrong, never what they say: the text may hold an API key.

    The SDK's loader quotes the offending line of the profile file, so only the position is kept.
    """
    source = os.environ.get("TEMPORAL_CONFIG_FILE") or "the Temporal profile file"
    if isinstance(error, OSError) and error.filename:
        where = f"{error.filename} cannot be read ({error.strerror})"
    elif position := _TOML_POSITION.search(str(error)):
        line, column = position["line"], position["column"]
        where = f"{source}: line {line}, column {column} is invalid (not shown: it may hold an API key)"
    else:
        profile = os.environ.get("TEMPORAL_PROFILE", "default")
        where = f"profile {profile!r} in {source} is missing or invalid"
    return TemporalConnectionError(
        f"Temporal connection settings are invalid: {where}; fix it, or check TEMPORAL_ADDRESS, "
        "TEMPORAL_PROFILE and TEMPORAL_CONFIG_FILE"
    )


async def ensure_search_attributes(client: Client) -> None:
    """Register any missing escalation search attributes, or say exactly how to.

    Without them every workflow task would fail when it upserts them, and escalations
    would stall; so the worker refuses to start rather than run in that state.
    """
    for key in visibility.ALL:
        if key.name in await _registered(client):
            continue
        try:
            await client.operator_service.add_search_attributes(
                AddSearchAttributesRequest(
                    namespace=client.namespace,
                    search_attributes={key.name: IndexedValueType.ValueType(key.indexed_value_type.value)},
                )
            )
        except RPCError as error:
            if error.status != RPCStatusCode.ALREADY_EXISTS:
                raise _registration_problem(client, error) from None


async def _registered(client: Client) -> set[str]:
    """Custom search attributes the namespace has; empty where the server cannot list them."""
    try:
        response = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
    except RPCError as error:
        if error.status == RPCStatusCode.UNIMPLEMENTED:  # the time-skipping test server
            return set()
        raise _registration_problem(client, error) from None
    return set(response.custom_attributes)


def _registration_problem(client: Client, error: RPCError) -> TemporalConnectionError:
    commands = "; ".join(
        f"temporal operator search-attribute create --name {key.name} "
        f"--type {key.indexed_value_type.name.title()}"
        for key in visibility.ALL
    )
    return TemporalConnectionError(
        f"search attributes could not be registered in namespace {client.namespace!r} "
        f"({error.message}); register them once with: {commands}"
    )
