"""``salescope users add|list|set-role|set-language|disable|enable|unlock|reset-password|audit`` and the demo users.

Users live in ``Settings.auth_db_path`` (SQLite, outside the serving snapshot); see ``dashboards.auth_store``.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from salescope.settings import Settings

console = Console(stderr=True)
users_app = typer.Typer(
    help="Dashboard users: add, list, change roles, disable, reset passwords.", no_args_is_help=True
)

HomeOpt = Annotated[
    Path | None, typer.Option("--home", help="Runtime folder (default: $SALESCOPE_HOME or ./.salescope).")
]
CrmOpt = Annotated[
    str | None,
    typer.Option(
        "--crm-user", help="The CRM user_id (marts.dim_users) a sales_rep or sales_manager sees rows of."
    ),
]
PasswordOpt = Annotated[
    str | None, typer.Option("--password", help="Omit to be asked (or to get a random one with --generate).")
]
GenerateOpt = Annotated[bool, typer.Option("--generate", help="Make a random password and print it once.")]

# (login name, role, display name); sales roles are linked to a CRM user of the demo drop
DEMO_USERS = (
    ("rep", "sales_rep", "Demo 销售"),
    ("manager", "sales_manager", "Demo 销售主管"),
    ("finance", "finance", "Demo 财务"),
    ("exec", "executive", "Demo 管理层"),
    ("steward", "data_steward", "Demo 数据管理员"),
    ("admin", "admin", "Demo 管理员"),
)


def _store(home: Path | None):
    from dashboards.auth_store import AuthStore

    return AuthStore(Settings.from_env(home).auth_db_path)


def _run(fn):
    from dashboards.auth_store import AuthError

    try:
        return fn()
    except AuthError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None


def _password(password: str | None, generate: bool) -> str:
    from dashboards.auth_store import new_password

    if password:
        return password
    if generate:
        return new_password()
    return typer.prompt("password", hide_input=True, confirmation_prompt=True)


@users_app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[
        str, typer.Option("--role", help="sales_rep, sales_manager, finance, executive, data_steward, admin.")
    ],
    crm_user: CrmOpt = None,
    name: Annotated[str | None, typer.Option("--name", help="Display name.")] = None,
    password: PasswordOpt = None,
    generate: GenerateOpt = False,
    home: HomeOpt = None,
) -> None:
    """Add a user (argon2-hashed password)."""
    pw = _password(password, generate)
    user = _run(lambda: _store(home).add_user(username, pw, role, display_name=name, crm_user_id=crm_user))
    console.print(f"[green]added[/] {user.username} ({user.role})")
    if generate and not password:
        print(f"{user.username}\t{pw}")


@users_app.command("list")
def list_(home: HomeOpt = None) -> None:
    """List users, their roles and whether they are active or locked."""
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    table = Table(title="dashboard users")
    for col in ("username", "name", "role", "crm user", "language", "active", "locked until", "failed"):
        table.add_column(col)
    for u in _store(home).list_users():
        table.add_row(
            u.username,
            u.display_name,
            u.role,
            u.crm_user_id or "",
            u.language,
            "yes" if u.is_active else "no",
            u.locked_until.strftime("%Y-%m-%d %H:%M UTC") if u.is_locked(now) else "",
            str(u.failed_attempts),
        )
    Console().print(table)


@users_app.command("set-role")
def set_role(
    username: Annotated[str, typer.Argument()],
    role: Annotated[str, typer.Argument(help="The new role.")],
    crm_user: CrmOpt = None,
    home: HomeOpt = None,
) -> None:
    """Change a user's role (takes effect on their next click)."""
    user = _run(lambda: _store(home).set_role(username, role, crm_user))
    console.print(f"[green]{user.username}[/] is now {user.role}")


@users_app.command("set-language")
def set_language(
    username: Annotated[str, typer.Argument()],
    language: Annotated[str, typer.Argument(help="zh (the default) or en.")],
    home: HomeOpt = None,
) -> None:
    """Choose the language of a user's digests and alerts: zh (中文, the default) or en."""
    user = _run(lambda: _store(home).set_language(username, language))
    console.print(f"[green]{user.username}[/] gets digests and alerts in {user.language}")


@users_app.command("disable")
def disable(username: Annotated[str, typer.Argument()], home: HomeOpt = None) -> None:
    """Disable a user and end their sessions."""
    _run(lambda: _store(home).set_active(username, False))
    console.print(f"[yellow]{username} disabled[/]; their open sessions are ended")


@users_app.command("enable")
def enable(username: Annotated[str, typer.Argument()], home: HomeOpt = None) -> None:
    """Enable a disabled user again."""
    _run(lambda: _store(home).set_active(username, True))
    console.print(f"[green]{username} enabled[/]")


@users_app.command("unlock")
def unlock(username: Annotated[str, typer.Argument()], home: HomeOpt = None) -> None:
    """Clear a lockout after failed logins."""
    _run(lambda: _store(home).unlock(username))
    console.print(f"[green]{username} unlocked[/]")


@users_app.command("reset-password")
def reset_password(
    username: Annotated[str, typer.Argument()],
    password: PasswordOpt = None,
    generate: GenerateOpt = False,
    home: HomeOpt = None,
) -> None:
    """Set a new password; clears a lockout and ends the user's sessions."""
    pw = _password(password, generate)
    _run(lambda: _store(home).reset_password(username, pw))
    console.print(f"[green]password reset[/] for {username}")
    if generate and not password:
        print(f"{username}\t{pw}")


@users_app.command("audit")
def audit(
    limit: Annotated[int, typer.Option(help="How many entries, newest first.")] = 50, home: HomeOpt = None
) -> None:
    """Show the audit log: logins, logouts, lockouts, exports."""
    table = Table(title="audit log")
    for col in ("at (UTC)", "user", "event", "detail"):
        table.add_column(col)
    for e in _store(home).audit_log(limit):
        table.add_row(e["at"][:19], e["username"] or "", e["event"], e["detail"] or "")
    Console().print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")


def _demo_crm_users(source: Path) -> dict[str, str | None]:
    """The first active sales manager of the demo drop and the first active rep of that team."""
    picked: dict[str, str | None] = {"sales_rep": None, "sales_manager": None}
    path = source / "users.csv"
    if not path.exists():
        return picked
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = [r for r in csv.DictReader(f) if str(r.get("is_active", "")).lower() in {"true", "1"}]
    managers = [r for r in rows if r.get("role") == "sales_manager" and r.get("team_id")]
    for m in managers:
        reps = [r for r in rows if r.get("role") == "sales_rep" and r.get("team_id") == m["team_id"]]
        if reps:
            picked["sales_manager"], picked["sales_rep"] = m["user_id"], reps[0]["user_id"]
            break
    return picked


def ensure_demo_users(s: Settings, source: Path) -> None:
    """Create one dashboard user per role when absent, and print the new ones' passwords.

    The passwords are random and also kept in ``auth/demo-credentials.txt`` (mode 0600) beside the user
    database, so the demo can be reopened later; they are demo accounts, not for real data.
    """
    from dashboards.auth_store import AuthStore, new_password

    store = AuthStore(s.auth_db_path)
    crm = _demo_crm_users(source)
    creds_file = s.auth_db_path.parent / "demo-credentials.txt"
    created: list[tuple[str, str, str]] = []
    for username, role, name in DEMO_USERS:
        if store.get_user(username) is not None:
            continue
        pw = new_password()
        store.add_user(username, pw, role, display_name=name, crm_user_id=crm.get(role))
        created.append((username, role, pw))
    if created:
        fd = os.open(creds_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as f:
            for username, role, pw in created:
                f.write(f"{username}\t{role}\t{pw}\n")
        table = Table(title="demo dashboard users (shown once; also in " + str(creds_file) + ")")
        for col in ("user", "role", "password"):
            table.add_column(col)
        for row in created:
            table.add_row(*row)
        console.print(table)
    else:
        console.print(
            f"demo dashboard users exist (rep, manager, finance, exec, steward, admin): passwords in {creds_file}, "
            "or `salescope users reset-password NAME --generate`"
        )
