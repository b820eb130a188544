"""Per-user preferences on real Redis: remembered per person, kept without a TTL."""

from __future__ import annotations

import redis

from services.container import Services
from services.preferences import UserPreferences


def test_last_base__remembered_per_user_and_replaced_by_the_next_pick(
    services: Services,
) -> None:
    prefs = services.preferences
    assert prefs.last_base(1) is None
    prefs.remember_base(1, "appOne")
    prefs.remember_base(2, "appTwo")
    prefs.remember_base(1, "appThree")
    assert prefs.last_base(1) == "appThree"
    assert prefs.last_base(2) == "appTwo"


def test_last_base__outlives_sessions_and_is_seen_by_a_new_client(services: Services) -> None:
    services.preferences.remember_base(7, "appKept")
    key = f"{services.settings.redis_key_prefix}prefs:7"
    assert services.redis.ttl(key) == -1  # no expiry: a choice outlives every session
    fresh = UserPreferences(
        redis.Redis(connection_pool=services.redis.connection_pool),
        prefix=services.settings.redis_key_prefix,
    )
    assert fresh.last_base(7) == "appKept"


def test_last_base__a_store_outage_forgets_instead_of_failing(services: Services) -> None:
    down = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=1)
    outage = UserPreferences(down, prefix=services.settings.redis_key_prefix)
    outage.remember_base(1, "appLost")
    assert outage.last_base(1) is None
