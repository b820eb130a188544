"""Command line for operators: `python manage.py migrate | run | maintenance | worker |
workflows schema | promote EMAIL | rollup rebuild|check`, `user create EMAIL [--admin]`
(password on stdin), `user reset-password EMAIL` (prints a one-time link) and `token create
EMAIL --name NAME [--days N]` (prints the token once).

`run` starts every process this configuration needs (web, maintenance, the workflow worker,
and the Airtable emulator unless a real endpoint is configured) under one honcho manager,
so one command runs all; it also restarts the embedded Redis, if that is the one in use,
whenever it dies.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from config.logging import setup_logging
from config.settings import Settings, load_settings
from services.redis_store import EmbeddedRedis

if TYPE_CHECKING:
    from services.container import Services
from services.migrations import upgrade_database


def _migrate(settings: Settings) -> int:
    upgrade_database(settings.sql_url)
    print("database migrated")
    return 0


def _promote(settings: Settings, email: str) -> int:
    from services.container import build_services
    from services.errors import AppError

    services = build_services(settings)
    try:
        user = services.accounts.promote(email)
    except AppError as exc:
        print(exc, file=sys.stderr)
        return 1
    finally:
        services.close()
    print(f"{user.email} is now an admin")
    return 0


def _with_services(settings: Settings, action: Callable[[Services], str]) -> int:
    """Run `action` on freshly built services; print its result, or the error to stderr."""
    from services.container import build_services
    from services.errors import AppError

    upgrade_database(settings.sql_url)  # quietly: stdout carries only the result
    services = build_services(settings)
    try:
        print(action(services))
    except AppError as exc:
        print(exc, file=sys.stderr)
        return 1
    finally:
        services.close()
    return 0


def _read_password() -> str:
    """The password from stdin: prompted without echo on a terminal, else its first line."""
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass("Password: ")
    return sys.stdin.readline().rstrip("\r\n")


def _user_create(services: Services, email: str, admin: bool) -> str:
    user = services.accounts.create_user(
        actor_id=None, email=email, admin=admin, password=_read_password()
    )
    return f"created {user.email} ({user.role})"


def _user_reset_link(services: Services, email: str) -> str:
    user = services.accounts.find_by_email(email)
    return services.password_resets.issue(actor_id=None, user_id=user.id).url


def _token_create(services: Services, email: str, name: str, days: int | None) -> str:
    user = services.accounts.find_by_email(email)
    return services.api_tokens.create(user_id=user.id, name=name, days=days).token


def _maintenance(settings: Settings, every_seconds: float) -> int:
    import signal
    import threading

    from services.container import build_services
    from services.maintenance import run_forever

    services = build_services(settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        run_forever(services, every_seconds=every_seconds, stop=stop)
    except KeyboardInterrupt:
        pass
    finally:
        services.close()
    return 0


def _worker(settings: Settings, worker_id: str | None) -> int:
    import signal
    import socket
    import threading

    from services.container import build_services
    from services.llm.providers import preload_provider
    from services.runtime import prepare_to_serve
    from services.workflows.worker import run_worker

    upgrade_database(settings.sql_url)
    services = build_services(settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    executor = worker_id or settings.workflow_worker_id or socket.gethostname()
    ask = _assistant(services)
    preload_provider(settings)
    prepare_to_serve()
    try:
        run_worker(services, stop=stop, ask=ask, executor_id=executor)
    except KeyboardInterrupt:
        pass
    finally:
        services.close()
    return 0


def _assistant(services: Services) -> Callable[..., str]:
    """The agent with read-only tools, for `ask_assistant` steps and tools-mode prompts."""
    from agents.assistant import Assistant
    from services.budget.types import CallRef, Purpose
    from tools.airtable.reads import read_tools

    assistant = Assistant(services, tools=read_tools(services))

    def ask(owner_id: int, base_id: str | None, question: str, ref: CallRef) -> str:
        result = assistant.answer(
            user_id=owner_id, base_id=base_id, text=question, purpose=Purpose.WORKFLOW_RUN, ref=ref
        )
        return result.answer

    return ask


def _workflow_schema() -> int:
    import json

    from services.workflows.definition import WorkflowDefinition

    print(json.dumps(WorkflowDefinition.model_json_schema(), indent=2))
    return 0


def _rollup(settings: Settings, action: str) -> int:
    from services.budget import rollup
    from services.db import create_db_engine

    engine = create_db_engine(settings.sql_url)
    try:
        if action == "rebuild":
            days, refs = rollup.rebuild(engine)
            print(f"usage rollup rebuilt from the ledger: {days} day rows, {refs} reference rows")
            return 0
        differences = rollup.differences(engine)
    finally:
        engine.dispose()
    print(f"usage rollup: {differences} groups differ from the ledger")
    return 1 if differences else 0


def _processes(
    settings: Settings, host: str, port: int, maintenance_every: float
) -> dict[str, str]:
    python = sys.executable
    processes = {
        "web": (
            f"{python} -m streamlit run server.py --server.address {host} "
            f"--server.port {port} --server.headless true"
        ),
        "maintenance": f"{python} manage.py maintenance --every {maintenance_every}",
        "worker": f"{python} manage.py worker",
    }
    if settings.uses_emulator:
        processes["emulator"] = (
            f"{python} -m emulator --host {settings.emulator_host} "
            f"--port {settings.emulator_port} --data {settings.var_dir / 'emulator.db'} "
            f"--seed {settings.emulator_seed}"
        )
    return processes


def _run(settings: Settings, args: argparse.Namespace) -> int:
    import threading

    from honcho.manager import Manager

    _migrate(settings)
    embedded = None if settings.redis_url else EmbeddedRedis(settings.var_dir)
    stop_watching = threading.Event()
    if embedded is not None:
        embedded.ensure_running()
        threading.Thread(
            target=embedded.keep_running,
            args=(stop_watching,),
            kwargs={"every_seconds": args.redis_check_every},
            name="embedded-redis-watchdog",
            daemon=True,
        ).start()
    manager = Manager()
    for name, command in _processes(settings, args.host, args.port, args.maintenance_every).items():
        manager.add_process(name, command)
    print(f"PyAirtable Assistant: http://{args.host}:{args.port}")
    try:
        manager.loop()
    finally:
        stop_watching.set()
        if embedded is not None:
            embedded.stop()
    return int(manager.returncode or 0)


def _add_account_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    user = commands.add_parser("user", help="create a user, or print a password reset link")
    user_actions = user.add_subparsers(dest="action", required=True)
    create = user_actions.add_parser(
        "create", help="create a user; the password is read from stdin"
    )
    create.add_argument("email")
    create.add_argument("--admin", action="store_true", help="give the user the admin role")
    reset = user_actions.add_parser("reset-password", help="print a one-time reset link (1 h)")
    reset.add_argument("email")
    token = commands.add_parser("token", help="create an API token")
    token_actions = token.add_subparsers(dest="action", required=True)
    token_create = token_actions.add_parser("create", help="print a new API token once")
    token_create.add_argument("email")
    token_create.add_argument("--name", required=True, help="what the token is for")
    token_create.add_argument("--days", type=int, default=None, help="lifetime in days")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="manage.py", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply database migrations")
    run = commands.add_parser("run", help="migrate, then start every process")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8501)
    run.add_argument(
        "--maintenance-every", type=float, default=30.0, help="seconds between maintenance passes"
    )
    run.add_argument(
        "--redis-check-every",
        type=float,
        default=2.0,
        help="seconds between checks that the embedded Redis runs (restarted if not)",
    )
    maintenance = commands.add_parser(
        "maintenance", help="settle leaked budget reservations, reconcile counters (loop)"
    )
    maintenance.add_argument("--every", type=float, default=30.0, help="seconds between passes")
    worker = commands.add_parser(
        "worker", help="run workflow runs from the durable queue and fire schedules (loop)"
    )
    worker.add_argument(
        "--id", default=None, help="this worker's stable name (default: WORKFLOW_WORKER_ID or host)"
    )
    workflows = commands.add_parser("workflows", help="workflow definitions")
    workflows.add_argument(
        "action", choices=["schema"], help="schema: print the definition's JSON Schema"
    )
    promote = commands.add_parser("promote", help="make an existing user an admin")
    promote.add_argument("email")
    _add_account_commands(commands)
    rollup = commands.add_parser(
        "rollup", help="the daily usage rollup the cost pages read: rebuild it, or check it"
    )
    rollup.add_argument(
        "action",
        choices=["rebuild", "check"],
        help="rebuild: recompute it from the ledger; check: exit 1 if it differs from the ledger",
    )
    args = parser.parse_args(argv)

    settings = load_settings()
    setup_logging(
        settings.log_level, settings.secret_values(), json_lines=settings.log_format == "json"
    )
    if args.command == "migrate":
        return _migrate(settings)
    if args.command == "maintenance":
        return _maintenance(settings, args.every)
    if args.command == "worker":
        return _worker(settings, args.id)
    if args.command == "workflows":
        return _workflow_schema()
    if args.command == "promote":
        _migrate(settings)
        return _promote(settings, args.email)
    if args.command == "rollup":
        return _rollup(settings, args.action)
    if args.command == "user" and args.action == "create":
        return _with_services(settings, lambda s: _user_create(s, args.email, args.admin))
    if args.command == "user":
        return _with_services(settings, lambda s: _user_reset_link(s, args.email))
    if args.command == "token":
        return _with_services(
            settings, lambda s: _token_create(s, args.email, args.name, args.days)
        )
    return _run(settings, args)


if __name__ == "__main__":
    sys.exit(main())
