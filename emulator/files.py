"""Attachment files: uploaded bytes served by the emulator, and reading URL attachments.

- Uploaded files (see :mod:`emulator.attachments`) are served, without a token, at
  ``/_emulator/attachments/{attachmentId}/{filename}`` (the attachment's ``url``).
- An attachment written by URL gets its real ``size`` and ``type``: from the store when
  the URL is one of the emulator's own file URLs, otherwise by fetching the URL in a
  background thread after the write (Airtable also reads URLs after answering). When the
  URL cannot be read, size and type stay as written (size 0 when not given, type guessed
  from the file name); the emulator logs a warning and counts it under
  ``attachmentUrls.failed`` in ``/_emulator/stats``.
"""

import logging
import queue
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, unquote, urlparse

from emulator.schema import Base, Record, Table
from emulator.store import Store

logger = logging.getLogger(__name__)

#: The largest file ``uploadAttachment`` accepts (decoded).
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
_BASE64_CHARS = (MAX_UPLOAD_BYTES + 2) // 3 * 4
#: Request body limit of the upload route: the base64 text with a line break every 76
#: characters (sent as the two characters ``\n`` in JSON, as pyairtable does), plus room.
UPLOAD_BODY_LIMIT = _BASE64_CHARS + 2 * (_BASE64_CHARS // 76 + 1) + 64 * 1024
#: Where uploaded files are served.
FILES_PATH = "/_emulator/attachments"
#: How long a URL attachment may take to read, and how much of it is read.
FETCH_TIMEOUT_SECONDS = 10.0
MAX_FETCH_BYTES = 100 * 1024 * 1024
_WORKERS = 2


def file_url(origin: str, attachment_id: str, filename: str) -> str:
    """The URL an uploaded file is served at."""
    return f"{origin}{FILES_PATH}/{attachment_id}/{quote(filename, safe='')}"


def own_file_id(url: str) -> str | None:
    """The attachment ID when ``url`` is one of the emulator's file URLs."""
    parts = urlparse(url).path.split("/")
    if len(parts) == 5 and "/".join(parts[:3]) == FILES_PATH and parts[3].startswith("att"):
        return unquote(parts[3])
    return None


def describe_own_files(store: Store, attachments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Set size and type of attachments that point at the emulator's own files.

    Returns:
        The attachments whose URL is elsewhere (to read in the background).
    """
    others = []
    for attachment in attachments:
        file_id = own_file_id(attachment["url"])
        found = store.file_info(file_id) if file_id else None
        if found is None:
            others.append(attachment)
            continue
        attachment["size"], attachment["type"] = found
    return others


class UrlReader:
    """Reads URL attachments in the background and records their real size and type.

    Args:
        store: Where the records live (the lock is taken to update them).
        enabled: When False, nothing is fetched (size and type stay as written).
    """

    def __init__(self, store: Store, *, enabled: bool = True) -> None:
        self.store = store
        self.enabled = enabled
        self.read = 0
        self.failed = 0
        self._counts_lock = threading.Lock()
        self._queue: queue.SimpleQueue[tuple[Base, str, str] | None] = queue.SimpleQueue()
        self._workers: list[threading.Thread] = []

    def schedule(self, base: Base, attachments: list[dict[str, Any]]) -> None:
        """Read each attachment's URL after the write that added it."""
        if not self.enabled or not attachments:
            return
        if not self._workers:
            # Daemon threads: a slow URL never holds up the process at exit.
            for index in range(_WORKERS):
                worker = threading.Thread(
                    target=self._work, name=f"emulator-url-{index}", daemon=True
                )
                worker.start()
                self._workers.append(worker)
        for attachment in attachments:
            self._queue.put((base, attachment["id"], attachment["url"]))

    def close(self) -> None:
        """Stop reading (pending reads are dropped)."""
        self.enabled = False
        for _ in self._workers:
            self._queue.put(None)

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            if self.enabled:
                self._read(*item)

    def _read(self, base: Base, attachment_id: str, url: str) -> None:
        try:
            # Only http(s) URLs reach here: cells.py refuses other schemes.
            request = urllib.request.Request(url, headers={"User-Agent": "airtable-emulator"})  # noqa: S310
            with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_SECONDS) as response:  # noqa: S310
                size = len(response.read(MAX_FETCH_BYTES + 1))
                media = response.headers.get_content_type() if response.headers else None
        except Exception as exc:  # any network or HTTP failure: say so and keep the cell
            with self._counts_lock:
                self.failed += 1
            logger.warning(
                "attachment URL %s could not be read (%s); its size and type stay as written",
                url,
                exc,
            )
            return
        with self._counts_lock:
            self.read += 1
        with self.store.lock:
            for table, record, attachment in _attachments_of(base):
                if attachment.get("id") == attachment_id and attachment.get("url") == url:
                    attachment["size"] = size
                    if media and media != "application/octet-stream":
                        attachment["type"] = media
                    self.store.put_records(base, {table.id: [record]})
                    return


def _attachments_of(base: Base) -> Iterator[tuple[Table, Record, dict[str, Any]]]:
    for table in base.tables:
        ids = [f.id for f in table.fields if f.type == "multipleAttachments"]
        if not ids:
            continue
        for record in table.records.values():
            for field_id in ids:
                for attachment in record.cells.get(field_id) or []:
                    if isinstance(attachment, dict):
                        yield table, record, attachment
