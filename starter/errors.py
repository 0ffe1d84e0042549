"""Errors every command module raises alike, so ``escalate`` prints them the same way."""

from __future__ import annotations


class BadInputError(Exception):
    """Input the user can fix; printed as is, exit code 2."""
