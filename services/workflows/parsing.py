"""Reading a definition from YAML or JSON text, with errors that name the step, the field
and (for YAML) the line.

pydantic reports where a value is wrong as a path (`steps.2.update_records.set`); the
message turns it into `step "escalate" (line 14), field "set": ...`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import yaml
from pydantic import ValidationError

from services.workflows.definition import STEP_TYPES, WorkflowDefinition
from services.workflows.types import WorkflowDefinitionError

MAX_DEFINITION_CHARS = 200_000


class DefinitionLoader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 booleans: only true and false.

    YAML 1.1 also reads yes, no, on and off as booleans, which would turn a record
    trigger's `on: [created, updated]` into the key True and `value: No` into False.
    """


DefinitionLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
DefinitionLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def load_yaml(text: str) -> Any:
    """YAML (or JSON) text as data, read by `DefinitionLoader`.

    Raises:
        yaml.YAMLError: not YAML.
    """
    return yaml.load(text, Loader=DefinitionLoader)  # noqa: S506 - a SafeLoader subclass


def parse_definition(text: str) -> WorkflowDefinition:
    """A definition from YAML or JSON text (JSON is YAML too).

    Raises:
        WorkflowDefinitionError: not YAML, or not a valid definition (step, field, line).
    """
    if len(text) > MAX_DEFINITION_CHARS:
        raise WorkflowDefinitionError(
            f"A definition has at most {MAX_DEFINITION_CHARS} characters."
        )
    try:
        node = yaml.compose(text, Loader=DefinitionLoader)
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "it could not be read"
        raise WorkflowDefinitionError(
            f"The definition is not valid YAML or JSON{where}: {problem}."
        ) from None
    return definition_from_data(data, node=node)


def definition_from_data(data: Any, *, node: yaml.Node | None = None) -> WorkflowDefinition:
    """A definition from already-parsed data (a JSON body); `node` gives YAML lines.

    Raises:
        WorkflowDefinitionError: naming the step and field of the first problem.
    """
    if not isinstance(data, Mapping):
        raise WorkflowDefinitionError("A definition is a mapping with name, trigger and steps.")
    _check_step_types(data, node)
    try:
        return WorkflowDefinition.model_validate(data)
    except ValidationError as exc:
        raise _explain(exc, data, node) from None


def dump_yaml(definition: WorkflowDefinition) -> str:
    """The definition as YAML (defaults left out), in the order it is written."""
    return yaml.safe_dump(definition.to_data(), sort_keys=False, allow_unicode=True, width=100)


def dump_json(definition: WorkflowDefinition) -> str:
    return json.dumps(definition.to_data(), indent=2)


def _check_step_types(data: Mapping[str, Any], node: yaml.Node | None) -> None:
    # Checked first: pydantic's message for an unknown discriminator value is long-winded.
    steps = data.get("steps")
    if not isinstance(steps, list):
        return
    seen: set[Any] = set()
    for index, step in enumerate(steps):
        if not isinstance(step, Mapping):
            raise WorkflowDefinitionError(
                f"Step {index + 1}{_line(node, ['steps', index])}: "
                "a step is a mapping with id and type.",
                step=str(index + 1),
            )
        kind = step.get("type")
        if kind not in STEP_TYPES:
            name = step.get("id") or str(index + 1)
            raise WorkflowDefinitionError(
                f'Step "{name}"{_line(node, ["steps", index, "type"])}, field "type": '
                f'"{kind}" is not a step type; use one of {", ".join(STEP_TYPES)}.',
                step=str(name),
                field="type",
            )
        step_id = step.get("id")
        if isinstance(step_id, str) and step_id in seen:
            raise WorkflowDefinitionError(
                f'Step "{step_id}"{_line(node, ["steps", index, "id"])}, field "id": '
                "this id is used by an earlier step; give each step its own.",
                step=step_id,
                field="id",
            )
        seen.add(step_id)


def _explain(
    exc: ValidationError, data: Mapping[str, Any], node: yaml.Node | None
) -> WorkflowDefinitionError:
    error = exc.errors()[0]
    loc = list(error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int):
        index = loc[1]
        steps = data.get("steps") or []
        step = steps[index] if index < len(steps) and isinstance(steps[index], Mapping) else {}
        name = str(step.get("id") or index + 1)
        # loc[2] is the discriminator value (the step type); the field follows it.
        fields = [str(p) for p in loc[3:]]
        data_path: list[str | int] = ["steps", index, *loc[3:]]
        field = ".".join(fields) or None
        where = f', field "{field}"' if field else ""
        return WorkflowDefinitionError(
            f'Step "{name}"{_line(node, data_path)}{where}: {message}.', step=name, field=field
        )
    if len(loc) >= 3 and loc[0] == "trigger":
        loc = ["trigger", *loc[2:]]  # loc[1] is the trigger's kind, which loc[2] repeats
    field = ".".join(str(p) for p in loc) or None
    label = f'Field "{field}"' if field else "The definition"
    return WorkflowDefinitionError(f"{label}{_line(node, loc)}: {message}.", field=field)


def _line(node: yaml.Node | None, path: Sequence[Any]) -> str:
    """` (line N)` for the deepest node along `path` that the YAML text has."""
    found = node
    for part in path:
        nxt = _child(found, part)
        if nxt is None:
            break
        found = nxt
    if found is None:
        return ""
    return f" (line {found.start_mark.line + 1})"


def _child(node: yaml.Node | None, part: Any) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                return value
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        child: yaml.Node = node.value[part]
        return child
    return None
