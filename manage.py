"""Command line for operators: `python manage.py migrate | run | maintenance | promote EMAIL |
rollup rebuild|check`.

`run` starts every process this configuration needs (web, and the Airtable emulator
unless a real endpoint is configured) under one honcho manager, so one command runs all.
"""

from __future__ import annotations

import argparse
import sys

from config.logging import setup_logging
from config.settings import Settings, load_settings
from services.redis_store import EmbeddedRedis
from services.schema import upgrade_database


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


def _processes(settings: Settings, host: str, port: int) -> dict[str, str]:
    python = sys.executable
    processes = {
        "web": (
            f"{python} -m streamlit run server.py --server.address {host} "
            f"--server.port {port} --server.headless true"
        ),
        "maintenance": f"{python} manage.py maintenance",
    }
    if settings.uses_emulator:
        processes["emulator"] = (
            f"{python} -m emulator --host {settings.emulator_host} "
            f"--port {settings.emulator_port} --data {settings.var_dir / 'emulator.db'} "
            f"--seed {settings.emulator_seed}"
        )
    return processes


def _run(settings: Settings, host: str, port: int) -> int:
    from honcho.manager import Manager

    _migrate(settings)
    embedded = None if settings.redis_url else EmbeddedRedis(settings.var_dir)
    if embedded is not None:
        embedded.ensure_running()
    manager = Manager()
    for name, command in _processes(settings, host, port).items():
        manager.add_process(name, command)
    print(f"PyAirtable Assistant: http://{host}:{port}")
    try:
        manager.loop()
    finally:
        if embedded is not None:
            embedded.stop()
    return int(manager.returncode or 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="manage.py", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply database migrations")
    run = commands.add_parser("run", help="migrate, then start every process")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8501)
    maintenance = commands.add_parser(
        "maintenance", help="settle leaked budget reservations, reconcile counters (loop)"
    )
    maintenance.add_argument("--every", type=float, default=30.0, help="seconds between passes")
    promote = commands.add_parser("promote", help="make an existing user an admin")
    promote.add_argument("email")
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
    setup_logging(settings.log_level, settings.secret_values())
    if args.command == "migrate":
        return _migrate(settings)
    if args.command == "maintenance":
        return _maintenance(settings, args.every)
    if args.command == "promote":
        _migrate(settings)
        return _promote(settings, args.email)
    if args.command == "rollup":
        return _rollup(settings, args.action)
    return _run(settings, args.host, args.port)


if __name__ == "__main__":
    sys.exit(main())
