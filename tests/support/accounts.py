"""Arranging users for tests, and signing in through the real UI."""

from __future__ import annotations

import uuid

from playwright.sync_api import Page, expect

from services.container import Services
from services.orm import Role, User

PASSWORD = "correct horse battery staple"


def make_user(services: Services, *, role: Role = Role.MEMBER, name: str = "Test") -> User:
    """A new account with a unique email and `PASSWORD`, given `role` explicitly."""
    if not services.accounts.list_users():
        # The first account of an empty install is an admin; take that seat with a
        # bootstrap account so the role a test asks for is the role it gets.
        services.accounts.register(
            email=f"bootstrap-{uuid.uuid4().hex[:8]}@example.com", password=PASSWORD
        )
    email = f"{name.lower()}-{uuid.uuid4().hex[:8]}@example.com"
    user = services.accounts.register(email=email, password=PASSWORD, display_name=name)
    return services.accounts.promote(email) if role is Role.ADMIN else user


def sign_in(page: Page, base_url: str, email: str, password: str = PASSWORD) -> None:
    """Sign in through the sign-in form, and wait for the signed-in sidebar."""
    page.goto(f"{base_url}/signin")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button:has-text('Sign in')")
    expect(page.get_by_text(f"Signed in as {email}")).to_be_visible()
