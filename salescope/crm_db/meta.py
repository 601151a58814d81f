"""``_salescope_meta``: where the seeded world stands (scale, seed, frame end, as-of) as key/value text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from salescope.crm_db.schema import META_TABLE, existing_tables, q
from salescope.crm_db.url import CrmDbError


@dataclass(frozen=True)
class WorldMeta:
    scale: float
    seed: int
    as_of: date  # the day the database's world stands at
    until: date  # the simulated frame ends here: advance can go up to this day
    seeded_as_of: date
    advances: int

    def items(self) -> dict[str, str]:
        return {
            "scale": repr(self.scale),
            "seed": str(self.seed),
            "as_of": self.as_of.isoformat(),
            "until": self.until.isoformat(),
            "seeded_as_of": self.seeded_as_of.isoformat(),
            "advances": str(self.advances),
            "timezone": "Asia/Shanghai",
            "generator": "salescope.generator world_tables(scale, seed, as_of, until)",
        }


def write(con, dialect: str, meta: WorldMeta) -> None:
    t = q(dialect, META_TABLE)
    with con.cursor() as cur:
        cur.execute(f"DELETE FROM {t}")
        cur.executemany(f"INSERT INTO {t} (k, v) VALUES (%s, %s)", list(meta.items().items()))


def read(con, dialect: str, masked_url: str) -> WorldMeta:
    if META_TABLE not in existing_tables(con, dialect):
        raise CrmDbError(
            f"{masked_url} holds no seeded CRM world (no {META_TABLE} table): "
            "run `salescope crm-db seed --url ...` first"
        )
    with con.cursor() as cur:
        cur.execute(f"SELECT k, v FROM {q(dialect, META_TABLE)}")
        kv = dict(cur.fetchall())
    try:
        return WorldMeta(
            scale=float(kv["scale"]),
            seed=int(kv["seed"]),
            as_of=date.fromisoformat(kv["as_of"]),
            until=date.fromisoformat(kv["until"]),
            seeded_as_of=date.fromisoformat(kv["seeded_as_of"]),
            advances=int(kv.get("advances", "0")),
        )
    except (KeyError, ValueError) as exc:
        raise CrmDbError(
            f"{META_TABLE} in {masked_url} is incomplete ({exc}): seed the database again (--replace)"
        ) from None
