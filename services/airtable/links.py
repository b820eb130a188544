"""Links from the app to records in Airtable's own web interface.

Airtable opens a record at `https://airtable.com/{baseId}/{tableId}/{recordId}`. The local
emulator has no web interface, so records get links only when the endpoint is the real
Airtable API, or when `AIRTABLE_WEB_URL` says where its web interface is.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from config.settings import Settings

AIRTABLE_API_HOST = "api.airtable.com"
AIRTABLE_WEB_URL = "https://airtable.com"


def airtable_web_url(settings: Settings) -> str | None:
    """Where record links point, or None when there is no Airtable web interface to open."""
    if settings.airtable_web_url:
        return settings.airtable_web_url.rstrip("/")
    if urlsplit(settings.airtable_url).hostname == AIRTABLE_API_HOST:
        return AIRTABLE_WEB_URL
    return None


def record_url(web_url: str, base_id: str, table_id: str, record_id: str) -> str:
    """The address of one record in Airtable's web interface."""
    parts = (quote(part, safe="") for part in (base_id, table_id, record_id))
    return f"{web_url}/{'/'.join(parts)}"
