from streamlit.testing.v1 import AppTest

from config.settings import Settings


def test_status_page__lists_every_component(app_env: Settings) -> None:
    at = AppTest.from_file("../../app.py", default_timeout=30).run()
    assert not at.exception
    assert at.title[0].value == "Status"
    text = " ".join(m.value for m in at.markdown)
    for label in ("Database", "Redis", "Airtable", "Language model"):
        assert label in text
    assert not at.error
    assert any("GOOGLE_API_KEY" in info.value for info in at.info)
