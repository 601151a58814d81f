"""Users (用户), admin only: who may sign in, their roles, lockouts, and the audit log.

The same operations as ``salescope users``; user names are shown as plain text (never as HTML)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboards import pagekit, session
from dashboards.auth_store import ROLES, AuthError, new_password
from dashboards.i18n import t, vocab_label


def _users_table(lang: str) -> pd.DataFrame:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    rows = [
        {
            t("ucol.username", lang): u.username,
            t("ucol.name", lang): u.display_name,
            t("ucol.role", lang): vocab_label("role", u.role, lang),
            t("ucol.crm_user", lang): u.crm_user_id or "",
            t("ucol.active", lang): u.is_active,
            t("ucol.locked", lang): u.is_locked(now),
            t("ucol.created", lang): u.created_at.strftime("%Y-%m-%d %H:%M"),
        }
        for u in session.store().list_users()
    ]
    return pd.DataFrame(rows)


def _act(fn, done: str) -> None:
    try:
        fn()
    except AuthError as exc:
        st.session_state["_users_msg"] = ("error", str(exc))
    else:
        st.session_state["_users_msg"] = ("success", done)


def render(lang: str) -> None:
    st.title(t("users.title", lang))
    admin = session.require_page("users", lang)
    if admin is None:
        return
    store = session.store()
    kind, text = st.session_state.pop("_users_msg", (None, None))
    if kind == "error":
        st.error(text, icon=":material/error:")
    elif kind == "success":
        st.success(text, icon=":material/check_circle:")

    table = _users_table(lang)
    st.dataframe(table, hide_index=True, width="stretch")
    session.download_csv(table, "users.list", "salescope_users.csv", lang, key="dl_users")
    names = [u.username for u in store.list_users()]
    role_fmt = lambda r: vocab_label("role", r, lang)  # noqa: E731

    with (
        st.expander(t("users.add", lang), icon=":material/person_add:"),
        st.form("add_user", clear_on_submit=True),
    ):
        username = st.text_input(t("ucol.username", lang))
        display = st.text_input(t("ucol.name", lang))
        role = st.selectbox(t("ucol.role", lang), ROLES, format_func=role_fmt)
        crm = st.text_input(t("ucol.crm_user", lang), help=t("users.crm_help", lang))
        if st.form_submit_button(t("users.add", lang), type="primary"):
            pw = new_password()
            _act(
                lambda: store.add_user(
                    username, pw, role, display_name=display or None, crm_user_id=crm or None
                ),
                t("users.added", lang, user=username, password=pw),
            )
            st.rerun()

    with st.expander(t("users.change", lang), icon=":material/manage_accounts:"), st.form("change_user"):
        who = st.selectbox(t("ucol.username", lang), names, index=None)
        action = st.radio(
            t("users.action", lang),
            ("set_role", "disable", "enable", "unlock", "reset_password"),
            format_func=lambda a: t(f"users.action.{a}", lang),
            horizontal=True,
        )
        new_role = st.selectbox(t("ucol.role", lang), ROLES, format_func=role_fmt, key="new_role")
        crm = st.text_input(t("ucol.crm_user", lang), key="new_crm", help=t("users.crm_help", lang))
        if st.form_submit_button(t("users.apply", lang), type="primary") and who:
            if who == admin.username and action in ("disable", "set_role"):
                st.session_state["_users_msg"] = ("error", t("users.not_self", lang))
            elif action == "set_role":
                _act(lambda: store.set_role(who, new_role, crm or None), t("users.done", lang, user=who))
            elif action in ("disable", "enable"):
                _act(lambda: store.set_active(who, action == "enable"), t("users.done", lang, user=who))
            elif action == "unlock":
                _act(lambda: store.unlock(who), t("users.done", lang, user=who))
            else:
                pw = new_password()
                _act(lambda: store.reset_password(who, pw), t("users.reset", lang, user=who, password=pw))
            st.rerun()

    st.subheader(t("users.audit", lang))
    audit = pd.DataFrame(store.audit_log(500), columns=["id", "at", "username", "event", "detail"])
    audit = audit.drop(columns="id").rename(
        columns={
            "at": t("acol.at", lang),
            "username": t("ucol.username", lang),
            "event": t("acol.event", lang),
            "detail": t("acol.detail", lang),
        }
    )
    st.dataframe(audit, hide_index=True, width="stretch")
    session.download_csv(audit, "users.audit", "salescope_audit.csv", lang, key="dl_audit")


pagekit.run_page("users", render)
