"""uploadAttachment (through pyairtable, on both hosts) and URL attachments' size and type."""

import base64
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from pyairtable import Api
from requests.adapters import HTTPAdapter

from emulator.testing import EmulatorServer

from .bases import FreshBase
from .http_errors import error_of

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40  # 10,248 bytes
CONTENT_HOST = "content.airtable.com"


class _ContentHostAdapter(HTTPAdapter):
    """Sends pyairtable's content.airtable.com requests to the emulator (as a gateway would)."""

    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = target

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        assert request.url is not None
        for scheme in ("http://", "https://"):
            if request.url.startswith(scheme + CONTENT_HOST):
                request.url = self.target + request.url[len(scheme + CONTENT_HOST) :]
        return super().send(request, stream, timeout, verify, cert, proxies)


@pytest.fixture
def routed(fresh_base: FreshBase, server: EmulatorServer) -> FreshBase:
    """The fresh base, with content.airtable.com routed to the emulator."""
    adapter = _ContentHostAdapter(server.url)
    for scheme in ("http://", "https://"):
        fresh_base.api.session.mount(scheme + CONTENT_HOST, adapter)
    return fresh_base


@pytest.fixture
def files() -> Iterator[str]:
    """A local web server: /logo.png (image/png), /noext (text/plain), anything else 404."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = {"/logo.png": ("image/png", PNG), "/noext": ("text/plain", b"hello")}
            if self.path not in found:
                self.send_error(404)
                return
            media, body = found[self.path]
            self.send_response(200)
            self.send_header("Content-Type", media)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _cells(**cells: Any) -> dict[str, Any]:
    """Record fields typed loosely (pyairtable's typed dicts do not take attachment input)."""
    return cells


def _wait_for(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_upload__through_pyairtable_appends_and_serves_the_file(routed: FreshBase) -> None:
    people = routed.people
    photos_id = routed.field_id(people, "Photos")
    record = people.create({"Name": "Ada"})
    first = people.upload_attachment(record["id"], "Photos", "logo.png", PNG)
    assert first["id"] == record["id"]
    assert first["createdTime"] == record["createdTime"]
    (logo,) = first["fields"][photos_id]
    assert logo["filename"] == "logo.png"
    assert logo["type"] == "image/png"
    assert logo["size"] == len(PNG)
    assert logo["id"].startswith("att")
    second = people.upload_attachment(record["id"], photos_id, "notes.txt", "Hello, World!")
    assert [a["filename"] for a in second["fields"][photos_id]] == ["logo.png", "notes.txt"]
    assert second["fields"][photos_id][1]["type"] == "text/plain"
    assert list(second["fields"]) == [photos_id]
    stored = people.get(record["id"])["fields"]["Photos"]
    assert stored == second["fields"][photos_id]
    served = requests.get(logo["url"], timeout=10)
    assert served.status_code == 200
    assert served.content == PNG
    assert served.headers["content-type"] == "image/png"


def test_upload__also_answers_on_the_emulator_host(fresh_base: FreshBase) -> None:
    api, people = fresh_base.api, fresh_base.people
    record = people.create({"Name": "Bo"})
    url = api.build_url(f"{fresh_base.id}/{record['id']}/Photos/uploadAttachment")
    body = {"contentType": "image/png", "filename": "a.png", "file": base64.b64encode(PNG).decode()}
    answer = api.post(url, json=body)
    (photo,) = answer["fields"][fresh_base.field_id(people, "Photos")]
    assert photo["size"] == len(PNG)


def test_upload__five_megabytes_pass_the_smaller_body_limit(routed: FreshBase) -> None:
    # the test server refuses ordinary bodies over 64 KB; uploads have their own limit
    people = routed.people
    record = people.create({"Name": "Big"})
    content = b"x" * (5 * 1024 * 1024)
    answer = people.upload_attachment(record["id"], "Photos", "big.bin", content)
    (big,) = answer["fields"][routed.field_id(people, "Photos")]
    assert big["size"] == len(content)
    assert big["type"] == "application/octet-stream"


def test_upload__refuses_bad_requests_and_changes_nothing(routed: FreshBase) -> None:
    people = routed.people
    record = people.create({"Name": "Cy"})
    with pytest.raises(requests.HTTPError) as exc:
        people.upload_attachment(record["id"], "Photos", "huge.bin", b"x" * (5 * 1024 * 1024 + 1))
    assert error_of(exc)[0] == 413
    with pytest.raises(requests.HTTPError) as exc:
        people.upload_attachment(record["id"], "Name", "a.txt", b"a")
    status, body = error_of(exc)
    assert (status, body["error"]["type"]) == (422, "INVALID_VALUE_FOR_COLUMN")
    with pytest.raises(requests.HTTPError) as exc:
        people.upload_attachment(record["id"], "Nope", "a.txt", b"a")
    assert error_of(exc)[1]["error"]["type"] == "UNKNOWN_FIELD_NAME"
    with pytest.raises(requests.HTTPError) as exc:
        people.upload_attachment("recAAAAAAAAAAAAAA", "Photos", "a.txt", b"a")
    assert error_of(exc)[0] == 404
    api = routed.api
    url = api.build_url(f"{routed.id}/{record['id']}/Photos/uploadAttachment")
    for bad in ({"contentType": "text/plain", "filename": "a.txt"}, {"file": "aGk="}):
        with pytest.raises(requests.HTTPError) as exc:
            api.post(url, json=bad)
        assert error_of(exc)[0] == 422
    assert "Photos" not in people.get(record["id"])["fields"]


def test_url_attachment__gets_the_real_size_and_type(fresh_base: FreshBase, files: str) -> None:
    people = fresh_base.people
    record = people.create(
        _cells(
            Photos=[
                {"url": f"{files}/logo.png", "filename": "picture.jpg"},
                {"url": f"{files}/noext"},
            ]
        )
    )
    first, second = record["fields"]["Photos"]
    assert (first["type"], second["type"]) == ("image/jpeg", "application/octet-stream")

    def read() -> bool:
        photos = people.get(record["id"])["fields"]["Photos"]
        return [(p["size"], p["type"]) for p in photos] == [
            (len(PNG), "image/png"),
            (5, "text/plain"),
        ]

    _wait_for(read)


def test_url_attachment__unreadable_keeps_what_was_written_and_says_so(
    fresh_base: FreshBase, files: str, server: EmulatorServer
) -> None:
    def failures() -> int:
        stats = requests.get(server.url + "/_emulator/stats", timeout=10).json()
        return int(stats["attachmentUrls"]["failed"])

    before = failures()
    people = fresh_base.people
    record = people.create(_cells(Photos=[{"url": f"{files}/missing.png", "size": 12}]))
    _wait_for(lambda: failures() == before + 1)
    (photo,) = people.get(record["id"])["fields"]["Photos"]
    assert (photo["size"], photo["type"], photo["filename"]) == (12, "image/png", "missing.png")


def test_url_attachment__of_an_uploaded_file_is_described_at_once(routed: FreshBase) -> None:
    people = routed.people
    holder = people.create({"Name": "holder"})
    answer = people.upload_attachment(holder["id"], "Photos", "logo.png", PNG)
    (uploaded,) = answer["fields"][routed.field_id(people, "Photos")]
    copy = people.create(_cells(Photos=[{"url": uploaded["url"], "filename": "copy.bin"}]))
    (photo,) = copy["fields"]["Photos"]
    assert (photo["size"], photo["type"]) == (len(PNG), "image/png")


def test_url_attachment__reading_can_be_switched_off(
    make_server: Callable[..., EmulatorServer], files: str
) -> None:
    running = make_server(read_attachment_urls=False)
    api = Api(running.token, endpoint_url=running.url, retry_strategy=None)
    base = api.create_base(
        "wspEmulatorTests0",
        "No reading",
        [
            {
                "name": "T",
                "fields": [
                    {"name": "Name", "type": "singleLineText"},
                    {"name": "F", "type": "multipleAttachments"},
                ],
            }
        ],
    )
    table = base.table("T")
    record = table.create(_cells(F=[{"url": f"{files}/logo.png"}]))
    time.sleep(0.5)
    assert table.get(record["id"])["fields"]["F"][0]["size"] == 0
    stats = requests.get(running.url + "/_emulator/stats", timeout=10).json()
    assert stats["attachmentUrls"] == {"read": 0, "failed": 0}
