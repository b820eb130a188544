"""Binding the listening socket and building the uvicorn server.

The socket gets ``TCP_NODELAY`` (inherited by accepted connections on Linux): uvicorn
writes response headers and body separately, and with Nagle's algorithm on, each small
response would otherwise wait ~40 ms for the client's delayed ACK.

Idle kept-alive connections stay open for 75 s, as load balancers in front of web APIs
usually keep them (uvicorn's own default is 5 s). With 5 s, a client that reused a
connection after about 5 s idle raced the server closing it, and its request failed with
"connection reset by peer" (a test's reads after a few seconds' wait did, under load).
"""

import socket

import uvicorn
from starlette.applications import Starlette

KEEP_ALIVE_SECONDS = 75


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
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
    return uvicorn.Server(config)
