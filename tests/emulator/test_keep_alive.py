"""A kept-alive connection left idle for longer than uvicorn's 5 s default still serves."""

from __future__ import annotations

import http.client
import time
from urllib.parse import urlsplit

from emulator import DEV_TOKEN
from emulator.testing import EmulatorServer


def test_keep_alive__a_connection_idle_for_6_s_serves_the_next_request(
    demo: EmulatorServer,
) -> None:
    url = urlsplit(demo.url)
    connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=5)
    headers = {"Authorization": f"Bearer {DEV_TOKEN}"}
    try:
        for pause in (0.0, 6.0):
            time.sleep(pause)
            connection.request("GET", "/v0/meta/bases", headers=headers)
            response = connection.getresponse()
            response.read()
            assert response.status == 200
            assert response.getheader("connection", "").lower() != "close"
    finally:
        connection.close()
