"""Run the emulator in a background thread, for tests, benchmarks and local tools.

Usage::

    from emulator.testing import EmulatorServer

    with EmulatorServer(seed="demo") as server:
        api = pyairtable.Api(server.token, endpoint_url=server.url)
        api.table("appDemoProjects00", "Tasks").all()

The server listens on a free port of 127.0.0.1 (``server.url``), accepts
``server.token`` (:data:`emulator.DEV_TOKEN` unless ``tokens`` is given), and stops on
leaving the ``with`` block or on :meth:`EmulatorServer.stop`.
"""

import threading
import time
import urllib.request
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from uvicorn import Server

from emulator.app import create_app
from emulator.auth import normalize_tokens
from emulator.seed import REFERENCE_DATE, seed_demo
from emulator.serving import listen, make_server
from emulator.store import Store


class EmulatorServer:
    """An emulator on a free port in a daemon thread.

    Args:
        data: SQLite path, or ``":memory:"`` (default) for a throw-away store.
        seed: ``"demo"`` seeds the demo bases when the store is empty; ``"none"`` does not.
        seed_date: The demo's "today"; :data:`emulator.seed.REFERENCE_DATE` by default, so
            tests and benches see the same records every day.
        tokens: As for :func:`emulator.app.create_app`; ``None`` accepts the dev token.
        host: Interface to bind.
        port: Port to bind (0 = a free one).
        startup_timeout: Seconds to wait for the server to answer.
        **app_options: Passed to :func:`emulator.app.create_app` (``rate_limit``,
            ``latency_ms``, ``penalty_seconds``, ``iterator_ttl_seconds``,
            ``max_body_bytes``).

    Attributes:
        url: ``http://host:port`` once started.
        token: A token the server accepts (the first one given).
        store: The server's :class:`~emulator.store.Store` (hold ``store.lock`` to read).
        app: The ASGI app (``app.state.emulator`` holds counters and settings).
    """

    def __init__(
        self,
        *,
        data: str | Path = ":memory:",
        seed: str = "none",
        seed_date: date = REFERENCE_DATE,
        tokens: Mapping[str, Iterable[str] | None] | Iterable[str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        startup_timeout: float = 20.0,
        **app_options: Any,
    ) -> None:
        if seed not in ("demo", "none"):
            raise ValueError(f"seed must be 'demo' or 'none', not {seed!r}")
        self.store = Store.open(data)
        if seed == "demo" and self.store.is_empty():
            seed_demo(self.store, seed_date)
        self._token_specs = (
            tokens if tokens is None or isinstance(tokens, Mapping) else list(tokens)
        )
        self.token = next(iter(normalize_tokens(self._token_specs)))
        self.app = create_app(self.store, tokens=self._token_specs, **app_options)
        self._host = host
        self._port = port
        self._timeout = startup_timeout
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def start(self) -> Self:
        """Start serving and wait until ``/_emulator/health`` answers.

        Raises:
            RuntimeError: if the server does not come up within ``startup_timeout``.
        """
        sock = listen(self._host, self._port)
        port = sock.getsockname()[1]
        self.url = f"http://{self._host}:{port}"
        self._server = make_server(self.app)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [sock]},
            daemon=True,
            name=f"emulator-{port}",
        )
        self._thread.start()
        deadline = time.monotonic() + self._timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/_emulator/health", timeout=1) as r:  # noqa: S310
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"emulator did not start on {self.url}")

    def stop(self) -> None:
        """Stop the server and close the store."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None
        self.store.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
