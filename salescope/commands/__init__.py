"""Sub-commands of the `salescope` CLI that belong to one area each (quality, ltv, users).

Each module exposes ``register(app: typer.Typer) -> None``; ``salescope.cli`` calls it.
"""
