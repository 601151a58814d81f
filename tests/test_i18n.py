"""The UI catalogs (dashboards/locales/*.toml): same keys and placeholders in both languages, no duplicates."""

from __future__ import annotations

import string
import tomllib

import pytest

from dashboards import i18n
from dashboards.i18n import LANGS, STRINGS, catalog


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_both_languages_have_the_same_keys():
    assert set(catalog("zh")) == set(catalog("en"))
    assert set(STRINGS["zh"]) == set(STRINGS["en"])


def test_every_string_is_non_empty():
    for lang in LANGS:
        assert [k for k, v in catalog(lang).items() if not v.strip()] == []


# month_label passes y, m and mon: 2024年3月 uses the month's number, Mar 2024 its abbreviation.
PLACEHOLDERS_DIFFER = {"month.fmt": ({"y", "m"}, {"y", "mon"})}


def test_placeholders_are_the_same_in_both_languages():
    zh, en = catalog("zh"), catalog("en")
    assert {k: (placeholders(zh[k]), placeholders(en[k])) for k in zh
            if placeholders(zh[k]) != placeholders(en[k])} == PLACEHOLDERS_DIFFER


@pytest.mark.parametrize("text", ['[a]\nx = "1"\nx = "2"\n', '[a]\nx = "1"\n[a]\ny = "2"\n', '[a]\nx = "1"\n"x" = "2"\n',
                                  '[a]\nspan = "1"\nspan.month = "2"\n'])
def test_toml_rejects_a_key_written_twice(text):
    with pytest.raises(tomllib.TOMLDecodeError):
        tomllib.loads(text)


def test_a_dotted_key_reached_by_two_spellings_is_rejected(tmp_path, monkeypatch):
    (tmp_path / "xx.toml").write_text('[perf]\n"span.month" = "a"\n\n[perf.span]\nmonth = "b"\n', encoding="utf-8")
    monkeypatch.setattr(i18n, "LOCALES_DIR", tmp_path)
    with pytest.raises(ValueError, match="perf.span.month"):
        catalog("xx")
