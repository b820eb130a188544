"""Read-only SQLite connections for `query_records`: opened read-only, an authorizer that
allows reading and an allowlist of functions only, a length limit, a time limit through
the progress handler, and median/percentile aggregates SQLite lacks."""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from services.mirrors.sqlite_dates import date_part, date_shift, date_trunc
from services.mirrors.sqlite_text import OrderedConcat, concat, concat_ws, split_part, to_char

# SQLite's own functions a query may call (names as the authorizer reports them).
SAFE_FUNCTIONS = frozenset(
    {
        "count", "sum", "avg", "min", "max", "total", "group_concat", "abs", "round",
        "coalesce", "ifnull", "iif", "nullif", "lower", "upper", "length", "substr",
        "substring", "trim", "ltrim", "rtrim", "replace", "instr",
        "like", "glob", "date", "time", "datetime", "julianday", "strftime", "unixepoch",
        "cast", "typeof", "sign", "floor", "ceil", "ceiling", "sqrt", "pow",
        "power", "ln", "log", "log10", "exp", "mod", "row_number", "rank", "dense_rank",
        "ntile", "lag", "lead", "first_value", "last_value", "percent_rank", "cume_dist",
        "median", "percentile", "percentile_cont", "percentile_disc", "stddev", "variance",
        "char", "unicode", "quote", "concat", "concat_ws", "trunc", "octet_length",
        "stddev_samp", "stddev_pop", "variance_pop", "var_samp", "var_pop",
        "current_date", "current_time", "current_timestamp",
        "date_part", "date_trunc", "date_shift", "to_char", "split_part",
        "string_agg_sorted",
    }
)  # fmt: skip
MAX_VALUE_BYTES = 1_000_000
_PROGRESS_STEPS = 10_000


class _Values:
    def __init__(self) -> None:
        self.values: list[float] = []
        self.p: float | None = None

    def _add(self, value: Any, p: Any = None) -> None:
        if p is not None and self.p is None:
            fraction = float(p)
            self.p = fraction / 100 if fraction > 1 else fraction
        if value is None or isinstance(value, str | bytes):
            return
        self.values.append(float(value))


class Median(_Values):
    def step(self, value: Any) -> None:
        self._add(value)

    def finalize(self) -> float | None:
        return continuous(self.values, 0.5)


class PercentileCont(_Values):
    """percentile_cont(x, p) and percentile(x, p): p as 0.9 or 90."""

    def step(self, value: Any, p: Any) -> None:
        self._add(value, p)

    def finalize(self) -> float | None:
        return continuous(self.values, self.p if self.p is not None else 0.5)


class PercentileDisc(_Values):
    def step(self, value: Any, p: Any) -> None:
        self._add(value, p)

    def finalize(self) -> float | None:
        if not self.values:
            return None
        ordered = sorted(self.values)
        fraction = min(max(self.p if self.p is not None else 0.5, 0.0), 1.0)
        index = max(0, math.ceil(fraction * len(ordered)) - 1)
        return ordered[index]


class Variance(_Values):
    """The sample variance (PostgreSQL's variance/var_samp); `population` divides by n."""

    population = False

    def step(self, value: Any) -> None:
        self._add(value)

    def finalize(self) -> float | None:
        n = len(self.values)
        if n < (1 if self.population else 2):
            return None
        mean = math.fsum(self.values) / n
        return math.fsum((v - mean) ** 2 for v in self.values) / (n if self.population else n - 1)


class VariancePop(Variance):
    population = True


class Deviation(Variance):
    def finalize(self) -> float | None:
        found = super().finalize()
        return None if found is None else math.sqrt(found)


class DeviationPop(Deviation):
    population = True


_SPREADS: dict[str, type[Variance]] = {
    "stddev": Deviation,
    "stddev_samp": Deviation,
    "stddev_pop": DeviationPop,
    "variance": Variance,
    "var_samp": Variance,
    "variance_pop": VariancePop,
    "var_pop": VariancePop,
}


def continuous(values: list[float], fraction: float) -> float | None:
    """Linear interpolation between closest ranks (PostgreSQL's percentile_cont)."""
    if not values:
        return None
    ordered = sorted(values)
    position = min(max(fraction, 0.0), 1.0) * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _authorizer(tables: frozenset[str]) -> Callable[..., int]:
    """Allow reading `tables` only (a second barrier behind the query check: not the
    file's other tables, not `sqlite_master`), SELECT itself and the safe functions."""

    def authorize(action: int, arg1: str | None, arg2: str | None, *_: Any) -> int:
        if action in (sqlite3.SQLITE_SELECT, sqlite3.SQLITE_RECURSIVE):
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_READ and arg1 in tables:
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in SAFE_FUNCTIONS:
            return sqlite3.SQLITE_OK
        return sqlite3.SQLITE_DENY

    return authorize


@contextmanager
def read_only(
    path: Path, *, tables: Iterable[str], timeout_seconds: float
) -> Iterator[sqlite3.Connection]:
    """A connection that can only read `tables` of `path`, stopped after `timeout_seconds`."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        conn.execute("PRAGMA query_only=1")
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
        conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
        conn.create_aggregate("median", 1, Median)  # type: ignore[arg-type]
        conn.create_aggregate("percentile", 2, PercentileCont)  # type: ignore[arg-type]
        conn.create_aggregate("percentile_cont", 2, PercentileCont)  # type: ignore[arg-type]
        conn.create_aggregate("percentile_disc", 2, PercentileDisc)  # type: ignore[arg-type]
        conn.create_function("date_part", 2, date_part, deterministic=True)
        conn.create_function("date_trunc", 2, date_trunc, deterministic=True)
        conn.create_function("date_shift", 3, date_shift, deterministic=True)
        conn.create_function("to_char", 2, to_char, deterministic=True)
        conn.create_function("split_part", 3, split_part, deterministic=True)
        conn.create_function("concat", -1, concat, deterministic=True)
        conn.create_function("concat_ws", -1, concat_ws, deterministic=True)
        conn.create_aggregate("string_agg_sorted", -1, OrderedConcat)  # type: ignore[arg-type]
        for name, aggregate in _SPREADS.items():
            conn.create_aggregate(name, 1, aggregate)  # type: ignore[arg-type]
        deadline = time.monotonic() + timeout_seconds
        conn.set_progress_handler(lambda: int(time.monotonic() > deadline), _PROGRESS_STEPS)
        conn.set_authorizer(_authorizer(frozenset(tables)))
        yield conn
    finally:
        conn.close()
