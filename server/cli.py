"""``stratopipe-server``: run the sync server and administer its users and projects."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import os
import signal
import ssl
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

from core.sync.protocol import ROLES
from server import admin, invitations, media_records
from server.app import ServerConfig, serve_until
from server.cluster_messages import is_postgres
from server.db import default_db_url, open_database
from server.supervisor import run_workers

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.engine import Engine

log = logging.getLogger("server.cli")

DATA_DIR_ENV = "STRATOPIPE_SERVER_DATA_DIR"


class KeyValueFormatter(logging.Formatter):
    """``ts=... level=INFO logger=server.app event=listening port=8765``: greppable and parseable."""

    def format(self, record: logging.LogRecord) -> str:
        line = (
            f"ts={self.formatTime(record, '%Y-%m-%dT%H:%M:%S')} level={record.levelname} "
            f"logger={record.name} {record.getMessage()}"
        )
        if record.exc_info:
            line += " exc=" + json.dumps(self.formatException(record.exc_info))
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        document = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            document["exc"] = self.formatException(record.exc_info)
        return json.dumps(document)


def configure_logging(log_format: str, verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else KeyValueFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    # One line per socket open/close from websockets is noise at studio scale.
    logging.getLogger("websockets").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def resolve_db_url(args: argparse.Namespace) -> str:
    if args.db:
        return str(args.db)
    data_dir = args.data_dir or os.environ.get(DATA_DIR_ENV)
    root = (
        Path(data_dir).expanduser()
        if data_dir
        else Path(platformdirs.user_data_dir("StratoPipeServer", appauthor=False))
    )
    # Private: the folder holds the database (password hashes, every comment) and its WAL.
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    return default_db_url(root.resolve())


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat password: "):
        raise admin.AdminError("The passwords differ")
    return first


def _tls_context(args: argparse.Namespace) -> ssl.SSLContext | None:
    if not args.tls_cert and not args.tls_key:
        return None
    if not (args.tls_cert and args.tls_key):
        raise admin.AdminError("TLS needs both --tls-cert and --tls-key")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.tls_cert, args.tls_key)
    return context


def cmd_serve(args: argparse.Namespace) -> int:
    db_url = resolve_db_url(args)
    if args.workers > 1:
        if not is_postgres(db_url):
            raise admin.AdminError("--workers needs a PostgreSQL database (--db postgresql+psycopg://...)")
        return run_workers(args.argv, args.workers, args.host, args.port)
    config = ServerConfig(
        db_url=db_url,
        host=args.host,
        port=args.port,
        auth_timeout_s=args.auth_timeout,
        max_connections=args.max_connections,
        max_connections_per_address=args.max_connections_per_address,
        rate_per_s=args.rate,
        rate_burst=args.rate_burst,
        ssl_context=_tls_context(args),
        reuse_port=args.reuse_port,
        media_dir=args.media_dir or "",
        media_quota_bytes=args.media_quota_mib << 20,
    )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await serve_until(config, stop)

    asyncio.run(main())
    return 0


def _engine(args: argparse.Namespace) -> Engine:
    return open_database(resolve_db_url(args))


def cmd_user(args: argparse.Namespace) -> int:
    engine = _engine(args)
    if args.user_command == "add":
        password = _read_password(args)
        user_id = admin.add_user(engine, args.name, args.role, password, args.display_name, args.email)
        print(f"Added user {args.name} (id {user_id}, role {args.role})")
    elif args.user_command == "passwd":
        admin.set_password(engine, args.name, _read_password(args))
        print(f"Password changed for {args.name}; their existing sign-ins were revoked")
    elif args.user_command == "role":
        admin.set_role(engine, args.name, args.role)
        print(f"{args.name} is now {args.role}; their apps sign in again to get it")
    elif args.user_command in ("disable", "enable"):
        admin.set_disabled(engine, args.name, args.user_command == "disable")
        print(f"{args.user_command.capitalize()}d {args.name}")
    elif args.user_command == "profile":
        admin.set_profile(engine, args.name, args.display_name, args.email)
        print(f"Profile of {args.name} updated")
    elif args.user_command == "reset":
        code, expires_at, _user_id = invitations.reset_password(engine, args.name, None, args.days * 86400.0)
        print(f"{args.name} is signed out everywhere and their password no longer works.")
        print(f"Reset code (give it to them; valid until {invitations.when(expires_at)}):\n{code}")
        print("They choose a new password with: stratopipe sync reset-password --server URL --user NAME")
    elif args.user_command == "invite":
        project_id = admin.project_id(engine, args.project) if args.project else None
        ttl_s = args.days * 86400.0
        code, expires_at = invitations.create_invitation(engine, args.role, project_id, None, ttl_s)
        print(f"Invitation as {args.role} (valid until {invitations.when(expires_at)}, once):\n{code}")
        print("They create their account with: stratopipe sync redeem --server URL --user NAME")
    elif args.user_command == "remove":
        admin.remove_user(engine, args.name)
        print(f"Removed user {args.name}")
    else:
        for listing in admin.list_users(engine):
            user = listing.user
            state = "disabled" if listing.disabled else "active"
            print(f"{user.id}\t{user.name}\t{user.role}\t{state}\t{user.display_name}\t{user.email}")
    engine.dispose()
    return 0


def cmd_project(args: argparse.Namespace) -> int:
    engine = _engine(args)
    if args.project_command == "add":
        project_id = admin.add_project(engine, args.name, args.owner)
        owned = f", owned by {args.owner}" if args.owner else ""
        print(f"Added project {args.name} (id {project_id}){owned}")
    elif args.project_command == "owner":
        admin.set_owner(engine, args.name, args.user)
        print(f"{args.user} now owns {args.name}")
    elif args.project_command == "list":
        for project in admin.list_projects(engine):
            print(f"{project.id}\t{project.name}\t{project.head_seq}")
    elif args.project_command == "quota":
        quota = None if args.mib is None else args.mib << 20
        media_records.set_quota(engine, args.name, quota)
        print(f"Media quota of {args.name}: {'the server default' if quota is None else f'{args.mib} MiB'}")
    elif args.member_command == "add":
        admin.add_member(engine, args.project, args.user)
        print(f"{args.user} is now a member of {args.project}")
    else:
        admin.remove_member(engine, args.project, args.user)
        print(f"{args.user} is no longer a member of {args.project}")
    engine.dispose()
    return 0


def cmd_event(args: argparse.Namespace) -> int:
    engine = _engine(args)
    what = admin.redact_event(engine, args.project, args.seq)
    engine.dispose()
    print(f"Redacted event {args.seq} of {args.project} ({what}); clients read it as an empty record")
    return 0


def build_parser() -> argparse.ArgumentParser:
    storage = argparse.ArgumentParser(add_help=False)
    storage.add_argument("--data-dir", help=f"server data folder (env {DATA_DIR_ENV})")
    storage.add_argument("--db", help="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db")
    storage.add_argument("--log-format", choices=("kv", "json"), default="kv")
    storage.add_argument("-v", "--verbose", action="store_true")

    parser = argparse.ArgumentParser(prog="stratopipe-server", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", parents=[storage], help="run the sync server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765, help="0 picks a free port (logged)")
    serve.add_argument("--tls-cert")
    serve.add_argument("--tls-key")
    serve.add_argument("--auth-timeout", type=float, default=10.0, help="seconds to sign in")
    serve.add_argument("--media-dir", help="published media store (default: media/ in the data folder)")
    serve.add_argument(
        "--media-quota-mib", type=int, default=50 << 10, help="each project's media quota (default 50 GiB)"
    )
    defaults = ServerConfig(db_url="")
    serve.add_argument(
        "--max-connections",
        type=int,
        default=defaults.max_connections,
        help="open connections in all (default %(default)s)",
    )
    serve.add_argument(
        "--max-connections-per-address",
        type=int,
        default=defaults.max_connections_per_address,
        help="open connections from one IP address (default %(default)s)",
    )
    serve.add_argument(
        "--rate", type=float, default=defaults.rate_per_s, help="messages/s per user (default %(default)s)"
    )
    serve.add_argument(
        "--rate-burst", type=float, default=defaults.rate_burst, help="burst per user (default %(default)s)"
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes sharing the port (SO_REUSEPORT, Linux; PostgreSQL only), kept running "
        "by this process (default %(default)s)",
    )
    serve.add_argument(
        "--reuse-port",
        action="store_true",
        help="let other processes listen on the same port (SO_REUSEPORT); --workers sets it",
    )
    serve.set_defaults(handler=cmd_serve)

    user = commands.add_parser("user", help="manage accounts")
    user_commands = user.add_subparsers(dest="user_command", required=True)
    user_add = user_commands.add_parser("add", parents=[storage])
    user_add.add_argument("name")
    user_add.add_argument("--role", choices=ROLES, default="artist")
    user_add.add_argument("--display-name", default="")
    user_add.add_argument("--email", default="")
    user_add.add_argument("--password-stdin", action="store_true")
    user_passwd = user_commands.add_parser(
        "passwd", parents=[storage], help="reset a password (signs the user out everywhere)"
    )
    user_passwd.add_argument("name")
    user_passwd.add_argument("--password-stdin", action="store_true")
    user_role = user_commands.add_parser("role", parents=[storage], help="change a role (signs the user out)")
    user_role.add_argument("name")
    user_role.add_argument("role", choices=ROLES)
    for action, what in (("disable", "refuse sign-ins and sign out everywhere"), ("enable", "allow again")):
        user_commands.add_parser(action, parents=[storage], help=what).add_argument("name")
    user_profile = user_commands.add_parser("profile", parents=[storage], help="set display name or email")
    user_profile.add_argument("name")
    user_profile.add_argument("--display-name")
    user_profile.add_argument("--email")
    user_commands.add_parser("list", parents=[storage])
    user_reset = user_commands.add_parser(
        "reset", parents=[storage], help="sign out everywhere, void the password, print a one-time reset code"
    )
    user_reset.add_argument("name")
    user_reset.add_argument("--days", type=float, default=3.0, help="days the code stays valid")
    user_invite = user_commands.add_parser(
        "invite", parents=[storage], help="print a one-time invitation code"
    )
    user_invite.add_argument("--role", choices=ROLES, default="artist")
    user_invite.add_argument("--project", help="the project the new account joins")
    user_invite.add_argument("--days", type=float, default=7.0, help="days the code stays valid")
    user_remove = user_commands.add_parser("remove", parents=[storage])
    user_remove.add_argument("name")
    user.set_defaults(handler=cmd_user)

    project = commands.add_parser("project", help="manage projects and their members")
    project_commands = project.add_subparsers(dest="project_command", required=True)
    project_add = project_commands.add_parser("add", parents=[storage])
    project_add.add_argument("name")
    project_add.add_argument("--owner", help="the user who owns it (may delete its shared assets)")
    project_owner = project_commands.add_parser("owner", parents=[storage], help="set a project's owner")
    project_owner.add_argument("name")
    project_owner.add_argument("user")
    project_commands.add_parser("list", parents=[storage])
    project_quota = project_commands.add_parser("quota", parents=[storage], help="a project's media quota")
    project_quota.add_argument("name")
    project_quota.add_argument("mib", type=int, nargs="?", help="MiB; leave out for the server default")
    member = project_commands.add_parser("member")
    member_commands = member.add_subparsers(dest="member_command", required=True)
    for action in ("add", "remove"):
        member_action = member_commands.add_parser(action, parents=[storage])
        member_action.add_argument("project")
        member_action.add_argument("user")
    project.set_defaults(handler=cmd_project)

    event = commands.add_parser("event", help="repair the event log")
    event_commands = event.add_subparsers(dest="event_command", required=True)
    redact = event_commands.add_parser(
        "redact",
        parents=[storage],
        help="empty one event's content (a comment nobody can read, or one that must go)",
    )
    redact.add_argument("project")
    redact.add_argument("seq", type=int)
    event.set_defaults(handler=cmd_event)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # ``serve --workers N`` starts its workers with the same arguments.
    args.argv = list(argv) if argv is not None else sys.argv[1:]
    configure_logging(args.log_format, args.verbose)
    try:
        return int(args.handler(args))
    except admin.AdminError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (OSError, ssl.SSLError):
        log.exception("event=fatal")
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
