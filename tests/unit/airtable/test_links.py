"""Record links: to Airtable's web interface for real Airtable, none for the emulator."""

from pathlib import Path

from config.settings import Settings, load_settings
from services.airtable.links import airtable_web_url, record_url


def _settings(tmp_path: Path, **values: str) -> Settings:
    return load_settings(var_dir=tmp_path, **values)


def test_airtable_web_url__real_airtable_links_to_airtable_com(tmp_path: Path) -> None:
    real = _settings(tmp_path, airtable_endpoint_url="https://api.airtable.com/")
    assert airtable_web_url(real) == "https://airtable.com"


def test_airtable_web_url__no_links_for_the_emulator(tmp_path: Path) -> None:
    assert airtable_web_url(_settings(tmp_path)) is None
    explicit = _settings(tmp_path, airtable_endpoint_url="http://127.0.0.1:8787")
    assert airtable_web_url(explicit) is None


def test_airtable_web_url__a_configured_web_address_wins(tmp_path: Path) -> None:
    proxied = _settings(
        tmp_path,
        airtable_endpoint_url="https://airtable-proxy.internal",
        airtable_web_url="https://airtable.com/",
    )
    assert airtable_web_url(proxied) == "https://airtable.com"


def test_record_url__base_table_and_record_in_airtable_order() -> None:
    url = record_url("https://airtable.com", "appA1", "tblB2", "recC3")
    assert url == "https://airtable.com/appA1/tblB2/recC3"
