"""Serve an ASGI app (Starlette) with uvicorn on a background thread, for in-process fakes.

The listening socket is bound here, before uvicorn starts, and handed to uvicorn: the port is
known at once and no other process can take it between "find a free port" and "bind"
(the race that `free_port()` leaves open is harmless for a subprocess that fails loudly, but
a thread would die quietly).
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Self

import uvicorn
from starlette.types import ASGIApp

HOST = "127.0.0.1"


class ThreadedServer:
    """An ASGI app served by uvicorn on `HOST` in a daemon thread; started on construction.

    Use it as a context manager or call `stop()`; fakes subclass it to become servers.

    Args:
        app: the ASGI application to serve.
        port: the port to listen on; 0 (the default) lets the kernel pick a free one.
        startup_timeout: seconds to wait for uvicorn to accept connections.

    Raises:
        RuntimeError: uvicorn did not start within `startup_timeout`.
    """

    def __init__(self, app: ASGIApp, *, port: int = 0, startup_timeout: float = 10.0) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if port:  # restarting on a known port must not trip over TIME_WAIT connections
            self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Else each reply's second write waits ~40 ms for the client's delayed ACK.
        self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._socket.bind((HOST, port))
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(
            app,
            log_level="warning",
            lifespan="off",
            access_log=False,
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name=f"uvicorn-{self.port}",
            daemon=True,
        )
        self._thread.start()
        self._wait_started(startup_timeout)

    @property
    def url(self) -> str:
        """Base URL without a trailing slash, e.g. `http://127.0.0.1:54321`."""
        return f"http://{HOST}:{self.port}"

    def stop(self, timeout: float = 5.0) -> None:
        """Ask uvicorn to exit and wait for the thread; calling it twice is harmless."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._socket.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _wait_started(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"uvicorn did not start on {self.url} within {timeout}s")
            time.sleep(0.005)
