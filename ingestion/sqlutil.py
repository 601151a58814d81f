"""Quoting helpers for SQL text built from the contract (never for filter values: those are parameters)."""

from __future__ import annotations


def lit(text: str) -> str:
    """A SQL string literal for a constant that comes from the contract or this package."""
    return "'" + text.replace("'", "''") + "'"


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'
