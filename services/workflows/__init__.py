"""Workflows: durable automations on DBOS with saga compensation.

Public surface (wired in `services/container.py`):
- `WorkflowLibrary` (`services.workflows`): definitions with versions (`library.py`).
- `WorkflowRuns` (`services.workflow_runs`): start, read, cancel, approve, retry (`runs.py`).
- The definition format: `definition.py`; parsing with line-precise errors: `parsing.py`.
- The engine the worker runs: `engine.py` (the DBOS workflow), `steps.py`, and what
  happens when a step fails: `saga.py`.
"""
