"""One meaning for a checked query on SQLite and PostgreSQL (see `guard.check_query`).

The model writes one SQL for either database; these rewrites make the answers agree:
computed columns named as written, empty values sorted last, checkboxes and dates compared
as people write them, `percentile(x, p)` and `PERCENTILE_CONT ... WITHIN GROUP` on both.
They run on the parsed statement after its names were checked and rewritten (a column
carries its mirror type in `meta["kind"]`).
"""

from __future__ import annotations

import itertools

import sqlglot
from sqlglot import exp

from services.mirrors.habits import kind, rewrite
from services.mirrors.sqlite_dates import unit_name

MAX_LABEL_BYTES = 63  # PostgreSQL's longest column name


def same_on_both(statement: exp.Expression, text: str, dialect: str) -> None:
    """The rewrites after names are resolved (`text`: the query as written)."""
    _percentile_calls(statement)
    _nulls_last(statement, text, dialect)
    _typed_operands(statement, dialect)
    if dialect == "sqlite":
        _percentiles_for_sqlite(statement)
        _dates_for_sqlite(statement)
    rewrite(statement, dialect)


def label_expressions(statement: exp.Expression) -> None:
    """Computed columns of the answer are named as written (`COUNT(*)`,
    `MEDIAN("Estimate Hours")`), the same on SQLite and PostgreSQL, never by field IDs."""
    select = statement
    while isinstance(select, exp.SetOperation):
        select = select.this
    if not isinstance(select, exp.Select):
        return
    for index, item in enumerate(select.expressions):
        if isinstance(item, exp.Alias | exp.Column | exp.Star):
            continue
        written = item.copy()
        for ordered in written.find_all(exp.Ordered):  # each parser fills in its own default
            ordered.set("nulls_first", not ordered.args.get("desc"))
        for division in written.find_all(exp.Div):
            division.set("safe", None)
            division.set("typed", None)
        written = written.transform(_date_trunc)  # PostgreSQL's DATE_TRUNC, as SQLite's
        label = written.sql().encode()[:MAX_LABEL_BYTES].decode(errors="ignore")
        select.expressions[index] = exp.alias_(item, label, quoted=True)


def _date_trunc(node: exp.Expression) -> exp.Expression:
    if not isinstance(node, exp.TimestampTrunc):
        return node
    return exp.DateTrunc(unit=exp.Literal.string(node.args["unit"].name), this=node.this)


def _nulls_last(statement: exp.Expression, text: str, dialect: str) -> None:
    """Empty values sort last both ways (top and bottom N list values), on both databases
    (SQLite puts NULLs first going up, PostgreSQL first going down), unless the query
    says NULLS FIRST/LAST itself."""
    words = [t.text.upper() for t in sqlglot.tokenize(text, read=dialect)]
    if any(a == "NULLS" and b in ("FIRST", "LAST") for a, b in itertools.pairwise(words)):
        return
    for ordered in statement.find_all(exp.Ordered):
        if not isinstance(ordered.parent, exp.Order) or isinstance(
            ordered.parent.parent, exp.WithinGroup
        ):
            continue
        ordered.set("nulls_first", False)


_TRUTHS = {"true": True, "t": True, "yes": True, "1": True}
_TRUTHS |= {"false": False, "f": False, "no": False, "0": False}


def _typed_operands(statement: exp.Expression, dialect: str) -> None:
    """Checkboxes compared with 'true', 1 or 0 mean true/false on both databases; a date
    minus a date is days on both; a date read as text (LIKE, substr) is its ISO text."""
    for node in list(statement.find_all(exp.EQ, exp.NEQ, exp.In)):
        pairs = [("this", "expression"), ("expression", "this")]
        values = [node.args.get(o) for s, o in pairs if kind(node.args.get(s)) == "boolean"]
        if isinstance(node, exp.In) and kind(node.this) == "boolean":
            values = list(node.expressions)
        for value in values:
            if not isinstance(value, exp.Literal):
                continue
            truth = _TRUTHS.get(str(value.this).strip().lower())
            if truth is not None:
                value.replace(exp.true() if truth else exp.false())
    for minus in list(statement.find_all(exp.Sub)):
        if dialect == "sqlite" and kind(minus.this) == kind(minus.expression) == "date":
            for side in ("this", "expression"):
                day = exp.Anonymous(this="julianday", expressions=[minus.args[side].copy()])
                minus.set(side, day)
    if dialect != "postgres":
        return
    for reader in list(statement.find_all(exp.Like, exp.ILike, exp.Substring, exp.Left)):
        target = reader.this
        if kind(target) in ("date", "datetime"):
            target.replace(exp.cast(target.copy(), exp.DataType.build("text")))


def _percent(value: exp.Expression) -> exp.Expression:
    """percentile(x, 90) means the 0.9 fraction (a literal over 1 is a percentage)."""
    if isinstance(value, exp.Literal) and value.is_number and float(value.this) > 1:
        return exp.Literal.number(float(value.this) / 100)
    return value


def _percentile_calls(statement: exp.Expression) -> None:
    """percentile(x, p) -> PERCENTILE_CONT(p) WITHIN GROUP (ORDER BY x): one meaning on
    both databases (PostgreSQL has no `percentile`)."""
    for node in list(statement.find_all(exp.Anonymous)):
        if str(node.this).lower() != "percentile" or len(node.expressions) != 2:
            continue
        target, fraction = node.expressions
        node.replace(
            exp.WithinGroup(
                this=exp.PercentileCont(this=_percent(fraction.copy())),
                expression=exp.Order(expressions=[exp.Ordered(this=target.copy())]),
            )
        )


def _percentiles_for_sqlite(statement: exp.Expression) -> None:
    """PERCENTILE_CONT(p) WITHIN GROUP (ORDER BY x) -> percentile_cont(x, p) (registered);
    ORDER BY x DESC reads the values from the top: -percentile_cont(-x, p)."""
    for node in list(statement.find_all(exp.WithinGroup)):
        func = node.this
        order = node.expression
        if isinstance(func, exp.PercentileCont | exp.PercentileDisc) and isinstance(
            order, exp.Order
        ):
            name = "percentile_cont" if isinstance(func, exp.PercentileCont) else "percentile_disc"
            ordered = order.expressions[0]
            target = ordered.this
            if ordered.args.get("desc"):
                negated = exp.Neg(this=exp.Paren(this=target))
                call = exp.Anonymous(this=name, expressions=[negated, func.this])
                node.replace(exp.Neg(this=call))
            else:
                node.replace(exp.Anonymous(this=name, expressions=[target, func.this]))


def _dates_for_sqlite(statement: exp.Expression) -> None:
    """PostgreSQL's date syntax on SQLite (the functions of `sqlite_dates.py`):
    EXTRACT(part FROM x) -> date_part('part', x); DATE_TRUNC('unit', x) -> date_trunc;
    x ± INTERVAL 'n unit' -> date_shift(x, ±n, 'unit'). Innermost first, so a truncated
    date can be shifted and a shifted one extracted from."""
    for node in reversed(list(statement.find_all(exp.Extract, exp.DateTrunc, exp.Add, exp.Sub))):
        if isinstance(node, exp.Extract):
            part = exp.Literal.string(unit_name(node.this.name))
            node.replace(exp.Anonymous(this="date_part", expressions=[part, node.expression]))
        elif isinstance(node, exp.DateTrunc):
            unit = exp.Literal.string(unit_name(node.args["unit"].name))
            node.replace(exp.Anonymous(this="date_trunc", expressions=[unit, node.this]))
        elif isinstance(node.expression, exp.Interval):
            shift = _interval(node.expression, negative=isinstance(node, exp.Sub))
            if shift is not None:
                node.replace(exp.Anonymous(this="date_shift", expressions=[node.this, *shift]))


def _interval(interval: exp.Interval, *, negative: bool) -> list[exp.Expression] | None:
    """INTERVAL '30 days', INTERVAL '30' DAY, INTERVAL 2 WEEK as [amount, 'unit']."""
    amount, unit = interval.this, interval.args.get("unit")
    if not isinstance(amount, exp.Literal):
        return None
    text = str(amount.this).strip()
    if unit is None:
        pieces = text.split()
        if len(pieces) != 2:
            return None
        text, unit_text = pieces
    else:
        unit_text = unit.name
    try:
        number = float(text)
    except ValueError:
        return None
    number = -number if negative else number
    value = exp.Literal.number(int(number) if number.is_integer() else number)
    return [value, exp.Literal.string(unit_name(unit_text))]
