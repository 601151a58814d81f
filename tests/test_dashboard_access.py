"""Sign-in, roles and row scope in the app (Streamlit AppTest): each role sees its pages only, a rep only
their own deals whatever the URL says, PII is masked in SQL, user data renders as text."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from dashboards import db, queries
from dashboards.auth_store import MAX_FAILED
from dashboards.scope import Scope, scope_for
from dashboards.session import TOKEN_KEY
from dashboards.testing import (
    QUARANTINED_RAW,
    TEST_PASSWORD,
    XSS,
    add_role_users,
    auth_store,
    build_snapshot,
    sign_in,
)

APP = Path(__file__).resolve().parent.parent / "dashboards" / "app.py"
VIEWS = APP.parent / "views"
TIMEOUT = 60
# role -> the pages in its navigation, in order
EXPECTED_PAGES = {
    "sales_rep": ["overview", "performance", "deals", "customers", "collections"],
    "sales_manager": ["overview", "funnel", "performance", "forecast", "deals", "customers", "collections"],
    "finance": ["overview", "performance", "forecast", "channels", "delivery", "collections"],
    "executive": [
        "overview",
        "funnel",
        "performance",
        "forecast",
        "deals",
        "channels",
        "customers",
        "delivery",
        "collections",
    ],
    "data_steward": ["quality"],
    "admin": ["users"],
}
TITLES = {
    "overview": "经营概览",
    "funnel": "销售漏斗",
    "performance": "业绩",
    "forecast": "预测",
    "deals": "商机风险",
    "channels": "渠道",
    "customers": "客户",
    "delivery": "项目交付",
    "collections": "回款",
    "quality": "数据质量",
    "users": "用户",
}


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("SALESCOPE_HOME", str(tmp_path))
    build_snapshot(tmp_path / "serving" / "serving.duckdb")
    add_role_users(tmp_path)
    return tmp_path


def app(home: Path, role: str | None = None, params: dict | None = None, page: str | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    for k, v in (params or {}).items():
        at.query_params[k] = v
    if role:
        sign_in(at, home, role, username=add_role_users(home)[role])
    at.run()
    if page:
        at.switch_page(str(VIEWS / f"{page}.py")).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> str:
    return " ".join(
        str(e.value)
        for kind in ("markdown", "caption", "error", "warning", "info", "title", "subheader")
        for e in at.get(kind)
    )


# ---- sign-in ----------------------------------------------------------------------------------------


def test_signed_out_sees_only_the_login_form_on_any_page(home):
    at = app(home, params={"deal": "D07"})
    assert at.title[0].value == "登录 Salescope"
    assert not at.metric and not at.dataframe
    assert at.query_params["deal"] == "D07"  # the shared link survives the sign-in


def test_login_form_wrong_then_right_password(home):
    at = app(home)
    at.text_input(key="login_username").input("exec")
    at.text_input(key="login_password").input("wrong-password")
    at.button[0].click().run()
    assert "用户名或密码错误" in at.error[0].value
    at.text_input(key="login_username").input("exec")
    at.text_input(key="login_password").input(TEST_PASSWORD)
    at.button[0].click().run()
    assert not at.exception
    assert at.title[0].value == "经营概览" and at.metric
    assert at.session_state["login_password"] == ""  # the password is not kept in the session


def test_locked_out_user_stays_out(home):
    at = app(home, params={"lang": "en"})
    for _ in range(MAX_FAILED):
        at.text_input(key="login_username").input("rep1")
        at.text_input(key="login_password").input("guess")
        at.button[0].click().run()
    assert "locked" in at.error[0].value
    at.text_input(key="login_username").input("rep1")
    at.text_input(key="login_password").input(TEST_PASSWORD)
    at.button[0].click().run()
    assert "locked" in at.error[0].value and not at.metric
    assert ("rep1", "locked") in [(e["username"], e["event"]) for e in auth_store(home).audit_log()]


def test_logout_ends_the_session_and_the_token_cannot_be_reused(home):
    at = app(home, "executive")
    token = at.session_state[TOKEN_KEY]
    at.sidebar.button(key="logout").click().run()
    assert at.title[0].value == "登录 Salescope"
    assert auth_store(home).session_user(token) is None
    at.session_state[TOKEN_KEY] = token  # replaying the old token
    at.run()
    assert at.title[0].value == "登录 Salescope" and not at.metric


def test_a_forged_token_is_refused(home):
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.session_state[TOKEN_KEY] = "x" * 43
    at.run()
    assert at.title[0].value == "登录 Salescope"


# ---- pages per role ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(EXPECTED_PAGES))
def test_each_role_opens_its_pages_without_errors(home, role):
    at = app(home, role)
    for page in EXPECTED_PAGES[role]:
        at.switch_page(str(VIEWS / f"{page}.py")).run()
        assert not at.exception, (role, page, [e.value for e in at.exception])
        assert at.title[0].value == TITLES[page]
        assert not at.error, (role, page, [e.value for e in at.error])
        assert not at.warning, (role, page, [w.value for w in at.warning])
    for page in set(TITLES) - set(EXPECTED_PAGES[role]):
        with pytest.raises(ValueError):  # not in this role's navigation: cannot be opened
            at.switch_page(str(VIEWS / f"{page}.py"))


def test_overview_figures_follow_the_scope(home):
    snap = db.current_snapshot(home / "serving" / "serving.duckdb")
    con = duckdb.connect(str(home / "serving" / "serving.duckdb"), read_only=True)
    june_all = con.execute(
        "SELECT bookings_cny FROM marts.mart_bookings_monthly WHERE month = '2026-06-01'"
    ).fetchone()[0]
    june_r1 = con.execute(
        "SELECT coalesce(sum(amount_cny), 0) FROM marts.fct_opportunities WHERE owner_user_id = 'R1' "
        "AND date_trunc('month', won_at) = '2026-06-01'"
    ).fetchone()[0]
    june_t1 = con.execute(
        "SELECT coalesce(sum(amount_cny), 0) FROM marts.fct_opportunities WHERE team_id = 'T1' "
        "AND date_trunc('month', won_at) = '2026-06-01'"
    ).fetchone()[0]
    con.close()
    from dashboards.formatting import money

    for role, expected in (
        ("executive", june_all),
        ("finance", june_all),
        ("sales_rep", june_r1),
        ("sales_manager", june_t1),
    ):
        at = app(home, role)
        assert {m.label: m.value for m in at.metric}["签约额"] == money(float(expected), "zh"), role
    assert june_all == 6_345_678 and june_r1 == 0 and june_t1 == 2_000_000
    assert queries.opportunities(snap, scope_for("sales_manager", "M1"))["team_id"].unique().tolist() == [
        "T1"
    ]


# ---- a rep cannot reach other rows --------------------------------------------------------------------


def deal_ids(at: AppTest) -> set[str]:
    df = at.dataframe[0].value
    return set(df.iloc[:, 0])


def test_rep_sees_only_own_open_deals_whatever_the_url(home):
    at = app(home, "sales_rep", page="deals")
    assert deal_ids(at) == {"D04", "D10"}
    for params in (
        {"rep": "R3"},
        {"team": "T2"},
        {"region": "north"},
        {"rep": "R3", "team": "T2", "region": "north"},
    ):
        at = app(home, "sales_rep", params=params, page="deals")
        assert not at.error
        assert deal_ids(at) == {"D04", "D10"}, params  # foreign ids are dropped, never widen the scope


def test_rep_cannot_open_another_reps_deal_by_url(home):
    at = app(home, "sales_rep", params={"deal": "D09"}, page="deals")  # R3's deal
    assert "没有找到这个商机" in at.warning[0].value
    assert "D09" not in texts(at) and not at.metric
    at = app(home, "sales_rep", params={"deal": "D04"}, page="deals")  # own deal
    assert not at.warning and "D04" in texts(at)


def test_manager_sees_the_team_and_filters_narrow_it(home):
    at = app(home, "sales_manager", page="deals")
    assert deal_ids(at) == {"D04", "D06", "D10"}  # R1 and R2, team T1
    at = app(home, "sales_manager", params={"rep": "R2"}, page="deals")
    assert deal_ids(at) == {"D06"}
    assert at.query_params["rep"] == "R2"
    at = app(home, "executive", params={"region": "north"}, page="deals")
    assert deal_ids(at) == {"D09"}


@pytest.mark.parametrize("evil", ["' OR 1=1 --", 'R1\'; DROP TABLE marts.fct_opportunities; --" OR ""="'])
def test_sql_injection_strings_in_filters_are_harmless(home, evil):
    at = app(
        home, "sales_rep", params={"rep": evil, "region": evil, "team": evil, "deal": evil}, page="deals"
    )
    assert not at.error and "没有找到这个商机" in at.warning[0].value
    at = app(home, "executive", params={"rep": evil, "region": evil, "team": evil}, page="deals")
    assert not at.error and len(deal_ids(at)) == 4  # every open deal: the bad values are ignored
    snap = db.current_snapshot(home / "serving" / "serving.duckdb")
    flt = queries.DealFilter(region=evil, team_id=evil, owner_user_id=evil, stage=evil)
    assert queries.open_deals(snap, Scope.everything(), flt).empty  # as parameters they match nothing
    assert queries.deal(snap, Scope(role="sales_rep", user_id=evil), "D04").empty


def test_markup_in_names_renders_as_text(home):
    at = app(home, "sales_rep", params={"deal": "D04"}, page="deals")
    caption = at.caption[0].value
    assert r"\<script\>alert\(1\)\</script\>" in caption  # escaped Markdown: shown literally, never markup
    store = auth_store(home)
    store.add_user(XSS, TEST_PASSWORD, "admin", display_name=XSS)
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.session_state[TOKEN_KEY] = store.login(XSS, TEST_PASSWORD).token
    at.run()
    assert not at.exception
    assert XSS in set(at.dataframe[0].value.iloc[:, 0])  # the users table shows the name as data
    assert r"\<script\>" in " ".join(c.value for c in at.sidebar.caption)


# ---- PII ---------------------------------------------------------------------------------------------


def test_steward_quarantine_masks_contact_pii_in_sql(home):
    at = app(home, "data_steward")
    assert at.title[0].value == "数据质量"
    raw = [df.value for df in at.dataframe if "原始记录（已隐去联系方式）" in df.value.columns][0].iloc[0, -1]
    assert "13812345678" not in raw and "wang.wu@example.cn" not in raw
    assert "王五" in raw and '"amount":"abc"' in raw  # what the steward needs to fix stays
    assert "13812345678" in QUARANTINED_RAW


def test_pii_expression_by_role():
    assert Scope(role="sales_rep", user_id="R1").pii("c.phone", "phone") == "c.phone"
    assert Scope(role="sales_manager", user_id="M1").pii("c.email", "email") == "c.email"
    con = duckdb.connect()
    for role in ("executive", "finance", "data_steward", "admin", "none"):
        s = Scope(role=role)
        row = con.execute(
            f"SELECT {s.pii('phone', 'phone')}, {s.pii('email', 'email')}, {s.pii('wechat')} "
            "FROM (SELECT '13812345678' AS phone, 'wang.wu@example.cn' AS email, 'wx_wang' AS wechat)"
        ).fetchone()
        assert row == ("***5678", "w***@example.cn", "***"), role
    with pytest.raises(ValueError):
        Scope(role="executive").pii("phone); DROP TABLE x; --")


def test_export_is_audited(home):
    at = app(home, "executive")
    at.get("download_button")[0].click().run()  # on_click writes the audit entry
    assert ("exec", "export") in [(e["username"], e["event"]) for e in auth_store(home).audit_log()]


# ---- deal page ----------------------------------------------------------------------------------------


def frame_with(at: AppTest, column: str):
    return next(df.value for df in at.dataframe if column in df.value.columns)


def test_deal_page_contacts_pii_by_role(home):
    at = app(home, "sales_rep", params={"deal": "D04"}, page="deals")  # own deal at account A2
    contacts = frame_with(at, "电话")
    assert contacts.iloc[0]["电话"] == "13900001111" and contacts.iloc[0]["邮箱"] == "chen@huaguang.cn"
    at = app(home, "sales_manager", params={"deal": "D04"}, page="deals")  # the rep's manager
    assert frame_with(at, "电话").iloc[0]["电话"] == "13900001111"
    at = app(home, "executive", params={"deal": "D04"}, page="deals")
    row = frame_with(at, "电话").iloc[0]
    assert (row["电话"], row["邮箱"], row["微信"]) == ("***1111", "c***@huaguang.cn", "***")


def test_stalled_deal_shows_reasons_actions_history_and_timeline(home):
    at = app(home, "executive", params={"deal": "D09", "lang": "en"}, page="deals")
    text = texts(at)
    assert "Stalled deal" in text
    assert "No touchpoint in 14 days" in text and "Book a visit or a call" in text
    assert frame_with(at, "Next stage").shape[0] == 1
    assert frame_with(at, "Channel").iloc[0]["Subject"] == "首次拜访"
    assert {m.label: m.value for m in at.metric}["Win probability (model)"] == "25.0%"
    assert "90 days in the current stage" in text and "agree the next step" in text
    snap = db.current_snapshot(home / "serving" / "serving.duckdb")
    assert queries.deal_score(snap, scope_for("sales_rep", "R1"), "D09").empty  # R3's deal: no score for R1
    assert queries.next_actions(snap, scope_for("sales_rep", "R1"), "D09").empty
    at = app(home, "executive", page="deals")
    assert "4 个在手商机，其中 2 个停滞" in texts(at)
    assert list(at.dataframe[0].value.iloc[:2, 0]) == ["D09", "D04"]  # stalled first


def test_pages_without_their_marts_say_not_yet_available(home):
    build_snapshot(home / "serving" / "serving.duckdb", deal_marts=False)
    at = app(home, "executive", params={"deal": "D09"}, page="deals")
    assert "尚未提供" in texts(at) and "marts.mart_deal_risk" in texts(at)
    assert not at.error
    at = app(home, "executive", page="deals")
    assert "4 个在手商机，按在当前阶段停留天数排序" in texts(at)


def test_empty_state_on_every_page_without_snapshot(home):
    (home / "serving" / "serving.duckdb").unlink()
    for role in ("executive", "data_steward"):  # between them, every page that reads the snapshot
        for page in EXPECTED_PAGES[role]:
            at = app(home, role, page=page)
            assert not at.error, (role, page)
            assert "salescope run" in texts(at), (role, page)


# ---- users page ---------------------------------------------------------------------------------------


def test_admin_adds_a_user_and_sees_the_audit_log(home):
    at = app(home, "admin", params={"lang": "en"})
    at.text_input[0].input("newbie")
    at.text_input[1].input("New Person")
    at.selectbox[0].set_value("finance")
    submit = [b for b in at.button if b.label == "Add a user"][0]
    submit.click().run()
    assert not at.exception
    assert "Added newbie" in at.success[0].value
    password = at.success[0].value.rsplit(": ", 1)[1]
    assert auth_store(home).login("newbie", password).reason == "ok"
    at.run()
    assert "newbie" in set(at.dataframe[0].value.iloc[:, 0])
    assert "login_ok" in set(at.dataframe[1].value["Event"])


# ---- mart pages ---------------------------------------------------------------------------------------


def test_performance_rows_follow_the_scope(home):
    at = app(home, "sales_rep", page="performance", params={"month": "2026-05"})
    table = frame_with(at, "销售")
    assert list(table["销售"]) == ["张伟"]  # R1 only
    assert table.iloc[0]["签约额（元）"] == 3_500_000  # D03, won in May
    at = app(home, "sales_manager", page="performance")
    assert set(frame_with(at, "销售")["销售"]) == {"张伟", "王芳"}  # team T1
    at = app(home, "executive", page="performance", params={"rep": "R3"})
    assert set(frame_with(at, "销售")["销售"]) == {"赵强"}


def test_collections_scope_goes_through_the_deals(home):
    at = app(home, "sales_rep", page="collections")
    assert set(frame_with(at, "合同编号")["合同编号"]) == {"K-D01", "K-D03"}
    at = app(home, "finance", page="collections")
    assert set(frame_with(at, "合同编号")["合同编号"]) == {"K-D01", "K-D03", "K-D05", "K-D07"}
    over_90 = {m.label: m.value for m in at.metric}["逾期 90 天以上"]
    from dashboards.formatting import money

    assert over_90 == money((1_200_000 + 3_500_000 + 2_000_000 + 4_345_678) / 4, "zh")


def test_a_page_whose_mart_is_missing_says_not_yet_available(home):
    at = app(home, "executive", page="funnel")
    assert "尚未提供" in texts(at) and "marts.mart_funnel" in texts(at)
    assert not at.error


def test_overview_attainment_card_is_scoped(home):
    m = {x.label: x for x in app(home, "executive").metric}
    assert m["配额完成率"].value == "211.5%"  # (2,000,000 + 4,345,678) / (3 reps × 1,000,000), June
    assert m["配额完成率"].help.startswith("配额完成率 = 签约额 ÷ 配额")
    m = {x.label: x for x in app(home, "sales_rep").metric}
    assert m["配额完成率"].value == "0.0%"  # R1 won nothing in June
    assert m["配额完成率"].delta == "-350.0 个百分点"  # May: D03 3,500,000 / 1,000,000


def test_mart_page_in_english(home):
    at = app(home, "executive", page="performance", params={"lang": "en"})
    assert at.title[0].value == "Performance"
    assert "Rep" in frame_with(at, "Rep").columns
    assert {x.label for x in at.metric} >= {"Bookings", "Quota attainment"}
