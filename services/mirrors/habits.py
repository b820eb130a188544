"""Other dialects' habits in a query, read as their writer meant them on either database.

Models write SQL from many dialects at once: SQLite's `strftime`, `date('now', '-30
days')` and `julianday` on PostgreSQL; PostgreSQL's `TO_CHAR`, `NOW()`, `ROUND(x, 2)` and
`x::numeric(10, 2)` on SQLite; MySQL's backticks; `p.id = ANY(string_to_array(...))` for a
link. Where the meaning is plain these are rewritten (before names are checked, in
`normalize`; after, with each column's kind, in `rewrite`); where it is not, `refuse` says
in one line what to write instead. Nothing here adds a way to reach beyond the mirror: the
rewrites produce only allowlisted functions.
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.dialects.sqlite import SQLite
from sqlglot.helper import seq_get

from services.mirrors.postgres_dates import date_with_modifiers, julian_day, strftime_as_to_char
from services.mirrors.sqlite_dates import unit_name


def _anonymous(name: str) -> Any:
    return lambda args: exp.Anonymous(this=name, expressions=args)


class PostgresReader(Postgres):
    """PostgreSQL as written by models: MySQL's backticks quote names too, TO_CHAR keeps its
    own pattern (sqlglot would turn it into strftime's), SQLite's date('now', '-1 day')
    keeps its modifiers."""

    class Tokenizer(Postgres.Tokenizer):
        IDENTIFIERS = ['"', "`"]

    class Parser(Postgres.Parser):  # type: ignore[valid-type,misc]
        FUNCTIONS = {
            **Postgres.Parser.FUNCTIONS,
            "TO_CHAR": _anonymous("TO_CHAR"),
            "DATE": lambda args: (
                exp.Anonymous(this="DATE", expressions=args)
                if len(args) > 1
                else exp.Date(this=seq_get(args, 0))
            ),
        }


class SQLiteReader(SQLite):
    """SQLite with STRFTIME and TO_CHAR read as written (sqlglot drops TO_CHAR's pattern)."""

    class Parser(SQLite.Parser):  # type: ignore[valid-type,misc]
        FUNCTIONS = {
            **SQLite.Parser.FUNCTIONS,
            "TO_CHAR": _anonymous("TO_CHAR"),
            "STRFTIME": _anonymous("STRFTIME"),
        }


READERS: dict[str, type[Postgres] | type[SQLite]] = {
    "postgres": PostgresReader,
    "sqlite": SQLiteReader,
}


def _name(node: Any) -> str:
    return str(node.this).lower() if isinstance(node, exp.Anonymous) else ""


def normalize(statement: exp.Expression, dialect: str) -> None:
    """One tree for either parser, before functions are checked and columns labelled."""
    for node in list(statement.find_all(exp.Anonymous, exp.ArrayAgg, exp.EQ)):
        name = _name(node)
        if name == "now" and not node.expressions:
            node.replace(exp.CurrentTimestamp())
        elif name == "date_part" and len(node.expressions) == 2:
            unit, value = node.expressions
            if isinstance(unit, exp.Literal) and unit.is_string:
                node.replace(exp.Extract(this=exp.var(unit.name.upper()), expression=value))
        elif isinstance(node, exp.ArrayAgg):
            node.replace(exp.GroupConcat(this=node.this, separator=exp.Literal.string(", ")))
        elif isinstance(node, exp.EQ):
            _membership(node)


def _membership(node: exp.EQ) -> None:
    """`x = ANY(string_to_array(list, ','))`: is x one of the list's items (a link field's
    record IDs, a multi-select's options)."""
    wanted, listed = node.this, node.expression
    if isinstance(wanted, exp.Any):
        wanted, listed = listed, wanted
    if not isinstance(listed, exp.Any):
        return
    inner = listed.this.unnest() if isinstance(listed.this, exp.Paren) else listed.this
    if not isinstance(inner, exp.StringToArray):
        return
    delimiter = inner.expression or exp.Literal.string(",")

    def fenced(item: exp.Expression) -> exp.Expression:
        return exp.DPipe(
            this=exp.DPipe(this=delimiter.copy(), expression=item), expression=delimiter.copy()
        )

    found = exp.StrPosition(this=fenced(inner.this), substr=fenced(wanted))
    node.replace(exp.GT(this=found, expression=exp.Literal.number(0)))


def refuse(statement: exp.Expression, dialect: str, field_names: set[str]) -> str | None:
    """One line saying what to write instead, for what has no one meaning on both."""
    for node in statement.find_all(exp.Literal, exp.Anonymous, exp.DateDiff, exp.Fetch):
        if isinstance(node, exp.Literal) and node.is_string and _as_name(node, field_names):
            return (
                f"'{node.name}' in single quotes is text, not the field: write field names in "
                f'double quotes, as "{node.name}".'
            )
        if _name(node) == "age" or isinstance(node, exp.DateDiff):
            return (
                "AGE/DATEDIFF are not available: a date minus a date is a number of days "
                '("Due Date" - CURRENT_DATE), EXTRACT(YEAR FROM x) for years.'
            )
        if isinstance(node, exp.Fetch) and dialect == "sqlite":
            options = node.args.get("limit_options")
            if options is not None and options.args.get("with_ties"):
                return (
                    "WITH TIES is not available on SQLite: rank in a subquery, "
                    "SELECT * FROM (SELECT ..., RANK() OVER (ORDER BY x DESC) AS r FROM ...) "
                    "WHERE r <= n."
                )
    if dialect == "sqlite" and statement.find(exp.RegexpLike, exp.RegexpILike, exp.SimilarTo):
        return (
            "Regular expressions are not available on SQLite: use LIKE '%text%' (it ignores "
            "case), several joined with OR."
        )
    return None


def _as_name(node: exp.Literal, field_names: set[str]) -> bool:
    """A field's name in single quotes where only a field makes sense: selected or grouped
    by on its own, summed, or compared with another text."""
    if node.name.casefold() not in field_names:
        return False
    parent = node.parent
    if isinstance(parent, exp.Select | exp.Group | exp.Ordered):
        return True
    if isinstance(parent, exp.Sum | exp.Avg | exp.Min | exp.Max):
        return True
    if isinstance(parent, exp.EQ | exp.NEQ | exp.Like | exp.ILike | exp.GT | exp.LT):
        other = parent.expression if parent.this is node else parent.this
        if not isinstance(other, exp.Literal):
            return False
        return parent.this is node or other.name.casefold() not in field_names
    return False


def kind(node: Any) -> str | None:
    """The mirror type of a column, or of what is plainly a date (CURRENT_DATE, a cast)."""
    if isinstance(node, exp.Column):
        return node.meta.get("kind")
    if isinstance(node, exp.CurrentDate | exp.Date | exp.TsOrDsToDate | exp.DateStrToDate):
        return "date"
    if isinstance(node, exp.Cast) and node.to.this == exp.DataType.Type.DATE:
        return "date"
    if isinstance(node, exp.Paren):
        return kind(node.this)
    return None


def rewrite(statement: exp.Expression, dialect: str) -> None:
    """After names are resolved: each habit turned into what the database in use has."""
    _string_aggregates(statement, dialect)
    if dialect == "postgres":
        _for_postgres(statement)
    else:
        _for_sqlite(statement)


def _string_aggregates(statement: exp.Expression, dialect: str) -> None:
    """STRING_AGG/GROUP_CONCAT list values in one order on both databases: the ORDER BY
    written, else the values' own (their order is otherwise whatever each scan gives)."""
    for node in list(statement.find_all(exp.GroupConcat)):
        value = node.this
        order = value if isinstance(value, exp.Order) else None
        if order is not None:
            value = order.this
        distinct = isinstance(value, exp.Distinct)
        if distinct:
            value = value.expressions[0]
        separator = node.args.get("separator") or exp.Literal.string(",")
        if dialect == "postgres":
            text = exp.cast(value.copy(), "text") if kind(value) != "text" else value.copy()
            keys = order.expressions if order is not None else [exp.Ordered(this=text.copy())]
            if distinct:  # PostgreSQL sorts DISTINCT values by the value only
                keys = [exp.Ordered(this=text.copy(), desc=keys[0].args.get("desc"))]
            head = exp.Distinct(expressions=[text]) if distinct else text
            ordered = exp.Order(this=head, expressions=[k.copy() for k in keys])
            node.replace(exp.GroupConcat(this=ordered, separator=separator.copy()))
            continue
        keys = order.expressions if order is not None else [exp.Ordered(this=value)]
        arguments = [value.copy(), separator.copy(), exp.Literal.number(int(distinct))]
        for key in keys:
            arguments += [key.this.copy(), exp.Literal.number(int(bool(key.args.get("desc"))))]
        call = exp.Anonymous(this="string_agg_sorted", expressions=arguments)
        node.replace(call)


_BASE_UNITS = ("year", "month", "week", "day")


def _for_postgres(statement: exp.Expression) -> None:
    for node in list(statement.find_all(exp.Round, exp.Trunc, exp.Like, exp.TimestampTrunc)):
        if isinstance(node, exp.Round | exp.Trunc):
            # round(double precision, int) does not exist in PostgreSQL; numeric does.
            places = node.args.get("decimals")
            if places is not None and not _is_numeric_cast(node.this):
                node.set("this", exp.cast(node.this.copy(), exp.DataType.build("decimal")))
        elif isinstance(node, exp.Like):
            # SQLite's LIKE ignores case; so does the same query here
            node.replace(exp.ILike(this=node.this, expression=node.expression))
        elif kind(node.this) == "date" and unit_name(node.args["unit"].name) in _BASE_UNITS:
            node.replace(exp.cast(node.copy(), exp.DataType.build("date")))
    for shift in _day_shifts(statement, ("datetime",)):
        day = exp.Interval(this=exp.Literal.string("1"), unit=exp.var("DAY"))
        shift.set("expression", exp.Mul(this=exp.Paren(this=shift.expression), expression=day))
    for call in list(statement.find_all(exp.Anonymous)):
        name = _name(call)
        if name == "strftime" and len(call.expressions) == 2:
            call.replace(strftime_as_to_char(*call.expressions))
        elif name in ("date", "datetime") and call.expressions:
            call.replace(date_with_modifiers(name, call.expressions))
        elif name == "julianday" and len(call.expressions) == 1:
            call.replace(julian_day(call.expressions[0], kind(call.expressions[0])))


def _day_shifts(statement: exp.Expression, kinds: tuple[str, ...]) -> list[exp.Binary]:
    """Dates plus or minus a number of days, as PostgreSQL reads `date + 7`."""
    found: list[exp.Binary] = []
    for shift in statement.find_all(exp.Add, exp.Sub):
        amount = shift.expression
        number = (isinstance(amount, exp.Literal) and amount.is_number) or kind(amount) == "number"
        if number and kind(shift.this) in kinds:
            found.append(shift)
    return found


def _is_numeric_cast(node: exp.Expression) -> bool:
    return isinstance(node, exp.Cast) and node.to.this == exp.DataType.Type.DECIMAL


def _for_sqlite(statement: exp.Expression) -> None:
    for node in list(
        statement.find_all(exp.Cast, exp.Trunc, exp.Concat, exp.ConcatWs, exp.SplitPart)
    ):
        if isinstance(node, exp.Cast) and node.to.this == exp.DataType.Type.DECIMAL:
            scale = node.to.expressions[1] if len(node.to.expressions) > 1 else None
            real = exp.cast(node.this.copy(), exp.DataType.build("double"))
            node.replace(exp.Round(this=real, decimals=scale.this.copy()) if scale else real)
        elif isinstance(node, exp.Trunc) and node.args.get("decimals") is not None:
            scale = exp.Pow(this=exp.Literal.number(10), expression=node.args["decimals"].copy())
            shifted = exp.Trunc(this=exp.Mul(this=node.this.copy(), expression=scale.copy()))
            node.replace(exp.Div(this=shifted, expression=scale))
        elif isinstance(node, exp.Concat):
            node.replace(exp.Anonymous(this="concat", expressions=node.expressions))
        elif isinstance(node, exp.ConcatWs):
            node.replace(exp.Anonymous(this="concat_ws", expressions=node.expressions))
        elif isinstance(node, exp.SplitPart):
            args = [node.this, node.args["delimiter"], node.args["part_index"]]
            node.replace(exp.Anonymous(this="split_part", expressions=args))
    for shift in _day_shifts(statement, ("date", "datetime")):
        days = shift.expression.copy()
        if isinstance(shift, exp.Sub):
            days = exp.Neg(this=exp.Paren(this=days))
        day = exp.Literal.string("day")
        shift.replace(exp.Anonymous(this="date_shift", expressions=[shift.this.copy(), days, day]))
