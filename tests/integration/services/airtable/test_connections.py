"""Airtable connections against the emulator: validated, encrypted, never shown or logged."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pyairtable
import pytest
from sqlalchemy import text

from config.settings import Settings
from emulator import DEV_TOKEN
from emulator.seed import PROJECT_TRACKER_ID
from emulator.testing import EmulatorServer
from services.container import Services, build_services
from services.errors import InvalidInputError, NotAllowedError
from tests.conftest import LIMITED_PAT, USER_PAT
from tests.support.emulated import services_on

pytestmark = pytest.mark.sql
PASSWORD = "correct horse battery staple"


@pytest.fixture
def airtable_services(
    airtable_settings: Settings, services: Services, emulator: EmulatorServer
) -> Iterator[Services]:
    """Services whose Airtable endpoint is the emulator (the `services` fixture cleans up)."""
    with services_on(airtable_settings, emulator.url) as built:
        yield built


def _visible_bases(emulator: EmulatorServer, token: str) -> int:
    # Other tests create bases in the shared emulator: count what the token sees now.
    return len(pyairtable.Api(token, endpoint_url=emulator.url).bases(force=True))


def test_connect__validates_and_keeps_only_the_last_four(
    airtable_services: Services, emulator: EmulatorServer
) -> None:
    user = airtable_services.accounts.register(email="ana@example.com", password=PASSWORD)
    info = airtable_services.airtable_connections.connect(actor_id=user.id, token=USER_PAT)
    assert info.token_hint == "…" + USER_PAT[-4:]
    assert info.base_count == _visible_bases(emulator, USER_PAT)
    assert airtable_services.airtable_connections.token_for(user.id) == USER_PAT


def test_connect__refuses_a_token_airtable_rejects(airtable_services: Services) -> None:
    user = airtable_services.accounts.register(email="ana@example.com", password=PASSWORD)
    with pytest.raises(InvalidInputError, match="did not accept"):
        airtable_services.airtable_connections.connect(actor_id=user.id, token="patWRONG.token123")
    assert airtable_services.airtable_connections.describe(user.id) is None


def test_bases__are_exactly_those_the_connection_sees(
    airtable_services: Services, emulator: EmulatorServer
) -> None:
    limited = airtable_services.accounts.register(email="ana@example.com", password=PASSWORD)
    other = airtable_services.accounts.register(email="bo@example.com", password=PASSWORD)
    airtable_services.airtable_connections.connect(actor_id=limited.id, token=LIMITED_PAT)
    assert [b.id for b in airtable_services.airtable.bases(limited.id, fresh=True)] == [
        PROJECT_TRACKER_ID
    ]
    # No own connection and no org one: the install's configured AIRTABLE_TOKEN applies.
    assert len(airtable_services.airtable.bases(other.id, fresh=True)) == _visible_bases(
        emulator, DEV_TOKEN
    )


def test_org_connection__serves_users_without_their_own(airtable_services: Services) -> None:
    admin = airtable_services.accounts.register(email="ana@example.com", password=PASSWORD)
    member = airtable_services.accounts.register(email="bo@example.com", password=PASSWORD)
    connections = airtable_services.airtable_connections
    connections.connect(actor_id=admin.id, token=LIMITED_PAT, org=True)
    assert connections.token_for(member.id) == LIMITED_PAT
    effective = connections.effective(member.id)
    assert effective is not None
    assert effective.scope == "org"
    connections.disconnect(actor_id=admin.id, org=True)
    assert connections.describe(None) is None


def test_token__never_appears_in_clear_in_sql_redis_or_logs(
    airtable_services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    user = airtable_services.accounts.register(email="ana@example.com", password=PASSWORD)
    with caplog.at_level(logging.DEBUG):
        airtable_services.airtable_connections.connect(actor_id=user.id, token=USER_PAT)
        airtable_services.airtable.bases(user.id, fresh=True)
    secret_part = USER_PAT.split(".")[1]
    assert secret_part not in caplog.text
    with airtable_services.engine.connect() as connection:
        for table in ("airtable_connections", "audit_events"):
            for row in connection.execute(text(f"SELECT * FROM {table}")):  # noqa: S608
                assert secret_part not in repr(tuple(row))
    prefix = airtable_services.settings.redis_key_prefix
    for key in airtable_services.redis.scan_iter(match=f"{prefix}*"):
        assert secret_part.encode() not in key
        if airtable_services.redis.type(key) == b"string":
            assert secret_part.encode() not in (airtable_services.redis.get(key) or b"")


def test_no_connection_at_all__says_how_to_connect(
    airtable_services: Services, airtable_settings: Settings
) -> None:
    bare = build_services(airtable_settings.model_copy(update={"airtable_token": None}))
    try:
        user = bare.accounts.register(email="ana@example.com", password=PASSWORD)
        assert bare.airtable_connections.effective(user.id) is None
        with pytest.raises(NotAllowedError, match="Connect Airtable first"):
            bare.airtable_connections.token_for(user.id)
    finally:
        bare.close()
