"""Logging, configured once per process, with a filter that keeps secrets out of every record."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

# Token shapes we must never log even when nobody registered them as secrets:
# Airtable PATs, bearer headers, Google API keys, JWTs.
_TOKEN_PATTERNS = re.compile(
    r"(pat[A-Za-z0-9]{8,}\.[A-Za-z0-9]+|Bearer\s+[A-Za-z0-9._\-]+|AIza[0-9A-Za-z_\-]{20,}"
    r"|eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+)"
)
REDACTED = "[redacted]"
_configured = False


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


def setup_logging(level: str = "INFO", secrets: Iterable[str] = ()) -> None:
    """Configure the root logger once; later calls only refresh the secret list."""
    global _configured
    root = logging.getLogger()
    redactor = RedactSecretsFilter(secrets)
    if not _configured:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
        root.setLevel(level.upper())
        _configured = True
    for existing in root.handlers:
        for old in [f for f in existing.filters if isinstance(f, RedactSecretsFilter)]:
            existing.removeFilter(old)
        existing.addFilter(redactor)
