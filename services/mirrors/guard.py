"""Checking and rewriting one read-only SQL query over a base's mirrored tables (sqlglot).

The model writes tables and fields by their Airtable names in double quotes. Only one
`SELECT` (with CTEs, subqueries, joins, unions, window functions) passes; every table must
be a mirrored table of the base in scope; every function must be on an allowlist (nothing
that reads files, the network or settings). Names are rewritten to the physical tables
(table IDs) and columns (field IDs); plain selected columns keep their Airtable names as
aliases. Every refusal is one line the model can correct from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.optimizer.scope import Scope, traverse_scope

from services.airtable.schema import TableSchema, suggest
from services.errors import InvalidInputError
from services.mirrors.columns import CREATED_COLUMN, ID_COLUMN
from services.mirrors.dialects import label_expressions, same_on_both
from services.mirrors.habits import READERS, normalize, refuse

MAX_SQL_CHARS = 8_000

_FORBIDDEN = tuple(
    getattr(exp, name)
    for name in (
        "DML", "DDL", "Insert", "Update", "Delete", "Merge", "Create", "Drop", "Alter",
        "Command", "Pragma", "Into", "Lock", "Set", "Use", "Transaction", "Commit",
        "Rollback", "Copy", "LoadData", "Attach", "Detach", "Analyze", "Kill", "Describe",
        "Show", "Cache", "Uncache", "Refresh", "Grant", "Revoke", "Comment", "TruncateTable",
        "Summarize", "Lateral", "Unnest", "Placeholder", "Parameter", "SessionParameter",
        "Declare", "Execute", "Returning", "Export",
    )
    if hasattr(exp, name)
)  # fmt: skip
_FUNCTIONS = frozenset(
    name
    for name in (
        "Count", "Sum", "Avg", "Min", "Max", "Median", "PercentileCont", "PercentileDisc",
        "GroupConcat", "Stddev", "StddevPop", "StddevSamp", "Variance", "VariancePop",
        "CountIf", "ApproxDistinct", "ArrayAgg", "AnyValue", "LogicalOr", "LogicalAnd",
        "Abs", "Round", "Floor", "Ceil", "Coalesce", "Nullif", "If", "Case", "Cast", "TryCast",
        "Lower", "Upper", "Length", "Substring", "Trim", "Replace", "Concat", "ConcatWs",
        "StrPosition", "Left", "Right", "Pad", "Greatest", "Least", "Sqrt", "Pow", "Ln", "Log",
        "Exp", "Sign", "Mod", "CurrentDate", "CurrentTimestamp", "CurrentTime",
        "CurrentDatetime", "DateAdd", "DateSub", "DateDiff", "DateTrunc", "TimestampTrunc",
        "Extract", "TimeToStr", "StrToTime", "StrToDate", "TsOrDsToDate", "Date",
        "DateStrToDate", "TimeStrToTime", "TimeStrToDate", "UnixToTime", "Year", "Month",
        "Day", "DayOfWeek", "DayOfMonth", "DayOfYear", "WeekOfYear", "Quarter", "Week",
        "Hour", "Minute", "Second", "RowNumber", "Rank", "DenseRank", "Ntile", "Lag", "Lead",
        "FirstValue", "LastValue", "PercentRank", "CumeDist", "Split", "SplitPart",
        "Initcap", "Datetime", "Time", "SafeDivide", "Trunc", "ToChar", "TsOrDsAdd",
        "DatetimeAdd", "DateFromParts", "Interval", "Div", "Quantile", "Levenshtein",
        "TsOrDsToTimestamp", "TsOrDsToDatetime", "TsOrDsToTime", "UnixToStr", "TimeToUnix",
        "DateToDateStr", "DiToDate", "StrToUnix", "Ceil", "Stuff", "Reverse", "Repeat",
        "Substring", "ArraySize", "RegexpLike", "Ascii", "Chr", "StartsWith", "EndsWith",
        "Exists",
    )
)  # fmt: skip
_ANONYMOUS = frozenset(
    {
        "strftime", "date", "datetime", "julianday", "time", "instr",
        "ifnull", "iif", "total", "unixepoch", "median", "percentile", "percentile_cont",
        "percentile_disc", "date_part", "age", "to_char", "string_agg", "char_length",
        "nullif", "substr", "trim", "ltrim", "rtrim", "sign", "string_to_array", "make_date",
        "justify_days", "date_bin", "count_distinct",
    }
)  # fmt: skip


class QueryRefusedError(InvalidInputError):
    """The SQL is not one allowed read-only query; nothing was executed."""


@dataclass(frozen=True)
class MirroredTable:
    """A table the query may read: its names, and where its copy is."""

    table: TableSchema
    physical: str
    db: str | None
    columns: dict[str, str]  # field ID -> kind, for the fields the copy has

    def field_id(self, name: str) -> str | None:
        found = self.table.find_field(name)
        if found is not None and found.id in self.columns:
            return found.id
        # Every copy also has the record's ID and when the record was created.
        folded = name.casefold()
        return folded if folded in (ID_COLUMN, CREATED_COLUMN) else None

    def field_names(self) -> list[str]:
        return [f.name for f in self.table.fields if f.id in self.columns]


@dataclass
class CheckedQuery:
    sql: str
    table_ids: list[str] = field(default_factory=list)


def check_query(
    text: str,
    tables: list[MirroredTable],
    *,
    dialect: str,
    unmirrored: list[str] = (),  # type: ignore[assignment]
) -> CheckedQuery:
    """The query rewritten for the mirror, or `QueryRefusedError` saying why not.

    Args:
        text: One SQL SELECT, names as in Airtable.
        tables: The base's mirrored tables (the only ones it may read).
        dialect: "sqlite" or "postgres": how it is parsed and written back.
        unmirrored: Names of the base's tables that have no mirror (for a clearer refusal).
    """
    if len(text) > MAX_SQL_CHARS:
        raise QueryRefusedError(f"The query is longer than {MAX_SQL_CHARS} characters.")
    try:
        statement = _parse(text, dialect)
        for node in statement.walk():
            if isinstance(node, _FORBIDDEN):
                raise QueryRefusedError(
                    f"Only a read-only SELECT is allowed ({node.key.upper()} is not)."
                )
        normalize(statement, dialect)
        _check_functions(statement)
        names = {n.casefold() for t in tables for n in t.field_names()}
        habit = refuse(statement, dialect, names)
        if habit:
            raise QueryRefusedError(habit)
        label_expressions(statement)
        used = _rewrite_names(statement, tables, unmirrored)
    except QueryRefusedError as exc:
        spaced = _unquoted_spaced_name(text, tables)
        if spaced is None:
            raise
        raise QueryRefusedError(
            f'Names with spaces go in double quotes: write "{spaced}", not {spaced}.'
        ) from exc
    try:
        same_on_both(statement, text, dialect)
    except ValueError as exc:
        raise QueryRefusedError(f"{exc}.") from exc
    return CheckedQuery(statement.sql(dialect=dialect), used)


def _unquoted_spaced_name(text: str, tables: list[MirroredTable]) -> str | None:
    """A table or field name with a space written without its double quotes (it then
    reads as a name and an alias, or does not parse)."""
    names = [t.table.name for t in tables] + [n for t in tables for n in t.field_names()]
    for name in names:
        if " " not in name:
            continue
        words = r"\s+".join(re.escape(w) for w in name.split())
        if re.search(rf'(?<!["\w]){words}(?!["\w])', text, re.IGNORECASE):
            return name
    return None


_TOP = re.compile(r"\bSELECT\s+(?:DISTINCT\s+)?TOP\s*\(?\s*(\d+)", re.IGNORECASE)


def _parse(text: str, dialect: str) -> Any:
    try:
        statements = [s for s in sqlglot.parse(text, read=READERS[dialect]) if s is not None]
    except (ParseError, TokenError) as exc:
        top = _TOP.search(text)
        if top:
            raise QueryRefusedError(
                f"SELECT TOP {top.group(1)} is SQL Server's: end the query with "
                f"LIMIT {top.group(1)} instead."
            ) from exc
        first = str(exc).splitlines()[0] if str(exc) else "syntax error"
        raise QueryRefusedError(f"The SQL does not parse: {first}") from exc
    if len(statements) != 1:
        raise QueryRefusedError("Send exactly one SELECT statement (no ';'-separated list).")
    statement = statements[0]
    if not isinstance(statement, exp.Query):
        raise QueryRefusedError(
            f"Only a read-only SELECT is allowed ({statement.key.upper()} is not)."
        )
    return statement


def _check_functions(statement: exp.Expression) -> None:
    for node in statement.find_all(exp.Func):
        if isinstance(node, exp.Connector | exp.Binary | exp.Unary):
            continue  # AND/OR and operators are functions to sqlglot
        if isinstance(node, exp.Anonymous):
            name = str(node.this).lower()
            if name not in _ANONYMOUS:
                raise QueryRefusedError(f"Function {name.upper()} is not allowed here.")
        elif type(node).__name__ not in _FUNCTIONS:
            raise QueryRefusedError(f"Function {node.sql_name()} is not allowed here.")


def _rewrite_names(
    statement: exp.Expression, tables: list[MirroredTable], unmirrored: list[str]
) -> list[str]:
    """Resolve every table and column against the mirrored tables, then rewrite them."""
    by_name = {t.table.name.casefold(): t for t in tables}
    by_name.update({t.table.id.casefold(): t for t in tables})
    sources: dict[int, MirroredTable] = {}
    for node in statement.find_all(exp.Table):
        if not isinstance(node.this, exp.Identifier):
            raise QueryRefusedError(
                "Only the base's mirrored tables can be read (no table functions)."
            )
        if node.args.get("db") or node.args.get("catalog"):
            raise QueryRefusedError(
                f'Name tables alone, as "{node.name}", not with a schema or database.'
            )
        if _names_a_cte(node):
            continue
        found = by_name.get(node.name.casefold())
        if found is None:
            names = [t.table.name for t in tables]
            if node.name.casefold() in {n.casefold() for n in unmirrored}:
                raise QueryRefusedError(
                    f'Table "{node.name}" is not mirrored: use search_records or '
                    f"aggregate_records for it. Mirrored tables: {', '.join(names)}."
                )
            raise QueryRefusedError(
                f'Unknown table "{node.name}".{suggest(node.name, names, "Tables")}'
            )
        sources[id(node)] = found
    try:
        scopes = traverse_scope(statement)
    except (ParseError, ValueError) as exc:
        raise QueryRefusedError(f"The query's names cannot be resolved: {exc}") from exc
    for scope in scopes:
        _rewrite_scope(scope, sources)
    used: list[str] = []
    for node in list(statement.find_all(exp.Table)):
        found = sources.get(id(node))
        if found is None:
            continue
        if not node.alias:
            # Columns are qualified by the name as written (the scope's alias for it).
            node.set("alias", exp.TableAlias(this=exp.to_identifier(node.name, quoted=True)))
        node.set("this", exp.to_identifier(found.physical, quoted=True))
        if found.db:
            node.set("db", exp.to_identifier(found.db, quoted=True))
        if found.table.id not in used:
            used.append(found.table.id)
    return used


def _names_a_cte(node: exp.Table) -> bool:
    """Whether the table is a CTE visible where it stands (a WITH around it, earlier in
    its own WITH, or itself in a recursive one); any other name must be a mirrored table."""
    name = node.name.casefold()
    child: Any = node
    parent: Any = node.parent
    while parent is not None:
        if isinstance(parent, exp.With):
            ctes = list(parent.expressions)
            index = next((i for i, c in enumerate(ctes) if c is child), len(ctes))
            visible = ctes[: index + 1] if parent.args.get("recursive") else ctes[:index]
            if any(c.alias_or_name.casefold() == name for c in visible):
                return True
        elif isinstance(parent, exp.Query) and child is not parent.args.get("with_"):
            found = parent.args.get("with_")
            if found is not None and any(
                c.alias_or_name.casefold() == name for c in found.expressions
            ):
                return True
        child, parent = parent, parent.parent
    return False


Mirrored = dict[str, tuple[str, MirroredTable]]


def _mirrored_in(scope: Scope, sources: dict[int, MirroredTable]) -> Mirrored:
    return {
        alias.casefold(): (alias, sources[id(src)])
        for alias, src in scope.sources.items()
        if isinstance(src, exp.Table) and id(src) in sources
    }


def _rewrite_scope(scope: Scope, sources: dict[int, MirroredTable]) -> None:
    mirrored = _mirrored_in(scope, sources)
    outer: list[tuple[Scope, Mirrored]] = []
    parent = scope.parent
    while parent is not None:  # a correlated subquery reads the tables around it
        outer.append((parent, _mirrored_in(parent, sources)))
        parent = parent.parent
    select = scope.expression
    aliases = set()
    if isinstance(select, exp.Select):
        aliases = {e.alias.casefold() for e in select.expressions if e.alias}
        _expand_stars(select, mirrored)
    for column in scope.columns:
        _rewrite_column(column, mirrored, aliases, scope, outer)
    if isinstance(select, exp.Select):
        _name_plain_columns(select, mirrored)


def _derived_output(scope: Scope, name: str) -> bool:
    """Whether a subquery or CTE read here has an output column `name` (or may have: it
    selects *). Anything else would reach SQLite as a text literal, not an error."""
    wanted = name.casefold()
    for source in scope.sources.values():
        if not isinstance(source, Scope):
            continue
        query = source.expression
        if isinstance(query, exp.Subquery | exp.CTE):
            query = query.this
        while isinstance(query, exp.SetOperation):
            query = query.this
        if not isinstance(query, exp.Select):
            return True  # a shape we do not read: let the database judge
        if query.is_star or any(isinstance(e, exp.Star) for e in query.expressions):
            return True
        if wanted in {n.casefold() for n in query.named_selects}:
            return True
        holder = source.expression.parent
        while isinstance(holder, exp.SetOperation):  # a branch of a (recursive) UNION
            holder = holder.parent
        names = holder.args.get("alias") if isinstance(holder, exp.CTE | exp.Subquery) else None
        if isinstance(names, exp.TableAlias) and wanted in {
            c.name.casefold() for c in names.columns
        }:
            return True
    return False


def _has_source(scope: Scope, qualifier: str) -> bool:
    return qualifier.casefold() in {s.casefold() for s in scope.sources}


def _rewrite_column(
    column: exp.Column,
    mirrored: Mirrored,
    aliases: set[str],
    scope: Scope,
    outer: list[tuple[Scope, Mirrored]],
) -> None:
    name, qualifier = column.name, column.table
    if qualifier:
        entry = mirrored.get(qualifier.casefold())
        if entry is None:
            if _has_source(scope, qualifier):
                return  # a subquery's or CTE's output column
            for outer_scope, outer_mirrored in outer:
                entry = outer_mirrored.get(qualifier.casefold())
                if entry is not None or _has_source(outer_scope, qualifier):
                    break
            if entry is None:
                if any(_has_source(s, qualifier) for s, _ in outer):
                    return  # an outer subquery's or CTE's output column
                raise QueryRefusedError(f'Unknown table or alias "{qualifier}" before "{name}".')
        candidates = [entry]
    else:
        candidates = [e for e in mirrored.values() if e[1].field_id(name) is not None]
        if not candidates:
            if name.casefold() in aliases or _derived_output(scope, name):
                return  # a select alias, or a column of a subquery/CTE
            for _, outer_mirrored in outer:
                candidates = [e for e in outer_mirrored.values() if e[1].field_id(name) is not None]
                if candidates:
                    break
        if not candidates:
            fields = [n for _, t in mirrored.values() for n in t.field_names()]
            raise QueryRefusedError(f'Unknown column "{name}".{suggest(name, fields, "Columns")}')
        if len(candidates) > 1:
            which = " and ".join(f'"{t.table.name}"' for _, t in candidates)
            raise QueryRefusedError(
                f'Column "{name}" is in {which}: qualify it, as "{candidates[0][1].table.name}".'
                f'"{name}".'
            )
    alias, table = candidates[0]
    field_id = table.field_id(name)
    if field_id is None:
        raise QueryRefusedError(
            f'Unknown column "{name}" in "{table.table.name}".'
            f"{suggest(name, table.field_names(), 'Columns')}"
        )
    column.set("this", exp.to_identifier(field_id, quoted=True))
    column.set("table", exp.to_identifier(alias, quoted=True))
    column.meta["kind"] = (
        "datetime" if field_id == CREATED_COLUMN else table.columns.get(field_id, "text")
    )


def _expand_stars(select: exp.Select, mirrored: dict[str, tuple[str, MirroredTable]]) -> None:
    expanded: list[Any] = []
    for item in select.expressions:
        star_of = None
        if isinstance(item, exp.Star):
            star_of = list(mirrored.values())
        elif isinstance(item, exp.Column) and isinstance(item.this, exp.Star):
            entry = mirrored.get(item.table.casefold())
            star_of = [entry] if entry else None
        if not star_of:
            expanded.append(item)
            continue
        for alias, table in star_of:
            expanded.append(exp.column(ID_COLUMN, table=alias, quoted=True))
            for fld in table.table.fields:
                if fld.id in table.columns:
                    column = exp.column(fld.id, table=alias, quoted=True)
                    expanded.append(exp.alias_(column, fld.name, quoted=True))
    select.set("expressions", expanded)


def _name_plain_columns(select: exp.Select, mirrored: dict[str, tuple[str, MirroredTable]]) -> None:
    """`SELECT "Status"` answers with a column called Status, not its field ID."""
    by_alias = {a.casefold(): t for a, t in mirrored.values()}
    for index, item in enumerate(select.expressions):
        if not isinstance(item, exp.Column) or item.alias:
            continue
        table = by_alias.get(item.table.casefold()) if item.table else None
        if table is None:
            continue
        if item.name == ID_COLUMN:
            label = ID_COLUMN
        else:
            found = next((f for f in table.table.fields if f.id == item.name), None)
            label = found.name if found else item.name
        select.expressions[index] = exp.alias_(item, label, quoted=True)
