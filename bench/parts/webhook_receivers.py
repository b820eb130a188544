"""Local webhook receivers for `bench/webhooks.py`, in a process of their own (so their
work does not share the dispatcher's interpreter lock): one uvicorn server listening on
`--count` ports. Each POST is kept (port, path, headers, body, arrival time) and answered
204; `GET /_dump` returns everything kept as JSON; `GET /_health` answers once listening.
The chosen ports are printed on the first line of stdout.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time
from typing import Any

import uvicorn

KEPT: list[dict[str, Any]] = []
HEADERS = (b"webhook-id", b"webhook-timestamp", b"webhook-signature")


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    arrived = time.time()
    if scope["method"] == "GET":
        payload = json.dumps(KEPT if scope["path"] == "/_dump" else {"ok": True}).encode()
        await _answer(send, 200, payload)
        return
    headers = {k.decode(): v.decode() for k, v in scope["headers"] if k in HEADERS}
    KEPT.append(
        {
            "port": scope["server"][1],
            "path": scope["path"],
            "headers": headers,
            "body": body.decode(),
            "at": arrived,
        }
    )
    await _answer(send, 204, b"")


async def _answer(send: Any, status: int, payload: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(payload))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10)
    args = parser.parse_args()
    sockets = []
    for _ in range(args.count):
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        sockets.append(listener)
    print(" ".join(str(s.getsockname()[1]) for s in sockets), flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    uvicorn.Server(config).run(sockets=sockets)
    return 0


if __name__ == "__main__":
    sys.exit(main())
