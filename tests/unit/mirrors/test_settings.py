"""Which bases are mirrored by default."""

from __future__ import annotations

from config.settings import DEMO_BASE_IDS, load_settings


def test_default_bases__the_demo_bases_on_the_apps_own_emulator() -> None:
    assert load_settings(airtable_endpoint_url=None).mirror_default_base_ids == list(DEMO_BASE_IDS)


def test_default_bases__none_on_another_endpoint_unless_named() -> None:
    other = load_settings(airtable_endpoint_url="https://api.airtable.com")
    assert other.mirror_default_base_ids == []
    named = load_settings(
        airtable_endpoint_url="https://api.airtable.com", mirror_default_bases=" appA , ,appB"
    )
    assert named.mirror_default_base_ids == ["appA", "appB"]
