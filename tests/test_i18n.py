"""The UI catalogs (dashboards/locales/*.toml): same keys and placeholders in both languages, no duplicates,
no unused key; vocabulary codes labelled from the contract in both languages."""

from __future__ import annotations

import ast
import string
import tomllib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from contract.vocabularies import VOCABULARIES
from dashboards import i18n
from dashboards.i18n import LANGS, STRINGS, catalog, t, vocab_label, vocabulary_strings
from dashboards.testing import build_snapshot, sign_in


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
    assert {
        k: (placeholders(zh[k]), placeholders(en[k]))
        for k in zh
        if placeholders(zh[k]) != placeholders(en[k])
    } == PLACEHOLDERS_DIFFER


@pytest.mark.parametrize(
    "text",
    [
        '[a]\nx = "1"\nx = "2"\n',
        '[a]\nx = "1"\n[a]\ny = "2"\n',
        '[a]\nx = "1"\n"x" = "2"\n',
        '[a]\nspan = "1"\nspan.month = "2"\n',
    ],
)
def test_toml_rejects_a_key_written_twice(text):
    with pytest.raises(tomllib.TOMLDecodeError):
        tomllib.loads(text)


def test_a_dotted_key_reached_by_two_spellings_is_rejected(tmp_path, monkeypatch):
    (tmp_path / "xx.toml").write_text(
        '[perf]\n"span.month" = "a"\n\n[perf.span]\nmonth = "b"\n', encoding="utf-8"
    )
    monkeypatch.setattr(i18n, "LOCALES_DIR", tmp_path)
    with pytest.raises(ValueError, match="perf.span.month"):
        catalog("xx")


# ---- every key is used --------------------------------------------------------------------------------

DASHBOARDS = Path(__file__).resolve().parent.parent / "dashboards"
# keys built at run time: f"<prefix>{code}" in dashboards/ (each prefix must still occur as an f-string head)
DYNAMIC_PREFIXES = (
    "nav.",
    "kpi.",
    "help.",
    "quality.",
    "reason.",
    "action.",
    "deal.reasons_",
    "users.action.",
    "money.col.",
    "money.period.",
    "money.aging.",
    "money.s2c.step.",
    "money.coll.scope_",
    "money.coll.kpi.",
    "money.coll.help.",
    "money.chn.kpi.",
    "money.chn.help.",
    "money.chn.model.",
    "money.chn.chart.",
    "money.dlv.kpi.",
    "money.dlv.help.",
    "money.dlv.bin.",
    "fn.col.",
    "fn.kpi.",
    "fn.help.",
    "fn.by.",
    "fn.window.",
    "fn.sim.col.",
    "fn.sim.kpi.",
    "fn.sim.help.",
    "cust.lifecycle.",
    "cust.kpi.",
    "cust.m.",
    "cust.tab.",
    "cust.nps.",
    "cust.segtype.",
    "perf.col.",
    "perf.by_",
    "perf.kpi.",
    "perf.rank.",
    "perf.help.",
    "perf.chart.rank.",
    "perf.span.",
    "perf.status.",
    "fc.col.",
    "fc.kpi.",
    "fc.help.",
    "fc.ptype.",
    "fc.level.",
    "fc.method.",
    "fc.origin.",
)
# catalog namespaces a view passes whole to code_label / vocab_label ("<namespace>.<code>"): customers.py's
# _codes(...) and SEGMENT_LABELS, the deal page's touchpoints, and the codes the marts add to a vocabulary
KIND_PREFIXES = (
    "cust.aging.",
    "cust.nps.",
    "cust.direction.",
    "cust.segment.",
    "channel.",
    "lead_source.",
    "size_band.",
)


def _code_strings() -> tuple[set[str], set[str]]:
    """Every string literal in dashboards/**/*.py, and the literal heads of its f-strings."""
    literals, heads = set(), set()
    for path in DASHBOARDS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
                heads.add(node.values[0].value)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                literals.add(node.value)
    return literals, heads


def test_every_key_is_used():
    literals, heads = _code_strings()
    assert [p for p in DYNAMIC_PREFIXES if p not in heads] == []  # a stale prefix would hide unused keys
    assert [p for p in KIND_PREFIXES if p.rstrip(".") not in literals] == []
    prefixes = DYNAMIC_PREFIXES + KIND_PREFIXES
    assert sorted(k for k in catalog("zh") if k not in literals and not k.startswith(prefixes)) == []


def test_every_literal_key_exists():
    """A t("...") call with a key in neither catalog would raise on the page; catch it here."""
    literals, _ = _code_strings()
    calls = set()
    for path in DASHBOARDS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "t"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                calls.add(node.args[0].value)
    assert sorted(calls - set(STRINGS["zh"])) == []


# ---- vocabulary labels come from the contract ---------------------------------------------------------


def test_every_vocabulary_code_has_a_label_in_both_languages():
    for vocab, terms in VOCABULARIES.items():
        for term in terms:
            for lang in LANGS:
                assert vocab_label(vocab, term.code, lang).strip(), (vocab, term.code, lang)
            assert vocab_label(vocab, term.code, "zh") == term.zh
            assert STRINGS["en"][f"{vocab}.{term.code}"] == vocab_label(vocab, term.code, "en")


def test_labels_the_pages_showed_before_are_unchanged():
    assert [vocab_label("region", c, "en") for c in ("east", "central")] == ["East", "Central"]
    assert vocab_label("stage", "initial_contact", "en") == "Initial contact"
    assert vocab_label("lead_source", "wechat", "en") == "WeChat"
    assert vocab_label("channel", "social", "en") == "Social media"
    assert vocab_label("industry", "it", "en") == "IT"
    assert t("role.admin", "en") == "Administrator"  # session.py still asks t(f"role.{role}")
    assert (
        vocab_label("size_band", "unknown", "zh") == "未知"
    )  # a code the marts add: the catalog's [size_band]
    assert vocab_label("region", "atlantis", "zh") == "atlantis"


def test_the_catalogs_retype_no_vocabulary_name():
    """A catalog namespace named after a vocabulary holds only codes the contract does not have."""
    for lang in LANGS:
        assert sorted(set(catalog(lang)) & set(vocabulary_strings(lang))) == []


# ---- pages show labels, not codes -----------------------------------------------------------------------

APP = DASHBOARDS / "app.py"


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("SALESCOPE_HOME", str(tmp_path))
    build_snapshot(tmp_path / "serving" / "serving.duckdb")
    return tmp_path


def _page(home: Path, page: str, params: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    for k, v in (params or {}).items():
        at.query_params[k] = v
    sign_in(at, home, "executive", crm_user_id="E1")
    at.run()
    at.switch_page(str(DASHBOARDS / "views" / f"{page}.py")).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _shown(at: AppTest) -> set[str]:
    return {str(v) for df in at.dataframe for col in df.value.columns for v in df.value[col]}


def test_the_deal_risk_page_in_chinese_shows_no_raw_code(home):
    at = _page(home, "deals")
    table = at.dataframe[0].value
    assert set(table[STRINGS["zh"]["col.region"]]) == {"华东", "华北"}
    assert set(table[STRINGS["zh"]["col.stage"]]) <= {term.zh for term in VOCABULARIES["stage"]}
    raw = {term.code for v in ("region", "stage", "channel", "direction") for term in VOCABULARIES[v]}
    assert _shown(at) & raw == set()
    assert at.query_params.get("region") is None  # filters stay on codes: ?region=east, not ?region=华东


def test_the_deal_page_in_chinese_labels_stages_and_touchpoints(home):
    at = _page(home, "deals", {"deal": "D04"})
    raw = {term.code for v in ("region", "stage", "channel", "direction") for term in VOCABULARIES[v]}
    assert at.dataframe and _shown(at) & raw == set()
