"""Who may see which rows: the user's scope, applied by the query layer as a parameterised row filter.

Login comes later; until then every session gets ``Scope.everything()``. Every query over business rows
takes a ``Scope`` and calls ``opportunity_filter`` so the filter lives in one place. The SQL fragments are
constants; the values always travel as query parameters. Unknown roles, and restricted roles without the
id they are restricted to, see nothing (fail closed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# roles that see every opportunity (DESIGN.md, access table)
FULL_ACCESS_ROLES = frozenset({"executive", "finance"})


@dataclass(frozen=True)
class Scope:
    role: str
    user_id: str | None = None
    team_id: str | None = None
    region: str | None = None

    @classmethod
    def everything(cls) -> Scope:
        return cls(role="executive")

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
            if not self.team_id:
                return "FALSE", []
            clauses.append(f"{alias}.team_id = ?")
            params.append(self.team_id)
        elif self.role not in FULL_ACCESS_ROLES:
            return "FALSE", []
        if self.region is not None:
            clauses.append(f"{alias}.region = ?")
            params.append(self.region)
        return (" AND ".join(clauses) or "TRUE"), params


def current_scope() -> Scope:
    """The scope of the signed-in user. No login yet: everyone sees everything."""
    return Scope.everything()
