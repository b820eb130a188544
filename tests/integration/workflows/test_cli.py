"""The operator side: `manage.py workflows schema`, and `run` starting the worker."""

from __future__ import annotations

import json

from config.settings import Settings
from manage import _processes
from services.container import Services
from tests.support.manage_cli import run_manage


def test_workflows_schema__prints_the_definition_json_schema(services: Services) -> None:
    result = run_manage(services, "workflows", "schema")
    assert result.returncode == 0, result.stderr
    schema = json.loads(result.stdout)
    assert schema["title"] == "WorkflowDefinition"
    assert "steps" in schema["required"]


def test_run__starts_a_workflow_worker_beside_web_and_maintenance(settings: Settings) -> None:
    processes = _processes(settings, "127.0.0.1", 8501, 30.0)
    assert processes["worker"].endswith("manage.py worker")
    assert {"web", "maintenance", "worker"} <= set(processes)
