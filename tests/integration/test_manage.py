"""The operator CLI, run as a real subprocess against the test database."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from services.container import Services
from tests.support.appserver import PROJECT_ROOT

pytestmark = pytest.mark.sql
PASSWORD = "correct horse battery staple"


def _manage(services: Services, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": services.settings.sql_url,
        "REDIS_URL": services.settings.redis_url or "",
        "REDIS_KEY_PREFIX": services.settings.redis_key_prefix,
        "VAR_DIR": str(services.settings.var_dir),
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_promote__makes_an_existing_user_admin(services: Services) -> None:
    services.accounts.register(email="ana@example.com", password=PASSWORD)
    member = services.accounts.register(email="bo@example.com", password=PASSWORD)
    result = _manage(services, "promote", "BO@example.com")
    assert result.returncode == 0, result.stderr
    refreshed = services.accounts.get_user(member.id)
    assert refreshed is not None
    assert refreshed.is_admin


def test_promote__unknown_email_fails_clearly(services: Services) -> None:
    result = _manage(services, "promote", "nobody@example.com")
    assert result.returncode == 1
    assert "No user with email" in result.stderr
