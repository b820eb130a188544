"""The metrics registry: every series labelled with its process, probes read at scrape time,
and who may read them."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from services.metrics import Metrics, MetricsAccess, Probe


def _samples(metrics: Metrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = metrics.exposition().decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_exposition__labels_every_series_with_the_process_and_reads_probes_when_scraped() -> None:
    metrics = Metrics(process="web-1")
    readings = iter([1.0, 0.0])
    metrics.watch(Probe("pa_redis_up", "Redis answers", lambda: next(readings)))
    metrics.refused("user_day_usd")
    metrics.refused("user_day_usd")
    first = _samples(metrics)
    key = frozenset({("limit", "user_day_usd"), ("process", "web-1")})
    assert first[("pa_budget_refusals_total", key)] == 2
    assert first[("pa_redis_up", frozenset({("process", "web-1")}))] == 1
    assert _samples(metrics)[("pa_redis_up", frozenset({("process", "web-1")}))] == 0


def test_exposition__a_probe_that_fails_reports_down() -> None:
    metrics = Metrics(process="w")

    def broken() -> float:
        raise RuntimeError("cannot tell")

    metrics.watch(Probe("pa_sql_up", "SQL answers", broken))
    assert _samples(metrics)[("pa_sql_up", frozenset({("process", "w")}))] == 0


def test_registries__are_separate_per_instance() -> None:
    one, two = Metrics(process="a"), Metrics(process="b")
    one.turn("ok", 0.5)
    assert not any(name == "pa_conversation_turns_total" for name, _ in _samples(two))


def test_access__the_metrics_token_or_an_admin_token_only() -> None:
    admins = {"admin-token": True, "member-token": False}

    def admin_of(token: str) -> bool:
        return admins[token]  # KeyError: not a valid token

    access = MetricsAccess("metrics-secret", admin_of)
    assert access.status("") == 401
    assert access.status("Basic abc") == 401
    assert access.status("Bearer metrics-secret") == 200
    assert access.status("Bearer admin-token") == 200
    assert access.status("Bearer member-token") == 403
    assert access.status("Bearer forged") == 401
    assert MetricsAccess(None, admin_of).status("Bearer metrics-secret") == 401
