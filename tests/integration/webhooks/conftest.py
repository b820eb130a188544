"""Webhook fixtures: services with a compressed retry schedule and loopback targets
allowed, a member and an admin, local receivers, and the real dispatcher in this process."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from config.settings import Settings
from services.container import Services, build_services
from services.crypto import TokenCipher
from services.orm import Role, User
from services.webhooks.deliveries import DeliveryStore
from services.webhooks.dispatcher import WebhookDispatcher
from tests.integration.webhooks.receiver import HookReceiver, hook_receiver
from tests.support.accounts import make_user

pytestmark = pytest.mark.sql


@pytest.fixture
def hook_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "webhook_allow_private_targets": True,
            "webhook_retry_schedule": "0.3,0.3,0.3,0.3,0.3,0.3,0.3,0.3,0.3,0.3",
            "webhook_retry_jitter": 0.1,
            "webhook_poll_seconds": 0.1,
            "webhook_timeout_seconds": 2.0,
            "webhook_secret_overlap_seconds": 3.0,
        }
    )


@pytest.fixture
def hook_services(hook_settings: Settings, services: Services) -> Iterator[Services]:
    built = build_services(hook_settings)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def member(hook_services: Services) -> User:
    return make_user(hook_services, name="Member")


@pytest.fixture
def admin(hook_services: Services) -> User:
    return make_user(hook_services, role=Role.ADMIN, name="Admin")


@pytest.fixture
def receiver() -> Iterator[HookReceiver]:
    with hook_receiver() as server:
        yield server


@pytest.fixture
def other_receiver() -> Iterator[HookReceiver]:
    with hook_receiver() as server:
        yield server


Dispatching = Callable[..., Any]


@contextmanager
def dispatching(services: Services, **updates: Any) -> Iterator[WebhookDispatcher]:
    """The product's dispatcher over `services` (settings overridden by `updates`)."""
    settings = services.settings.model_copy(update=updates)
    store = DeliveryStore(services.sql, TokenCipher(settings.encryption_key.get_secret_value()))
    dispatcher = WebhookDispatcher(
        settings,
        services.events,
        store,
        consumer=f"test-{uuid.uuid4().hex[:6]}",
        metrics=services.metrics,
    )
    dispatcher.start()
    try:
        yield dispatcher
    finally:
        dispatcher.stop()


@pytest.fixture
def dispatcher(hook_services: Services) -> Iterator[WebhookDispatcher]:
    with dispatching(hook_services) as running:
        yield running


def wait_until(check: Callable[[], Any], *, timeout: float = 15.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what or check}")
        time.sleep(0.05)
