"""Benchmarks of the escalation orchestrator against the Temporal floor (see docs/benchmarks.md)."""
