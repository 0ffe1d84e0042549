"""Deterministic orchestration only: no I/O, no wall clock, no randomness."""
