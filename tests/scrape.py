"""Reading Prometheus metrics as a scraper does: the exposition text, parsed by the client library."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Samples:
    """Every sample of an exposition, by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def registry_samples(registry: CollectorRegistry) -> Samples:
    """What ``/metrics`` serves for ``registry`` right now."""
    return samples(generate_latest(registry).decode())


def growth(before: Samples, after: Samples) -> Callable[..., float]:
    """``delta(name, **labels)``: how much a sample grew (one never seen counts as 0)."""

    def delta(name: str, **labels: str) -> float:
        key = (name, frozenset(labels.items()))
        return after.get(key, 0.0) - before.get(key, 0.0)

    return delta
