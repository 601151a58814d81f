"""Who may see which rows: the user's scope, applied by the query layer as a parameterised row filter.

The scope comes from the signed-in user on the server (``current_scope``: the session token in server
memory -> the user in the auth database -> role and CRM user id); never from the URL or a widget. Every
query over business rows takes a ``Scope`` as an argument (so cached results are keyed on it) and calls
``opportunity_filter`` / ``performance_group`` / ``pii`` so the rules live in one place. The SQL fragments are constants; the
values always travel as query parameters. Unknown roles, and restricted roles without the id they are
restricted to, see nothing (fail closed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# roles that see every opportunity (DESIGN.md, access table)
FULL_ACCESS_ROLES = frozenset({"executive", "finance"})
# contact PII (phone, email, WeChat id) is shown only to the owning rep and their manager
PII_ROLES = frozenset({"sales_rep", "sales_manager"})
NOBODY_ROLE = "none"


@dataclass(frozen=True)
class Scope:
    role: str
    user_id: str | None = None
    team_id: str | None = None
    region: str | None = None

    @classmethod
    def everything(cls) -> Scope:
        return cls(role="executive")

    @classmethod
    def nobody(cls) -> Scope:
        return cls(role=NOBODY_ROLE)

    @property
    def sees_pii(self) -> bool:
        return self.role in PII_ROLES

    def pii(self, expr: str, kind: str = "text") -> str:
        """``expr`` when the scope may see contact PII, else a SQL expression that masks it.

        Masking happens in SQL, so the clear value never reaches the dashboard process. ``kind``: phone
        (keep the last 4 digits), email (keep the first letter and the domain), text (all hidden).
        """
        if not all(part.isidentifier() for part in expr.split(".")):
            raise ValueError(f"bad column expression: {expr!r}")
        if self.sees_pii:
            return expr
        if kind == "phone":
            return f"CASE WHEN {expr} IS NULL THEN NULL ELSE '***' || right(CAST({expr} AS VARCHAR), 4) END"
        if kind == "email":
            return (
                f"CASE WHEN {expr} IS NULL THEN NULL "
                f"ELSE left(CAST({expr} AS VARCHAR), 1) || '***@' || split_part(CAST({expr} AS VARCHAR), '@', 2) END"
            )
        return f"CASE WHEN {expr} IS NULL THEN NULL ELSE '***' END"

    @property
    def is_everything(self) -> bool:
        """True when no row filter applies, so whole-company marts can be read as they are."""
        return self.role in FULL_ACCESS_ROLES and self.region is None

    def opportunity_filter(self, alias: str = "o") -> tuple[str, list[Any]]:
        """SQL boolean expression over an opportunity-grained relation, and its parameters."""
        if not alias.isidentifier():
            raise ValueError(f"bad table alias: {alias!r}")
        clauses: list[str] = []
        params: list[Any] = []
        if self.role == "sales_rep":
            if not self.user_id:
                return "FALSE", []
            clauses.append(f"{alias}.owner_user_id = ?")
            params.append(self.user_id)
        elif self.role == "sales_manager":
            if self.team_id:
                clauses.append(f"{alias}.team_id = ?")
                params.append(self.team_id)
            elif self.user_id:  # the manager's team as the snapshot's dim_users has it
                clauses.append(
                    f"{alias}.team_id IN (SELECT u.team_id FROM marts.dim_users AS u WHERE u.user_id = ?)"
                )
                params.append(self.user_id)
            else:
                return "FALSE", []
        elif self.role not in FULL_ACCESS_ROLES:
            return "FALSE", []
        if self.region is not None:
            clauses.append(f"{alias}.region = ?")
            params.append(self.region)
        return (" AND ".join(clauses) or "TRUE"), params

    def performance_group(self, alias: str = "p") -> tuple[str, list[Any]]:
        """SQL boolean expression over rows with ``level`` and ``group_id`` (the sales-performance marts: rep,
        team, region, company), and its parameters: the one group whose deals are the scope's opportunities.

        Same rules as ``opportunity_filter``: a rep is their own group, a manager their team (the deal's team),
        a regional view its region, full access the company. A scope no single group describes (a region on
        top of a rep or a team), a restricted role without its id, or any other role: FALSE (fail closed)."""
        if not alias.isidentifier():
            raise ValueError(f"bad table alias: {alias!r}")
        level, group = f"{alias}.level", f"{alias}.group_id"
        if self.region is not None:
            if self.role in FULL_ACCESS_ROLES:
                return f"{level} = 'region' AND {group} = ?", [self.region]
            return "FALSE", []
        if self.role == "sales_rep" and self.user_id:
            return f"{level} = 'rep' AND {group} = ?", [self.user_id]
        if self.role == "sales_manager" and self.team_id:
            return f"{level} = 'team' AND {group} = ?", [self.team_id]
        if (
            self.role == "sales_manager" and self.user_id
        ):  # the manager's team as the snapshot's dim_users has it
            return (
                f"{level} = 'team' AND {group} IN (SELECT u.team_id FROM marts.dim_users AS u WHERE u.user_id = ?)",
                [self.user_id],
            )
        if self.role in FULL_ACCESS_ROLES:
            return f"{level} = 'company'", []
        return "FALSE", []


def _check_col(col: str) -> None:
    if not all(part.isidentifier() for part in col.split(".")):
        raise ValueError(f"bad column: {col!r}")


def row_filter(scope: Scope, *, owner: str | None = None, team: str | None = None) -> tuple[str, list[Any]]:
    """The scope as a filter over any relation that has an owner (CRM user id) column and/or a team column.

    rep: ``owner`` = their user id (FALSE without an owner column); manager: ``team`` = their team, or the
    owner is a member of their team; executive, finance: everything; anyone else: nothing.
    """
    for col in (owner, team):
        if col is not None:
            _check_col(col)
    if scope.role in FULL_ACCESS_ROLES and scope.region is None:
        return "TRUE", []
    if scope.role == "sales_rep" and scope.user_id and owner:
        return f"{owner} = ?", [scope.user_id]
    if scope.role == "sales_manager" and (scope.team_id or scope.user_id):
        team_sql, params = (
            ("?", [scope.team_id])
            if scope.team_id
            else ("(SELECT m.team_id FROM marts.dim_users AS m WHERE m.user_id = ?)", [scope.user_id])
        )
        if team:
            return f"{team} IN ({team_sql})", params
        if owner:
            return (
                f"{owner} IN (SELECT t.user_id FROM marts.dim_users AS t WHERE t.team_id IN ({team_sql}))",
                params,
            )
    return "FALSE", []


def scope_for(role: str | None, crm_user_id: str | None) -> Scope:
    """The row scope of a user with this role (DESIGN.md access table)."""
    if role in ("sales_rep", "sales_manager"):
        return Scope(role=role, user_id=crm_user_id)
    if role in FULL_ACCESS_ROLES:
        return Scope(role=role)
    if role in ("data_steward", "admin"):
        return Scope(role=role)  # no business rows: opportunity_filter is FALSE, PII masked
    return Scope.nobody()


def current_scope() -> Scope:
    """The scope of the signed-in user, from the server-side session; nobody when signed out."""
    from dashboards.session import current_user

    user = current_user()
    return scope_for(user.role, user.crm_user_id) if user else Scope.nobody()
