"""The web process's listening sockets send small writes at once (`TCP_NODELAY`).

Streamlit binds its server socket itself, as `socket.socket(family)`: protocol 0, not
`IPPROTO_TCP`, so asyncio's transports skip the `TCP_NODELAY` they set on every TCP
connection (`asyncio.base_events._set_nodelay` checks the protocol number). Nagle's
algorithm then holds the second write of a response (the body after the headers, each
Server-Sent Event, each WebSocket frame) until the client's delayed ACK, about 40 ms: every
request on a kept-alive connection took 44 ms, and every streamed token waited. Accepted
sockets inherit the option from the listening one (Linux, macOS), so setting it there once,
before the first connection, fixes every connection.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator

logger = logging.getLogger(__name__)

_FD_DIRS = ("/proc/self/fd", "/dev/fd")


def disable_nagle_on_listeners() -> int:
    """Set `TCP_NODELAY` on every listening TCP socket of this process; returns how many."""
    done = 0
    for fd in _open_fds():
        try:
            sock = socket.socket(fileno=os.dup(fd))
        except OSError:
            continue  # not a socket
        with sock:
            try:
                listening = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
                tcp = sock.family in (socket.AF_INET, socket.AF_INET6)
                if listening and tcp and sock.type == socket.SOCK_STREAM:
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    done += 1
            except OSError:
                continue
    # None under `uvicorn server:app`: uvicorn binds after start-up, as IPPROTO_TCP.
    logger.debug("TCP_NODELAY set on %d listening sockets", done)
    return done


def _open_fds() -> Iterator[int]:
    for folder in _FD_DIRS:
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        yield from sorted(int(name) for name in names if name.isdigit())
        return
