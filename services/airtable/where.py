"""Which records a read covers: conditions, nested groups and a full-text search, as one
`filterByFormula` assembled with `pyairtable.formulas` (see `filters.py`).

Groups nest three levels deep with no recursive schema (some model providers refuse
one): the top level combines its conditions and groups with `match`; a group combines
its own conditions and subgroups with all / any / not (none of them holds); a subgroup
combines conditions only. That reaches `(A or B) and C`, `not (A and B)` and
`(A and B) or (C and not D)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pyairtable.formulas import AND, CONCATENATE, FIND, GT, LOWER, NOT, OR, Formula, FunctionCall
from pyairtable.formulas import Field as F
from pydantic import BaseModel, Field, model_validator

from services.airtable.aliases import GROUP_MATCHES, MATCHES, TEXT_MATCHES, taking
from services.airtable.dates import DateResolver
from services.airtable.filters import Condition, condition_formula
from services.airtable.schema import FieldSchema, TableSchema
from services.errors import InvalidInputError

Match = Literal["all", "any"]
GroupMatch = Literal["all", "any", "not"]
TextMatch = Literal["phrase", "all_words", "any_word"]
MatchArg = Annotated[Match, taking(Match, MATCHES)]  # what a model sends: "and" is all
GroupMatchArg = Annotated[GroupMatch, taking(GroupMatch, GROUP_MATCHES)]
TEXT_TYPES = frozenset(
    {"singleLineText", "multilineText", "richText", "email", "url", "phoneNumber", "singleSelect"}
)
_LIST_TEXT_TYPES = frozenset({"multipleSelects"})
_GROUP_MATCH = "all: every item holds; any: at least one holds; not: none of them holds."


class Subgroup(BaseModel):
    """Conditions combined one way, inside a group."""

    match: GroupMatchArg = Field(default="all", description=_GROUP_MATCH)
    conditions: list[Condition] = Field(description="The conditions.")


class FilterGroup(BaseModel):
    """Conditions and subgroups combined one way, e.g. any of (Stage is Won, Amount > 5000)."""

    match: GroupMatchArg = Field(default="all", description=_GROUP_MATCH)
    conditions: list[Condition] = Field(default_factory=list, description="The conditions.")
    groups: list[Subgroup] = Field(default_factory=list, description="Nested subgroups.")


class TextSearch(BaseModel):
    """Words looked for in text fields (a plain string is taken as its `text`)."""

    @model_validator(mode="before")
    @classmethod
    def _plain_text(cls, data: Any) -> Any:
        return {"text": data} if isinstance(data, str) else data

    text: str = Field(description="Text to find (ignores case; matches inside words too).")
    fields: list[str] = Field(
        default_factory=list,
        description="Fields to look in; empty: every text, long text, email, URL, phone and "
        "select field of the table.",
    )
    match: Annotated[TextMatch, taking(TextMatch, TEXT_MATCHES)] = Field(
        default="phrase",
        description="phrase: the text as written in one field; all_words: each word somewhere "
        "in those fields; any_word: at least one word.",
    )


@dataclass(frozen=True)
class Where:
    """Everything that selects records: top-level conditions, groups, a text search."""

    conditions: Sequence[Condition] = ()
    match: Match = "all"
    groups: Sequence[FilterGroup] = ()
    text: TextSearch | None = None

    def field_names(self) -> list[str]:
        """The fields named anywhere in it (for schema lookups and default columns)."""
        names = [c.field for c in self.conditions]
        for group in self.groups:
            names += [c.field for c in group.conditions]
            names += [c.field for sub in group.groups for c in sub.conditions]
        if self.text is not None:
            names += self.text.fields
        return names


@dataclass
class CompiledWhere:
    """The formula (None: every record) and the text fields a search looked in."""

    formula: str | None
    searched: list[str] = field(default_factory=list)


def compile_where(table: TableSchema, where: Where, dates: DateResolver) -> CompiledWhere:
    """`where` as one `filterByFormula`.

    Raises:
        InvalidInputError: an unknown field, a value that does not suit its field, an empty
            group, or a text search with no text or over no text field.
    """
    parts = [condition_formula(table.field(c.field), c, dates) for c in where.conditions]
    parts += [_group(table, g.match, g.conditions, g.groups, dates) for g in where.groups]
    searched: list[str] = []
    if where.text is not None:
        formula, fields = _text_search(table, where.text)
        parts.append(formula)
        searched = [f.name for f in fields]
    if not parts:
        return CompiledWhere(None, searched)
    combined = parts[0] if len(parts) == 1 else (AND if where.match == "all" else OR)(*parts)
    return CompiledWhere(str(combined), searched)


def _group(
    table: TableSchema,
    match: GroupMatch,
    conditions: Sequence[Condition],
    groups: Sequence[Subgroup],
    dates: DateResolver,
) -> Formula:
    parts = [condition_formula(table.field(c.field), c, dates) for c in conditions]
    parts += [_group(table, s.match, s.conditions, (), dates) for s in groups]
    if not parts:
        raise InvalidInputError("A filter group needs at least one condition or subgroup.")
    if match == "all":
        return parts[0] if len(parts) == 1 else AND(*parts)
    either = parts[0] if len(parts) == 1 else OR(*parts)
    return either if match == "any" else NOT(either)


def _text_search(table: TableSchema, search: TextSearch) -> tuple[Formula, list[FieldSchema]]:
    text = " ".join(search.text.split()).lower()
    if not text:
        raise InvalidInputError("The text search needs some text.")
    if search.fields:
        fields = [table.field(name) for name in dict.fromkeys(search.fields)]
    else:
        fields = [f for f in table.fields if _searchable(f)]
    if not fields:
        raise InvalidInputError(f"{table.name} has no text fields to search.")
    words = [text] if search.match == "phrase" else list(dict.fromkeys(text.split()))
    found = [_found_anywhere(fields, word) for word in words]
    if len(found) == 1:
        return found[0], fields
    return (AND if search.match == "all_words" else OR)(*found), fields


def _searchable(fld: FieldSchema) -> bool:
    return fld.value_type in TEXT_TYPES or fld.type in _LIST_TEXT_TYPES


def _found_anywhere(fields: list[FieldSchema], word: str) -> Formula:
    tests = [GT(FIND(word, LOWER(_as_text(f))), 0) for f in fields]
    return tests[0] if len(tests) == 1 else OR(*tests)


def _as_text(fld: FieldSchema) -> Formula:
    if fld.type in _LIST_TEXT_TYPES or fld.type in ("multipleLookupValues", "multipleRecordLinks"):
        return FunctionCall("ARRAYJOIN", F(fld.name), " ")
    return CONCATENATE(F(fld.name), "")
