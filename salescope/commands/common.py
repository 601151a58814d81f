"""What every command shares: the error exit and the date option parser (one wording everywhere)."""

from __future__ import annotations

from datetime import date
from typing import NoReturn, overload

import typer
from rich.console import Console

console = Console(stderr=True)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``error: message`` and exit with ``code`` (2: bad arguments)."""
    console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


@overload
def parse_date(text: str, what: str = ...) -> date: ...
@overload
def parse_date(text: None, what: str = ...) -> None: ...
@overload
def parse_date(text: str | None, what: str = ...) -> date | None: ...
def parse_date(text: str | None, what: str = "--as-of") -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{what} {text!r} is not a date: write it as YYYY-MM-DD, e.g. 2026-06-30")
