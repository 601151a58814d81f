"""UI strings, Chinese first, with an English switch.

Every visible label has a key in the catalogs ``dashboards/locales/zh.toml`` and ``en.toml``.
"""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path

import streamlit as st

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
LANG_NAMES = {"zh": "中文", "en": "English"}
LANG_KEY = "lang"  # session-state key and URL query parameter

LOCALES_DIR = Path(__file__).with_name("locales")


def _flatten(table: dict, prefix: str, out: dict[str, str], source: Path) -> dict[str, str]:
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict):
            _flatten(value, f"{key}.", out, source)
        elif not isinstance(value, str):
            raise TypeError(f"{source}: {key} is not a string")
        elif key in out:  # e.g. [perf] "span.month" and [perf.span] month: TOML allows both, we do not
            raise ValueError(f"{source}: key {key} is defined twice")
        else:
            out[key] = value
    return out


@functools.cache
def catalog(lang: str) -> dict[str, str]:
    """The UI strings of ``lang`` from ``locales/<lang>.toml``, flattened to dotted keys (read once).

    One table per namespace (``[overview]`` holds ``overview.title``); keys inside a table may contain dots
    when quoted (``[perf] "span.month"``). TOML rejects a key written twice in one table; a dotted key that
    two spellings flatten to is rejected here.
    """
    path = LOCALES_DIR / f"{lang}.toml"
    with path.open("rb") as f:
        return _flatten(tomllib.load(f), "", {}, path)


STRINGS: dict[str, dict[str, str]] = {lang: catalog(lang) for lang in LANGS}

_MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def t(key: str, lang: str, **kwargs: object) -> str:
    text = STRINGS.get(lang, STRINGS[DEFAULT_LANG]).get(key) or STRINGS[DEFAULT_LANG][key]
    return text.format(**kwargs) if kwargs else text


def label(key: str, lang: str, fallback: object) -> str:
    """The string for ``key`` when there is one (codes from the data: stages, regions), else ``fallback``."""
    text = STRINGS.get(lang, {}).get(key) or STRINGS[DEFAULT_LANG].get(key)
    return text if text is not None else str(fallback)


def month_label(year: int, month: int, lang: str) -> str:
    return t("month.fmt", lang, y=year, m=month, mon=_MONTH_ABBR[month - 1])


def current_lang() -> str:
    """The language picked in the sidebar (bound to the ``lang`` query parameter)."""
    lang = st.session_state.get(LANG_KEY)
    return lang if lang in LANGS else DEFAULT_LANG


def language_selector() -> str:
    """Sidebar language switch, Chinese by default, kept in sync with ``?lang=zh|en``.

    Not ``bind="query-params"``: that writes the shown label (``?lang=English``) into the URL; the code is
    the stable, shareable value.
    """
    if LANG_KEY not in st.session_state:
        requested = st.query_params.get(LANG_KEY)
        st.session_state[LANG_KEY] = requested if requested in LANGS else DEFAULT_LANG
    lang = st.sidebar.segmented_control(
        STRINGS[DEFAULT_LANG]["app.language"],
        options=list(LANGS),
        format_func=LANG_NAMES.__getitem__,
        required=True,
        key=LANG_KEY,
    )
    lang = lang if lang in LANGS else DEFAULT_LANG
    if lang == DEFAULT_LANG:
        st.query_params.pop(LANG_KEY, None)
    elif st.query_params.get(LANG_KEY) != lang:
        st.query_params[LANG_KEY] = lang
    return lang
