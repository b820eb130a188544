"""The operator CLI, run as a real subprocess against the test database."""

from __future__ import annotations

import pytest

from services.container import Services
from tests.support.manage_cli import run_manage

pytestmark = pytest.mark.sql
PASSWORD = "correct horse battery staple"


def test_promote__makes_an_existing_user_admin(services: Services) -> None:
    services.accounts.register(email="ana@example.com", password=PASSWORD)
    member = services.accounts.register(email="bo@example.com", password=PASSWORD)
    result = run_manage(services, "promote", "BO@example.com")
    assert result.returncode == 0, result.stderr
    refreshed = services.accounts.get_user(member.id)
    assert refreshed is not None
    assert refreshed.is_admin


def test_promote__unknown_email_fails_clearly(services: Services) -> None:
    result = run_manage(services, "promote", "nobody@example.com")
    assert result.returncode == 1
    assert "No user with email" in result.stderr


def test_user_create__reads_the_password_from_stdin(services: Services) -> None:
    services.accounts.register(email="ana@example.com", password=PASSWORD)
    result = run_manage(
        services, "user", "create", "Bo@Example.com", "--admin", stdin=f"{PASSWORD}\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "created bo@example.com (admin)"
    user = services.accounts.authenticate(email="bo@example.com", password=PASSWORD, address="a")
    assert user.is_admin
    member = run_manage(services, "user", "create", "cy@example.com", stdin=f"{PASSWORD}\n")
    assert member.stdout.strip() == "created cy@example.com (member)"


def test_user_create__refuses_a_weak_password_or_a_taken_email(services: Services) -> None:
    services.accounts.register(email="ana@example.com", password=PASSWORD)
    weak = run_manage(services, "user", "create", "bo@example.com", stdin="short\n")
    assert weak.returncode == 1
    assert weak.stderr.strip().splitlines()[-1] == "Password: use at least 10 characters."
    taken = run_manage(services, "user", "create", "ana@example.com", stdin=f"{PASSWORD}\n")
    assert taken.returncode == 1
    assert "already exists" in taken.stderr


def test_token_create__prints_a_working_token_once(services: Services) -> None:
    user = services.accounts.register(email="ana@example.com", password=PASSWORD)
    result = run_manage(
        services, "token", "create", "ana@example.com", "--name", "ci", "--days", "7"
    )
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert services.api_tokens.verify(token) == user.id
    [row] = services.api_tokens.list_for(user.id)
    assert row.name == "ci"
    assert token not in repr(row.__dict__)
    unknown = run_manage(services, "token", "create", "nobody@example.com", "--name", "ci")
    assert unknown.returncode == 1
    assert "No user with email" in unknown.stderr


def test_user_reset_password__prints_a_one_time_link(services: Services) -> None:
    services.accounts.register(email="ana@example.com", password=PASSWORD)
    result = run_manage(services, "user", "reset-password", "ana@example.com")
    assert result.returncode == 0, result.stderr
    link = result.stdout.strip()
    assert link.startswith(f"{services.settings.public_url}/reset_password?token=")
    token = link.split("token=")[1]
    assert services.password_resets.email_for(token) == "ana@example.com"
    services.password_resets.complete(token=token, password="a new passphrase")
    assert services.password_resets.email_for(token) is None
