"""Binding the listening socket and building the uvicorn server.

The socket gets ``TCP_NODELAY`` (inherited by accepted connections on Linux): uvicorn
writes response headers and body separately, and with Nagle's algorithm on, each small
response would otherwise wait ~40 ms for the client's delayed ACK.
"""

import socket

import uvicorn
from starlette.applications import Starlette


def listen(host: str, port: int) -> socket.socket:
    """Bind and listen on a TCP socket (``port`` 0 picks a free one), ``TCP_NODELAY`` set."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(2048)  # connections queue until uvicorn starts accepting
    return sock


def make_server(app: Starlette) -> uvicorn.Server:
    """A quiet uvicorn server for the app (run it with ``server.run(sockets=[sock])``)."""
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="on",
        h11_max_incomplete_event_size=64 * 1024,
    )
    return uvicorn.Server(config)
