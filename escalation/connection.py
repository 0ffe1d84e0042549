"""Connecting to Temporal the standard way, and making sure the server knows our search attributes."""

from __future__ import annotations

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.envconfig import ClientConfig
from temporalio.service import RPCError, RPCStatusCode

from escalation import visibility


class ConnectionProblem(Exception):
    """Temporal could not be reached or used; the message says what to check."""


async def connect(target: str | None = None) -> Client:
    """Connect using ``TEMPORAL_ADDRESS``/``TEMPORAL_NAMESPACE``/TLS/API key or a TOML profile.

    ``target`` overrides the address (used by ``escalate up`` for its embedded server).
    """
    try:
        config = ClientConfig.load_client_connect_config()
    except Exception as error:  # the SDK's loader raises several types for a bad profile or file
        raise ConnectionProblem(
            f"Temporal connection settings are invalid ({error}); check TEMPORAL_ADDRESS, "
            "TEMPORAL_PROFILE and TEMPORAL_CONFIG_FILE"
        ) from None
    if target:
        config["target_host"] = target
    config.setdefault("target_host", "localhost:7233")
    try:
        return await Client.connect(**config, data_converter=pydantic_data_converter)
    except (RuntimeError, ValueError) as error:
        reason = "connection refused" if "refused" in str(error).lower() else str(error)
        raise ConnectionProblem(
            f"cannot reach Temporal at {config['target_host']} ({reason}); start it with "
            "'escalate up' or set TEMPORAL_ADDRESS to a running server"
        ) from None


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


def _registration_problem(client: Client, error: RPCError) -> ConnectionProblem:
    commands = "; ".join(
        f"temporal operator search-attribute create --name {key.name} "
        f"--type {key.indexed_value_type.name.title()}"
        for key in visibility.ALL
    )
    return ConnectionProblem(
        f"search attributes could not be registered in namespace {client.namespace!r} "
        f"({error.message}); register them once with: {commands}"
    )
