"""Logging, configured once per process, with a filter that keeps secrets out of every record."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

# Token shapes we must never log even when nobody registered them as secrets:
# Airtable PATs, bearer headers, Google API keys, JWTs.
_TOKEN_PATTERNS = re.compile(
    r"(pat[A-Za-z0-9]{8,}\.[A-Za-z0-9]+|Bearer\s+[A-Za-z0-9._\-]+|AIza[0-9A-Za-z_\-]{20,}"
    r"|eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+)"
)
REDACTED = "[redacted]"
_configured = False

# The id of what this thread or task is doing: a web request (`req-…`, also sent back as
# `X-Request-Id`) or a workflow run (its run id). JSON log lines carry it, and the ledger
# and audit rows written meanwhile store it, so one question can be followed everywhere.
_trace: contextvars.ContextVar[str | None] = contextvars.ContextVar("trace_id", default=None)


def current_trace() -> str | None:
    """The request or run id of the work in progress, if any."""
    return _trace.get()


def new_request_id() -> str:
    return f"req-{uuid.uuid4().hex[:16]}"


@contextmanager
def traced(trace_id: str) -> Iterator[str]:
    """Everything logged or recorded inside carries `trace_id`."""
    token = _trace.set(trace_id[:64])
    try:
        yield trace_id
    finally:
        _trace.reset(token)


class JsonLines(logging.Formatter):
    """One JSON object a line: time, level, logger, message, trace id (and the error)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        trace = _trace.get()
        if trace:
            entry["trace_id"] = trace
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class RedactSecretsFilter(logging.Filter):
    """Replaces known secret values and token-shaped strings in the formatted message."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message, self._secrets)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Return `text` with every secret value and token-shaped string replaced."""
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return _TOKEN_PATTERNS.sub(REDACTED, text)


def setup_logging(
    level: str = "INFO", secrets: Iterable[str] = (), *, json_lines: bool = False
) -> None:
    """Configure the root logger once; later calls only refresh the secret list.

    `json_lines` (`LOG_FORMAT=json`): one JSON object a line, in UTC, with the trace id.
    """
    global _configured
    root = logging.getLogger()
    redactor = RedactSecretsFilter(secrets)
    if not _configured:
        handler = logging.StreamHandler()
        if json_lines:
            formatter: logging.Formatter = JsonLines()
            formatter.converter = time.gmtime
        else:
            formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
        handler.setFormatter(formatter)
        root.addHandler(handler)
        root.setLevel(level.upper())
        _configured = True
    for existing in root.handlers:
        for old in [f for f in existing.filters if isinstance(f, RedactSecretsFilter)]:
            existing.removeFilter(old)
        existing.addFilter(redactor)
