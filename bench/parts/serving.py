"""An ASGI app served by uvicorn on a free local port in a daemon thread (bench fakes)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Self

import uvicorn
from starlette.applications import Starlette


class ThreadedApp:
    """Subclasses give `app()`; `with` starts it (`url` set) and stops it.

    `uvicorn_options` go to `uvicorn.Config` (e.g. `timeout_keep_alive`).
    """

    uvicorn_options: dict[str, Any] = {}

    def app(self) -> Starlette:
        raise TypeError(f"{type(self).__name__} must define app()")

    def __enter__(self) -> Self:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # As the emulator's: without it a reply waits ~40 ms for the client's delayed ACK.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        config = uvicorn.Config(
            self.app(), log_level="warning", access_log=False, lifespan="off",
            **self.uvicorn_options,
        )  # fmt: skip
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{type(self).__name__} did not start")
            time.sleep(0.01)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


def _serve_in_child(factory: Any, urls: Any, stop: Any) -> None:
    from services.runtime import prepare_to_serve

    with factory() as app:
        prepare_to_serve()  # as the servers do: its own pauses are not the server's time
        urls.put(app.url)
        stop.wait()


@contextmanager
def own_process(factory: Any) -> Iterator[str]:
    """A `ThreadedApp` run in a process of its own (`factory` builds it there; it must be
    picklable, e.g. a `functools.partial` of the class); yields its URL. Its timing then
    does not share an interpreter with the bench's clients: 50 users' streams parsed in
    the bench process would otherwise delay the fake's replies and count as the server's
    time."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    urls = context.Queue()
    stop = context.Event()
    process = context.Process(target=_serve_in_child, args=(factory, urls, stop), daemon=True)
    process.start()
    try:
        yield urls.get(timeout=60)
    finally:
        stop.set()
        process.join(timeout=10)
        if process.is_alive():
            process.kill()
