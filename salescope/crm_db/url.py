"""Database URLs: parse, mask the password in every message, connect, create and drop databases."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit

SCHEMES = {
    "postgresql": "postgresql",
    "postgres": "postgresql",
    "postgresql+psycopg": "postgresql",
    "postgresql+psycopg2": "postgresql",
    "mysql": "mysql",
    "mysql+pymysql": "mysql",
    "mariadb": "mysql",
    "mariadb+pymysql": "mysql",
}
DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306}
_NAME = re.compile(r"^[A-Za-z0-9_]{1,63}$")


class CrmDbError(Exception):
    """A user-facing error: says what went wrong and what to do; never holds a password."""


@dataclass(frozen=True)
class CrmUrl:
    dialect: str  # postgresql | mysql
    host: str
    port: int
    user: str
    password: str | None
    database: str
    raw: str

    @property
    def masked(self) -> str:
        return mask(self.raw, self.password)

    def hide(self, text: str) -> str:
        """``text`` with this URL's password (plain and percent-encoded) replaced by ***."""
        return mask(str(text), self.password, self.raw)

    def with_database(self, name: str) -> CrmUrl:
        if not _NAME.match(name):
            raise CrmDbError(f"database name {name!r}: use letters, digits and _ only")
        p = urlsplit(self.raw)
        raw = urlunsplit((p.scheme, p.netloc, "/" + name, p.query, p.fragment))
        return CrmUrl(self.dialect, self.host, self.port, self.user, self.password, name, raw)


def mask(text: str, password: str | None, raw_url: str | None = None) -> str:
    out = str(text)
    if raw_url:
        secret = _raw_password(raw_url)
        if secret:
            out = out.replace(secret, "***")
    if password:
        out = out.replace(password, "***")
    # any other user:password@ in a URL-looking text
    return re.sub(r"(://[^:/@\s]+):[^@\s]+@", r"\1:***@", out)


def _raw_password(raw: str) -> str | None:
    m = re.match(r"^[^:]+://[^:/@]+:([^@]*)@", raw)
    return m.group(1) if m else None


def parse_url(text: str) -> CrmUrl:
    """``postgresql://user[:pw]@host[:port]/db`` or ``mysql+pymysql://user[:pw]@host[:port]/db``."""
    if "://" not in str(text):
        raise CrmDbError(
            f"{mask(text, None)!r} is not a database URL: use e.g. postgresql://postgres@127.0.0.1:5432/crm "
            "or mysql+pymysql://root@127.0.0.1:3306/crm"
        )
    parts = urlsplit(text)
    dialect = SCHEMES.get(parts.scheme.lower())
    if dialect is None:
        raise CrmDbError(
            f"unsupported database {parts.scheme!r} in {mask(text, None)}: use postgresql://... (PostgreSQL) "
            "or mysql+pymysql://... (MySQL/MariaDB)"
        )
    database = parts.path.lstrip("/")
    if not database:
        raise CrmDbError(f"{mask(text, None)} names no database: add it at the end, e.g. .../crm")
    if not _NAME.match(database):
        raise CrmDbError(f"database name {database!r}: use letters, digits and _ only")
    try:
        port = parts.port or DEFAULT_PORTS[dialect]
    except ValueError:
        raise CrmDbError(f"the port in {mask(text, None)} is not a number") from None
    password = unquote(parts.password) if parts.password is not None else None
    return CrmUrl(
        dialect=dialect,
        host=parts.hostname or "127.0.0.1",
        port=port,
        user=unquote(parts.username)
        if parts.username
        else ("postgres" if dialect == "postgresql" else "root"),
        password=password,
        database=database,
        raw=text,
    )


def connect(url: CrmUrl, database: str | None = None):
    """A DB-API connection (autocommit off). ``database=""`` connects to the server only."""
    db = url.database if database is None else database
    try:
        if url.dialect == "postgresql":
            import psycopg

            return psycopg.connect(
                host=url.host,
                port=url.port,
                user=url.user,
                password=url.password or None,
                dbname=db or "postgres",
                connect_timeout=10,
            )
        import pymysql

        return pymysql.connect(
            host=url.host,
            port=url.port,
            user=url.user,
            password=url.password or "",
            database=db or None,
            charset="utf8mb4",
            connect_timeout=10,
            autocommit=False,
        )
    except Exception as exc:  # driver errors carry the DSN sometimes: always mask
        server = "PostgreSQL" if url.dialect == "postgresql" else "MySQL/MariaDB"
        raise CrmDbError(
            f"cannot connect to {server} at {url.host}:{url.port} as {url.user} (database {db or '-'}): "
            f"{url.hide(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)}. "
            f"Check that the server runs and the URL {url.masked} is right "
            "(create the database first, or use --create)."
        ) from None


def create_database(url: CrmUrl, drop_first: bool = False) -> None:
    con = connect(url, "")
    try:
        if url.dialect == "postgresql":
            con.autocommit = True
            if drop_first:
                con.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
            exists = con.execute("SELECT 1 FROM pg_database WHERE datname = %s", (url.database,)).fetchone()
            if not exists:
                con.execute(f"CREATE DATABASE \"{url.database}\" ENCODING 'UTF8' TEMPLATE template0")
        else:
            with con.cursor() as cur:
                if drop_first:
                    cur.execute(f"DROP DATABASE IF EXISTS `{url.database}`")
                cur.execute(
                    f"CREATE DATABASE IF NOT EXISTS `{url.database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
                )
            con.commit()
    finally:
        con.close()


def drop_database(url: CrmUrl) -> None:
    con = connect(url, "")
    try:
        if url.dialect == "postgresql":
            con.autocommit = True
            con.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
        else:
            with con.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{url.database}`")
            con.commit()
    finally:
        con.close()


@contextmanager
def session(url: CrmUrl, doing: str) -> Iterator:
    """A connection for one unit of work (the caller commits): any error rolls it back, and a driver's error
    becomes a CrmDbError naming the database, ``doing`` and the driver's message, the password hidden."""
    con = connect(url)
    try:
        yield con
    except CrmDbError:
        con.rollback()
        raise
    except Exception as exc:
        con.rollback()
        raise CrmDbError(f"{doing} {url.masked} failed: {url.hide(str(exc))}") from None
    finally:
        con.close()
