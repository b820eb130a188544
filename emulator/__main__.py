"""Command line: ``python -m emulator --port 8787 --data var/emulator.db --seed demo``."""

import argparse
import logging
import sys
from datetime import date

from emulator import DEV_TOKEN
from emulator.app import create_app
from emulator.auth import parse_token_specs
from emulator.seed import seed_demo
from emulator.serving import listen, make_server
from emulator.store import Store


def build_parser() -> argparse.ArgumentParser:
    """The CLI's argument parser."""
    parser = argparse.ArgumentParser(
        prog="python -m emulator", description="A local Airtable-compatible API server."
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind")
    parser.add_argument("--port", type=int, default=8787, help="port to listen on")
    parser.add_argument("--data", default=":memory:", help="SQLite file (or :memory:)")
    parser.add_argument(
        "--seed",
        choices=("demo", "none"),
        default="none",
        help="'demo' adds three demo bases when the data file is empty",
    )
    parser.add_argument(
        "--seed-date",
        type=date.fromisoformat,
        default=None,
        metavar="YYYY-MM-DD",
        help="'today' in the demo bases' story (default: today); the same date always "
        "gives the same records",
    )
    parser.add_argument(
        "--token",
        action="append",
        default=[],
        metavar="TOKEN[:appA,appB]",
        help=f"accepted token, optionally limited to bases (default: {DEV_TOKEN})",
    )
    parser.add_argument("--rate-limit", action="store_true", help="enforce 5 req/s per base")
    parser.add_argument("--latency-ms", type=int, default=0, help="delay added to each request")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the server until interrupted."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        tokens = parse_token_specs(args.token) if args.token else None
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    store = Store.open(args.data)
    if args.seed == "demo" and store.is_empty():
        seed_demo(store, args.seed_date)
    app = create_app(store, tokens=tokens, rate_limit=args.rate_limit, latency_ms=args.latency_ms)
    sock = listen(args.host, args.port)
    host, port = sock.getsockname()[:2]
    print(f"Airtable emulator listening on http://{host}:{port}", flush=True)
    try:
        make_server(app).run(sockets=[sock])
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
