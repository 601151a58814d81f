"""Number formatting for the dashboards: CNY in 万/亿 for Chinese, K/M/B for English."""

from __future__ import annotations

import math

from dashboards.i18n import t

NO_VALUE = "—"

# (unit size, suffix, decimals), largest first; the first unit the rounded value reaches is used
_MONEY_UNITS = {
    "zh": ((1e8, "亿", 2), (1e6, "万", 0), (1e4, "万", 1), (1.0, "", 0)),
    "en": ((1e9, "B", 2), (1e6, "M", 1), (1e3, "K", 1), (1.0, "", 0)),
}
# what the unit sizes divide by (100万 is shown in 万)
_DIVISOR = {"万": 1e4, "亿": 1e8, "B": 1e9, "M": 1e6, "K": 1e3, "": 1.0}


def _missing(x: float | None) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def money(x: float | None, lang: str, *, signed: bool = False) -> str:
    """¥1,234万 / ¥12.3M; ``signed`` puts + on positive values (for deltas)."""
    if _missing(x):
        return NO_VALUE
    x = float(x)
    sign = "-" if x < 0 else ("+" if signed and x > 0 else "")
    a = abs(x)
    units = _MONEY_UNITS.get(lang, _MONEY_UNITS["zh"])
    for threshold, suffix, decimals in units:
        shown = round(a / _DIVISOR[suffix], decimals)
        if shown * _DIVISOR[suffix] >= threshold or threshold == 1.0:
            return f"{sign}¥{shown:,.{decimals}f}{suffix}"
    raise AssertionError("unreachable")


def percent(x: float | None) -> str:
    return NO_VALUE if _missing(x) else f"{float(x) * 100:.1f}%"


def points(x: float | None, lang: str) -> str:
    """A difference of two shares, in percentage points, signed."""
    return NO_VALUE if _missing(x) else t("unit.pp", lang, v=f"{float(x) * 100:+.1f}")


def days(x: float | None, lang: str, *, signed: bool = False) -> str:
    if _missing(x):
        return NO_VALUE
    return t("unit.days", lang, v=f"{float(x):+.1f}" if signed else f"{float(x):.1f}")


def money_axis_divisor(lang: str) -> float:
    """Charts show amounts in 万元 (zh) or millions (en)."""
    return 1e4 if lang == "zh" else 1e6


_MD_SPECIAL = set("\\`*_{}[]()<>#+-.!|~$:")


def plain(text: object) -> str:
    """Data (names typed into the CRM) made safe for Markdown labels: every Markdown or HTML character is
    backslash-escaped, so ``<script>`` or ``**x**`` shows as typed and never becomes markup."""
    s = "" if text is None else str(text)
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in s)
