"""Services pointed at a local emulator, as if it were Airtable, cleaned up afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import SecretStr

from config.settings import Settings
from emulator import DEV_TOKEN
from services.container import Services, build_services
from tests.support.stores import delete_prefixed_keys


@contextmanager
def services_on(settings: Settings, airtable_url: str, **updates: Any) -> Iterator[Services]:
    """`settings` with the emulator as Airtable and its dev token as the org token.

    The emulators in tests have no rate limit unless asked, so pacing is opened up (pass
    `airtable_requests_per_second` to keep Airtable's 5/s); `updates` override anything.
    """
    configured = settings.model_copy(
        update={
            "airtable_endpoint_url": airtable_url,
            "airtable_token": SecretStr(DEV_TOKEN),
            "airtable_requests_per_second": 1000,
            "airtable_token_requests_per_second": 1000,
            **updates,
        }
    )
    built = build_services(configured)
    try:
        yield built
    finally:
        delete_prefixed_keys(built.redis, settings.redis_key_prefix)
        built.close()
