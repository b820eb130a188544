"""Templates in workflow definitions: sandboxed Jinja2 with strict undefined values.

Every string value of a step may be a template over `inputs`, earlier `steps`, `run`
(id, owner) and `today`. A string that is exactly one `{{ expression }}` renders to the
expression's value (a list of records stays a list); any other renders to text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from jinja2 import StrictUndefined, TemplateError, Undefined, nodes
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from services.errors import InvalidInputError

GLOBALS = frozenset({"inputs", "steps", "run", "today"})
_WHOLE = re.compile(r"^\s*\{\{(.*)\}\}\s*$", re.DOTALL)


# What one template may build: a run's step inputs are records and short texts, so these
# are far above use and far below what would exhaust a worker's memory.
MAX_SIZE = 1_000_000  # items of a repeated text or list; characters of rendered text
MAX_EXPONENT_BITS = 10_000  # `a ** b` up to this many bits


class _BoundedSandbox(SandboxedEnvironment):
    """Jinja's sandbox (no access to Python internals, `range` capped), and `*` and `**`
    bounded: `"x" * 10**9` or `2 ** 10**9` would otherwise hold a worker for minutes."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*" and any(
            isinstance(sized, str | list | tuple)
            and isinstance(count, int)
            and len(sized) * count > MAX_SIZE
            for sized, count in ((left, right), (right, left))
        ):
            raise SecurityError(f"a repeat over {MAX_SIZE:,} items")
        if (
            operator == "**"
            and isinstance(left, int)
            and isinstance(right, int)
            and abs(left) > 1
            and right * abs(left).bit_length() > MAX_EXPONENT_BITS
        ):
            raise SecurityError(f"a power over {MAX_EXPONENT_BITS:,} bits")
        return super().call_binop(context, operator, left, right)


def environment() -> SandboxedEnvironment:
    env = _BoundedSandbox(undefined=StrictUndefined, autoescape=False)
    env.policies["json.dumps_kwargs"] = {"sort_keys": False, "ensure_ascii": False}
    return env


_ENV = environment()


def is_template(value: str) -> bool:
    return "{{" in value or "{%" in value


def check_syntax(source: str) -> nodes.Template:
    """The parsed template.

    Raises:
        InvalidInputError: a syntax error, with Jinja's message.
    """
    try:
        return _ENV.parse(source)
    except TemplateError as exc:
        raise InvalidInputError(f"template error: {exc}") from None


def check_expression(source: str) -> nodes.Template:
    """A bare expression (stop_if `when`), parsed as `{{ source }}`."""
    return check_syntax("{{ " + source + " }}")


def references(tree: nodes.Template) -> Iterator[tuple[str, str | None]]:
    """(global name, attribute) pairs a template reads: ("steps", "overdue"), ("inputs", "x")."""
    seen: set[int] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        target = getattr(node, "node", None)
        if isinstance(target, nodes.Name):
            seen.add(id(target))
            if isinstance(node, nodes.Getattr):
                yield target.name, node.attr
            elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
                yield target.name, str(node.arg.value)
            else:
                yield target.name, None
    for name in tree.find_all(nodes.Name):
        if id(name) not in seen and name.ctx == "load":
            yield name.name, None


def local_names(tree: nodes.Template) -> set[str]:
    """Names a template binds itself (`for x in ...`, `set x = ...`)."""
    return {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}


def render_value(value: Any, context: Mapping[str, Any]) -> Any:
    """`value` with every template string rendered; containers rendered item by item.

    Raises:
        InvalidInputError: an undefined name or a failing expression.
    """
    if isinstance(value, str):
        return render_text(value, context)
    if isinstance(value, list):
        return [render_value(v, context) for v in value]
    if isinstance(value, dict):
        return {render_value(k, context): render_value(v, context) for k, v in value.items()}
    return value


def render_text(source: str, context: Mapping[str, Any]) -> Any:
    if not is_template(source):
        return source
    whole = _WHOLE.match(source)
    with _template_errors():
        if whole is not None and "{{" not in whole.group(1) and "}}" not in whole.group(1):
            expression = _ENV.compile_expression(whole.group(1).strip(), undefined_to_none=False)
            return _defined(expression(**context))
        return _bounded_text(_ENV.from_string(source).generate(**context))


def evaluate(expression: str, context: Mapping[str, Any]) -> bool:
    """A stop_if condition's truth."""
    with _template_errors():
        result = _defined(_ENV.compile_expression(expression, undefined_to_none=False)(**context))
    return bool(result)


def _bounded_text(chunks: Iterator[str]) -> str:
    """The rendered text, stopped once it passes `MAX_SIZE` characters."""
    parts: list[str] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_SIZE:
            raise SecurityError(f"the text passed {MAX_SIZE:,} characters")
        parts.append(chunk)
    return "".join(parts)


@contextmanager
def _template_errors() -> Iterator[None]:
    """Whatever a template's own expression raises (an undefined name, `1 / 0`, `'a' + 1`,
    a sandbox refusal, `range(10**9)`) fails the step as a template error, not as an
    unexpected one."""
    try:
        yield
    except TemplateError as exc:
        raise InvalidInputError(f"template error: {exc}") from None
    except (ArithmeticError, TypeError, ValueError, LookupError, AttributeError) as exc:
        raise InvalidInputError(f"template error: {type(exc).__name__}: {exc}") from None


def _defined(value: Any) -> Any:
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    return value


def plain(value: Any) -> Any:
    """A rendered value made JSON-safe (what a step stores and a later step reads)."""
    return json.loads(json.dumps(value, default=str))
