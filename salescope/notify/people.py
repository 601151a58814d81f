"""Dashboard users as recipients: their tags (user name, team id, role), language and row scope."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from dashboards.auth_store import AuthStore
from dashboards.scope import Scope, scope_for


@dataclass(frozen=True)
class Recipient:
    username: str
    display_name: str
    role: str
    crm_user_id: str | None
    language: str
    team_id: str | None  # a sales user's team in the snapshot's dim_users

    @property
    def scope(self) -> Scope:
        """Exactly the dashboards' row scope of this user (dashboards.scope.scope_for)."""
        return scope_for(self.role, self.crm_user_id)

    @property
    def tags(self) -> tuple[str, ...]:
        """The user name always; a manager's team too (a team channel is within the manager's scope)."""
        if self.role == "sales_manager" and self.team_id:
            return (self.username, self.team_id)
        return (self.username,)


def recipients(store: AuthStore, con: duckdb.DuckDBPyConnection) -> list[Recipient]:
    """Active dashboard users, with their CRM team from the snapshot."""
    teams = dict(con.execute("SELECT user_id, team_id FROM marts.dim_users").fetchall())
    return [
        Recipient(
            u.username,
            u.display_name,
            u.role,
            u.crm_user_id,
            u.language,
            teams.get(u.crm_user_id) if u.crm_user_id else None,
        )
        for u in store.list_users()
        if u.is_active
    ]
