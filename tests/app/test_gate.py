"""The sign-in gate in AppTest (cookies cannot be seeded here: signed-in paths are e2e)."""

from streamlit.testing.v1 import AppTest

from config.settings import Settings


def _html(at: AppTest) -> str:
    return " ".join(str(element.proto.body) for element in at.html)


def test_gate__sends_a_stranger_to_the_sign_in_form(app_env: Settings) -> None:
    at = AppTest.from_file("../../app.py", default_timeout=30).run()
    assert not at.exception
    assert at.title[0].value == "Sign in"
    html = _html(at)
    assert 'action="/api/auth/login"' in html
    assert 'name="form_token"' in html
    assert 'type="password"' in html


def test_gate__stops_a_stranger_on_admin_pages(app_env: Settings) -> None:
    at = AppTest.from_file("../../app.py", default_timeout=30)
    at.switch_page("pages/status.py").run()
    assert not at.exception
    assert "Status" not in [t.value for t in at.title]
    assert not any("Database" in m.value for m in at.markdown)
