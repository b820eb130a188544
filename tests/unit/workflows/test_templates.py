"""Workflow templates: a failing expression is a template error the run can report (the
step fails with a clear message), whatever Python raised inside the sandbox."""

from __future__ import annotations

import pytest

from services.errors import InvalidInputError
from services.workflows.templates import evaluate, render_text, render_value

CONTEXT = {"inputs": {"n": 3, "name": "Ana"}, "steps": {"find": {"count": 0}}}


def test_render__a_whole_expression_keeps_its_value_and_text_renders_as_text() -> None:
    assert render_text("{{ inputs.n * 2 }}", CONTEXT) == 6
    assert render_text("Hi {{ inputs.name }}", CONTEXT) == "Hi Ana"
    assert render_value({"a": ["{{ inputs.n }}"]}, CONTEXT) == {"a": [3]}
    assert evaluate("steps.find.count == 0", CONTEXT) is True


@pytest.mark.parametrize(
    "source",
    [
        "{{ range(10**9) | list }}",  # the sandbox's range limit (OverflowError)
        "{{ inputs.n / steps.find.count }}",  # ZeroDivisionError
        "{{ inputs.name + inputs.n }}",  # TypeError
        "{{ [1, 2].index(5) }}",  # ValueError
        '{{ "x" * 10**9 }}',  # would hold the worker for minutes
        "{{ inputs.n ** (10**9) }}",
        "{% for i in range(100000) %}{{ inputs.name * 100 }}{% endfor %}",  # 30 MB of text
        "{{ inputs.nope }}",  # undefined
        "{{ inputs.__class__.__mro__ }}",  # the sandbox refuses
        "total: {{ inputs.n / 0 }}",  # inside text
    ],
)
def test_render__any_failure_is_a_template_error(source: str) -> None:
    with pytest.raises(InvalidInputError, match="template error"):
        render_text(source, CONTEXT)


def test_evaluate__a_failing_condition_is_a_template_error() -> None:
    with pytest.raises(InvalidInputError, match="template error: ZeroDivisionError"):
        evaluate("1 / steps.find.count > 2", CONTEXT)
