"""Parsing formula text into a lark tree.

pyairtable writes a field reference as ``{`` + name with ``}`` escaped as ``\\}`` + ``}``
and leaves backslashes alone, so ``{a\\}`` is ambiguous on its own: the field ``a\\``,
or the start of a longer name. Knowing the table's field names settles it, so before
lark runs, every reference to a known field is rewritten into the canonical spelling
the grammar reads (``\\\\`` and ``\\}`` are the only escapes); unknown references are
left as written and reported later.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from pathlib import Path

from lark import Lark, Tree
from lark.exceptions import LarkError

from .errors import FormulaError
from .model import FieldInfo

# Deeper formulas are refused: compiled closures nest as deep as the tree does, and
# real formulas stay far below this.
MAX_NESTING = 100

_FIELD = re.compile(r"\{(?:[^\\}]|\\.)*\}", re.DOTALL)
_STRING = re.compile(r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*\"""", re.DOTALL)
_PLAIN = re.compile(r"""[^'"{]+""")
_ESCAPE = re.compile(r"\\([\\}])")

Spellings = tuple[tuple[str, str], ...]


@cache
def _lark() -> Lark:
    grammar = Path(__file__).with_name("grammar.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", lexer="basic", maybe_placeholders=False)


def canonical_reference(name: str) -> str:
    """The reference the grammar reads for a field name or ID: ``{name}``, escaped."""
    return "{" + name.replace("\\", "\\\\").replace("}", "\\}") + "}"


def reference_name(token: str) -> str:
    """The field name inside a canonical ``{...}`` reference."""
    return _ESCAPE.sub(r"\1", token[1:-1])


@lru_cache(maxsize=64)
def _spellings(fields: tuple[FieldInfo, ...]) -> tuple[Spellings, Spellings]:
    """Each known way to write each field, longest first: names, then IDs.

    At equal length pyairtable's spelling wins over the canonical one, since
    pyairtable is the client this server stands in for.
    """
    names: set[tuple[str, int, str]] = set()
    ids: set[tuple[str, int, str]] = set()
    for field in fields:
        canonical = canonical_reference(field.name)
        names.add(("{" + field.name.replace("}", "\\}") + "}", 0, canonical))
        names.add((canonical, 1, canonical))
        ids.add((canonical_reference(field.id), 0, canonical_reference(field.id)))
    return _longest_first(names), _longest_first(ids)


def _longest_first(spellings: set[tuple[str, int, str]]) -> Spellings:
    ordered = sorted(spellings, key=lambda item: (-len(item[0]), item[1], item[0]))
    return tuple((written, canonical) for written, _, canonical in ordered)


def _known_reference(
    text: str, start: int, spellings: tuple[Spellings, Spellings]
) -> tuple[str, int] | None:
    for group in spellings:
        for written, canonical in group:
            if text.startswith(written, start):
                return canonical, start + len(written)
    return None


def canonicalize(text: str, fields: tuple[FieldInfo, ...]) -> str:
    """Rewrite references to known fields into canonical spelling; keep everything else."""
    if "{" not in text:
        return text
    spellings = _spellings(fields)
    parts: list[str] = []
    position, end = 0, len(text)
    while position < end:
        char = text[position]
        if char == "{":
            known = _known_reference(text, position, spellings)
            if known is not None:
                parts.append(known[0])
                position = known[1]
                continue
            found = _FIELD.match(text, position)
        elif char in "'\"":
            found = _STRING.match(text, position)
        else:
            found = _PLAIN.match(text, position)
        if found is None:  # an unterminated string or reference: lark reports it
            parts.append(text[position:])
            break
        parts.append(found.group())
        position = found.end()
    return "".join(parts)


def _check_nesting(tree: Tree) -> None:
    pending: list[tuple[Tree, int]] = [(tree, 1)]
    while pending:
        node, depth = pending.pop()
        if depth > MAX_NESTING:
            raise FormulaError(reason=f"nested deeper than {MAX_NESTING} levels")
        pending.extend((child, depth + 1) for child in node.children if isinstance(child, Tree))


def parse(text: str, fields: tuple[FieldInfo, ...]) -> Tree:
    """Parse formula text.

    Args:
        text: the formula.
        fields: the table's fields, to read pyairtable's field references exactly.

    Returns:
        The lark tree (see grammar.lark for its node names).

    Raises:
        FormulaError: the text is not a formula, or is nested too deeply.
    """
    try:
        tree = _lark().parse(canonicalize(text, fields))
    except (LarkError, RecursionError) as exc:
        raise FormulaError(reason=f"syntax error: {str(exc)[:200]}") from None
    _check_nesting(tree)
    return tree
