"""`salescope ltv`: fit BG/NBD + Gamma-Gamma on any transaction export and print the parameters."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    app.command(name="ltv")(ltv)


def _read(path: Path):
    import pandas as pd

    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return pd.read_parquet(path)
    if suffix in {".xlsx", ".xls"}:
        return pd.read_excel(path)
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return pd.read_csv(path, encoding=enc)
        except UnicodeDecodeError:
            continue
    raise typer.BadParameter(f"{path} is neither UTF-8 nor GB18030 text: save it as UTF-8 CSV")


def ltv(
    transactions: Annotated[
        Path, typer.Option("--transactions", help="CSV (or .parquet/.xlsx): one row per purchase.")
    ],
    customer_col: Annotated[str, typer.Option("--customer-col", help="Column with the customer id.")],
    date_col: Annotated[str, typer.Option("--date-col", help="Column with the purchase date.")],
    calibration_end: Annotated[
        str, typer.Option("--calibration-end", help="Fit on purchases up to this date (YYYY-MM-DD).")
    ],
    amount_col: Annotated[
        str | None, typer.Option("--amount-col", help="Column with the purchase value (enables Gamma-Gamma).")
    ] = None,
    time_unit: Annotated[str, typer.Option("--time-unit", help="week, month or day.")] = "week",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a summary.")] = False,
    customers: Annotated[
        bool, typer.Option("--customers", help="Also print the per-customer table.")
    ] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the per-customer table to this CSV.")
    ] = None,
) -> None:
    """Fit BG/NBD and Gamma-Gamma on a transaction export: parameters, P(alive), expected purchases, LTV."""
    from models_ml.ltv import UNIT_DAYS, fit_ltv

    if time_unit not in UNIT_DAYS:
        raise typer.BadParameter(f"--time-unit must be one of {', '.join(UNIT_DAYS)}, not {time_unit!r}")
    try:
        end = date.fromisoformat(calibration_end)
    except ValueError:
        raise typer.BadParameter(
            f"--calibration-end {calibration_end!r} is not a date: write YYYY-MM-DD"
        ) from None
    if not transactions.is_file():
        raise typer.BadParameter(f"{transactions} does not exist")
    df = _read(transactions)
    missing = [c for c in (customer_col, date_col, amount_col) if c and c not in df.columns]
    if missing:
        raise typer.BadParameter(
            f"column(s) {', '.join(missing)} not in {transactions.name}; it has: {', '.join(map(str, df.columns))}"
        )
    try:
        result = fit_ltv(df, customer_col, date_col, amount_col, end, unit=time_unit)
    except ValueError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from None
    table = result.customers.drop(columns=["first_value"]).copy()
    for c in ("first_purchase", "last_purchase"):
        table[c] = table[c].dt.date.astype(str)
    if out:
        table.to_csv(out, index=False)
    payload = result.params_dict()
    if as_json:
        if customers:
            payload["customers"] = json.loads(table.to_json(orient="records", double_precision=6))
        print(json.dumps(payload, indent=1, ensure_ascii=False))
        return
    bg = result.bgnbd
    print(
        f"BG/NBD ({bg.n_customers} customers, unit {time_unit}): r={bg.r:.4g} alpha={bg.alpha:.4g} "
        f"a={bg.a:.4g} b={bg.b:.4g} log-likelihood={bg.log_likelihood:.2f}"
    )
    gg = result.gamma_gamma
    if gg:
        print(
            f"Gamma-Gamma ({gg.n_customers} repeat customers): p={gg.p:.4g} q={gg.q:.4g} gamma={gg.gamma:.4g}"
        )
    elif amount_col:
        print("Gamma-Gamma: not fitted (fewer than 3 customers with a repeat purchase of positive value)")
    if customers:
        print(table.to_string(index=False))
