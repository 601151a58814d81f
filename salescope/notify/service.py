"""The passes the CLI and the Dagster sensors run: digests, alerts, the run alert, a test message."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import duckdb

from dashboards.auth_store import AuthStore
from dashboards.db import open_readonly
from salescope.notify import alerts, catalog, targets
from salescope.notify.content import snapshot_as_of
from salescope.notify.digest import Digest, build, due_roles, send_digests
from salescope.notify.dispatch import Notification, Outcome, send
from salescope.notify.log import NotifyLog
from salescope.notify.people import Recipient, recipients
from salescope.settings import Settings


class NothingToRead(RuntimeError):
    """No serving snapshot yet."""


@contextlib.contextmanager
def snapshot(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """The published serving snapshot, read-only (dashboards.db.open_readonly)."""
    if not settings.serving_path.exists():
        raise NothingToRead(f"no serving snapshot at {settings.serving_path}: run `salescope run` first")
    con = open_readonly(str(settings.serving_path))
    try:
        yield con
    finally:
        con.close()


def people(settings: Settings, con: duckdb.DuckDBPyConnection) -> list[Recipient]:
    return recipients(AuthStore(settings.auth_db_path), con)


@dataclass(frozen=True)
class DigestPass:
    as_of: date
    digests: list[Digest]
    outcomes: list[Outcome]


def digests(
    settings: Settings,
    *,
    username: str | None = None,
    role: str | None = None,
    send_them: bool = False,
    only_due: bool = False,
) -> DigestPass:
    """Build the digests of the chosen users (all with a digest role by default); send them when asked."""
    log = NotifyLog(settings.notify_dir)
    with snapshot(settings) as con:
        as_of = snapshot_as_of(con)
        chosen = [
            p
            for p in people(settings, con)
            if (username is None or p.username == username)
            and (role is None or p.role == role)
            and (not only_due or p.role in due_roles(as_of))
        ]
        if username is not None and not chosen:
            raise LookupError(
                f"no active dashboard user {username!r}: `salescope users list` shows who exists"
            )
        built = [d for p in chosen if (d := build(con, log, p, as_of, settings.public_url))]
    outcomes: list[Outcome] = []
    if send_them and built:
        found = targets.load(settings.notify_config_path)
        with log.pass_lock():
            outcomes = send_digests(log, found, built)
    return DigestPass(as_of, built, outcomes)


def alert_notes(settings: Settings) -> list[Notification]:
    with snapshot(settings) as con:
        return alerts.deal_alerts(
            con, people(settings, con), snapshot_as_of(con), settings.public_url, settings.large_deal_cny
        )


def send_notes(settings: Settings, notes: list[Notification]) -> list[Outcome]:
    log = NotifyLog(settings.notify_dir)
    found = targets.load(settings.notify_config_path)
    with log.pass_lock():
        return send(log, found, notes)


def after_publish(settings: Settings) -> tuple[DigestPass, list[Outcome]]:
    """What the sensor runs after each publish: the digests due on the as-of date, then the alerts."""
    digest_pass = digests(settings, send_them=True, only_due=True)
    return digest_pass, send_notes(settings, alert_notes(settings))


def report_run(settings: Settings, run_id: str, failures: list[tuple[str, str]]) -> list[Outcome]:
    """Alert stewards and admins that a run published nothing. No notify.yml: nothing to do."""
    if not settings.notify_config_path.exists():
        return []
    staff: list[Recipient] = []
    if settings.auth_db_path.exists():
        staff = [
            Recipient(u.username, u.display_name, u.role, u.crm_user_id, u.language, None)
            for u in AuthStore(settings.auth_db_path).list_users()
            if u.is_active and u.role in alerts.RUN_ALERT_ROLES
        ]
    clean = [(step, targets.redact(error or "")) for step, error in failures]
    return send_notes(settings, alerts.run_alert(staff, run_id, clean, settings.public_url))


def test_message(settings: Settings, tag: str) -> list[Outcome]:
    """A test message to every target tagged ``tag`` (not deduplicated: each call sends)."""
    import uuid

    title = catalog.t("test.title", "zh") + " / " + catalog.t("test.title", "en")
    text = catalog.t("test.body", "zh", tag=tag) + "\n" + catalog.t("test.body", "en", tag=tag) + "\n"
    note = Notification(f"test:{tag}:{uuid.uuid4().hex}", (tag,), title, text, text.replace("\n", "<br>"))
    return send_notes(settings, [note])
