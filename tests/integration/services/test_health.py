import dataclasses

import redis

from services.container import Services
from services.health import check_components, check_readiness


def test_readiness__ok_with_both_stores(services: Services) -> None:
    statuses = check_readiness(services)
    assert [(s.name, s.ok) for s in statuses] == [("database", True), ("redis", True)]


def test_readiness__names_redis_when_it_is_down(services: Services) -> None:
    down = dataclasses.replace(
        services, redis=redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=1)
    )
    failed = [s.name for s in check_readiness(down) if not s.ok]
    assert failed == ["redis"]


def test_components__explain_how_to_connect_a_model(services: Services) -> None:
    llm = next(s for s in check_components(services) if s.name == "llm")
    assert not llm.ok
    assert "GOOGLE_API_KEY" in llm.help
    assert "OLLAMA_BASE_URL" in llm.help
