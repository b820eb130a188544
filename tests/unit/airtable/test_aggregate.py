"""Metrics over values and groups, the way aggregate_records computes them."""

from __future__ import annotations

import math
import statistics

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.airtable.aggregate import GroupResult, aggregate, group_keys, order_groups


def test_sum_and_avg__skip_empty_and_error_cells() -> None:
    rows = [(1.5, ["a"]), (None, ["a"]), ({"error": "#ERROR!"}, ["b"]), (3, ["b"])]
    groups, total = aggregate(rows, "sum")
    assert {g.key: g.value for g in groups} == {"a": 1.5, "b": 3.0}
    assert total == GroupResult("Total", 4.5, 4)
    _, average = aggregate(rows, "avg")
    assert average.value == 2.25


def test_min_max__work_on_dates_and_lookups() -> None:
    _, earliest = aggregate([("2026-02-01", []), ("2025-12-31", []), (None, [])], "min")
    _, largest = aggregate([([3, 9], []), ([4], [])], "max")
    assert earliest.value == "2025-12-31"
    assert largest.value == 9


def test_count__counts_records_or_only_non_empty_values() -> None:
    rows = [("x", ["g"]), (None, ["g"]), ("", ["h"])]
    _, every = aggregate(rows, "count")
    _, present = aggregate(rows, "count", counted=lambda v: bool(v))
    assert (every.value, present.value) == (3, 1)


def test_group_keys__one_per_item_empty_and_date_buckets() -> None:
    assert group_keys(["QA", "Docs", "QA"]) == ["QA", "Docs"]
    assert group_keys(None) == ["(empty)"]
    assert group_keys(0) == ["0"]
    assert group_keys("2026-05-17", bucket="month") == ["2026-05"]
    assert group_keys("2026-05-17", bucket="week") == ["2026-05-11"]  # its Monday
    assert group_keys("2026-05-11T09:30:00.000Z", bucket="week") == ["2026-05-11"]
    assert group_keys(["2026-05-17", "2026-08-01"], bucket="quarter") == ["2026-Q2", "2026-Q3"]
    assert group_keys({"name": "Ana", "id": "usr1"}) == ["Ana"]


def test_order_groups__by_value_with_empty_values_last_or_by_name() -> None:
    groups = [GroupResult("b", 2, 1), GroupResult("a", None, 1), GroupResult("c", 5, 1)]
    assert [g.key for g in order_groups(groups, "value_desc")] == ["c", "b", "a"]
    assert [g.key for g in order_groups(groups, "value_asc")] == ["b", "c", "a"]
    assert [g.key for g in order_groups(groups, "group")] == ["a", "b", "c"]


@given(st.lists(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False), max_size=200))
def test_sum__equals_an_exact_sum(values: list[float]) -> None:
    _, total = aggregate([(v, []) for v in values], "sum")
    assert total.value == round(math.fsum(values), 6)


@settings(deadline=None)  # timing on a busy machine is not what this checks
@given(
    st.lists(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), min_size=1, max_size=80),
    st.integers(min_value=1, max_value=99),
)
def test_median_and_percentile__equal_the_statistics_module(values: list[float], p: int) -> None:
    _, median = aggregate([(v, []) for v in values], "median")
    _, pct = aggregate([(v, []) for v in values], "percentile", p=p)
    # Both sides rounded to 6 places may differ by one unit in the last (0.3000005 rounds
    # either way after float arithmetic): compare with the exact median, within a rounding.
    assert median.value == pytest.approx(statistics.median(values), abs=1e-6)
    if len(values) > 1:
        cut = statistics.quantiles(values, n=100, method="inclusive")[p - 1]
        assert pct.value == pytest.approx(round(cut, 6), abs=1e-5)


def test_percentile__ends_are_min_and_max_and_empty_groups_have_none() -> None:
    rows = [(4, ["a"]), (1, ["a"]), (9, ["a"]), (None, ["b"])]
    groups, _ = aggregate(rows, "percentile", p=100)
    assert {g.key: g.value for g in groups} == {"a": 9, "b": None}
    _, low = aggregate(rows, "percentile", p=0)
    assert low.value == 1


def test_count_distinct__counts_each_value_once_across_lists_and_skips_empty() -> None:
    rows = [(["QA", "Docs"], ["x"]), ("QA", ["x"]), (None, ["y"]), ("qa", ["y"])]
    groups, total = aggregate(rows, "count_distinct", counted=lambda v: v is not None)
    assert total.value == 3  # QA, Docs, qa: case is kept, as Airtable keeps it
    assert {g.key: g.value for g in groups} == {"x": 2, "y": 1}


def test_two_field_groups__one_result_per_pair_ordered_by_name() -> None:
    rows = [
        (1, [("Ana", "Won")]),
        (1, [("Ana", "Lost")]),
        (1, [("Ana", "Won")]),
        (1, [("Ben", "Won")]),
    ]
    groups, total = aggregate(rows, "count")
    ordered = order_groups(groups, "group")
    assert [(g.key, g.subkey, g.value) for g in ordered] == [
        ("Ana", "Lost", 1),
        ("Ana", "Won", 2),
        ("Ben", "Won", 1),
    ]
    assert total.value == 4
