"""Which pages each role may open (DESIGN.md access table). The navigation lists only these, and every page
checks again with ``session.require_page`` before it queries anything."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

VIEWS_DIR = Path(__file__).resolve().parent / "views"

BUSINESS = frozenset({"sales_rep", "sales_manager", "finance", "executive"})
SALES = frozenset({"sales_rep", "sales_manager", "executive"})


@dataclass(frozen=True)
class PageSpec:
    key: str  # url path, i18n key nav.<key>, and the file views/<key>.py
    icon: str
    roles: frozenset[str]

    @property
    def path(self) -> Path:
        return VIEWS_DIR / f"{self.key}.py"


MANAGEMENT = frozenset({"sales_manager", "executive"})
MONEY = frozenset({"finance", "executive"})

PAGES: tuple[PageSpec, ...] = (
    PageSpec("overview", ":material/dashboard:", BUSINESS),
    PageSpec("funnel", ":material/filter_alt:", MANAGEMENT),
    PageSpec("performance", ":material/leaderboard:", BUSINESS),
    PageSpec("forecast", ":material/trending_up:", MONEY | {"sales_manager"}),
    PageSpec("deals", ":material/crisis_alert:", SALES),
    PageSpec("channels", ":material/campaign:", MONEY),
    PageSpec("customers", ":material/handshake:", SALES),
    PageSpec("delivery", ":material/engineering:", MONEY),
    PageSpec("collections", ":material/payments:", BUSINESS),
    PageSpec("quality", ":material/fact_check:", frozenset({"data_steward"})),
    PageSpec("users", ":material/group:", frozenset({"admin"})),
)
PAGE_BY_KEY = {p.key: p for p in PAGES}


def pages_for(role: str | None) -> list[PageSpec]:
    return [p for p in PAGES if role in p.roles]


def may_open(role: str | None, key: str) -> bool:
    spec = PAGE_BY_KEY.get(key)
    return spec is not None and role in spec.roles
