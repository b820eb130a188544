"""The services a bench runs on: migrated SQL, the bench's own Redis keys, cleaned up after."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from config.settings import Settings
from services.container import Services, build_services
from services.migrations import upgrade_database
from services.redis_store import EmbeddedRedis


@contextmanager
def bench_services(settings: Settings) -> Iterator[Services]:
    """Services built from `settings` on a migrated database; on exit the bench's Redis
    keys (its `REDIS_KEY_PREFIX`) are deleted and an embedded Redis is stopped."""
    upgrade_database(settings.sql_url)
    services = build_services(settings)
    try:
        yield services
    finally:
        for key in services.redis.scan_iter(match=f"{settings.redis_key_prefix}*", count=1000):
            services.redis.delete(key)
        services.close()
        if not settings.redis_url:
            EmbeddedRedis(settings.var_dir).stop()
