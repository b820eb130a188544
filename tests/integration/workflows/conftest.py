"""Workflow engine fixtures: services on the emulator, a DBOS worker in this process,
a local HTTP receiver, and throw-away bases."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from config.settings import Settings
from emulator.testing import EmulatorServer
from services.container import Services
from services.orm import User
from tests.integration.airtable.fixtures import FreshBase, create_fresh_base
from tests.support.accounts import make_user
from tests.support.emulated import services_on
from tests.support.workflows import Receiver, WorkerHandle, in_process_worker, run_receiver

pytestmark = pytest.mark.sql


@pytest.fixture
def wf_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "workflow_http_allow_private": True,
            "workflow_step_backoff_seconds": 0.05,
            "workflow_step_max_attempts": 3,
            "workflow_schedule_poll_seconds": 0.5,
        }
    )


@pytest.fixture
def wf_services(
    wf_settings: Settings, services: Services, emulator: EmulatorServer
) -> Iterator[Services]:
    with services_on(wf_settings, emulator.url) as built:
        yield built


@pytest.fixture
def owner(wf_services: Services) -> User:
    return make_user(wf_services, name="Owner")


@pytest.fixture
def base(emulator: EmulatorServer) -> FreshBase:
    return create_fresh_base(emulator)


@pytest.fixture
def worker(wf_services: Services) -> Iterator[WorkerHandle]:
    with in_process_worker(wf_services) as handle:
        yield handle


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with run_receiver() as server:
        yield server
