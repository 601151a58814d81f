"""UI strings, Chinese first, with an English switch.

Every visible label has a key in the catalogs ``dashboards/locales/zh.toml`` and ``en.toml``.
"""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path

import streamlit as st

from contract.vocabularies import VOCABULARIES, en_name, zh_name

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


def _is_code(vocabulary: str, code: str) -> bool:
    return any(term.code == code for term in VOCABULARIES.get(vocabulary, ()))


def vocab_label(vocabulary: str, code: object, lang: str) -> str:
    """How a code of a contract vocabulary (stage, region, channel, ...) is shown.

    Its Chinese name from ``contract/vocabularies.py``, or its English name (``contract.vocabularies.en_name``);
    for a code the marts add to a vocabulary (``size_band`` ``unknown``) the catalog's ``[<vocabulary>]`` table;
    any other code as it is.
    """
    code = str(code)
    if _is_code(vocabulary, code):
        return zh_name(vocabulary, code) if lang == DEFAULT_LANG else en_name(vocabulary, code)
    key = f"{vocabulary}.{code}"
    return catalog(lang).get(key) or catalog(DEFAULT_LANG).get(key) or code


def code_label(kind: str, code: object, lang: str) -> str:
    """A code from the data shown by its label: ``kind`` is a contract vocabulary (``vocab_label``) or a
    catalog namespace (``cust.lifecycle``: the key ``cust.lifecycle.<code>``); an unknown code as it is."""
    return vocab_label(kind, code, lang) if kind in VOCABULARIES else label(f"{kind}.{code}", lang, code)


@functools.cache
def vocabulary_strings(lang: str) -> dict[str, str]:
    """Every contract vocabulary code as a key ``<vocabulary>.<code>`` (``region.east``, ``role.admin``), so
    ``t`` and ``label`` reach them too; the catalogs hold none of them."""
    return {
        f"{v}.{term.code}": vocab_label(v, term.code, lang)
        for v, terms in VOCABULARIES.items()
        for term in terms
    }


def _strings(lang: str) -> dict[str, str]:
    ui, vocab = catalog(lang), vocabulary_strings(lang)
    clash = sorted(set(ui) & set(vocab))
    if clash:
        raise ValueError(f"locales/{lang}.toml retypes vocabulary names that come from the contract: {clash}")
    return {**ui, **vocab}


STRINGS: dict[str, dict[str, str]] = {lang: _strings(lang) for lang in LANGS}

_MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def t(key: str, lang: str, **kwargs: object) -> str:
    text = STRINGS.get(lang, STRINGS[DEFAULT_LANG]).get(key) or STRINGS[DEFAULT_LANG][key]
    return text.format(**kwargs) if kwargs else text


def label(key: str, lang: str, fallback: object) -> str:
    """The string for ``key`` when there is one (codes from the data: ``region.east``, ``reason.stalled``), else
    ``fallback``."""
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
