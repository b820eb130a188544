"""Conversion between Airtable cells, SQL values and the canonical form the merge compares."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.sync.convert import ConversionError, Converter


def test_convert__numbers_compare_equal_whatever_their_type() -> None:
    number = Converter("number")
    assert number.from_airtable(3.0) == number.from_sql("3") == 3
    assert number.from_sql("2.50") == 2.5
    assert number.from_sql(None) is None


def test_convert__text_that_is_not_a_number_is_refused_with_the_value() -> None:
    with pytest.raises(ConversionError, match="'lots' is not a number"):
        Converter("number").from_sql("lots")


def test_convert__datetimes_meet_in_utc() -> None:
    paris = Converter("datetime", "Europe/Paris")
    canonical = "2026-03-01T09:30:00.000Z"
    assert paris.from_sql(datetime(2026, 3, 1, 10, 30)) == canonical  # naive: Paris time
    assert paris.from_airtable("2026-03-01T09:30:00.000Z") == canonical
    assert paris.to_sql(canonical, column_type="datetime") == datetime(2026, 3, 1, 10, 30)
    assert paris.to_sql(canonical, column_type="datetime_tz") == datetime(
        2026, 3, 1, 9, 30, tzinfo=UTC
    )


def test_convert__dates_checkboxes_and_lists() -> None:
    assert Converter("date").from_sql(date(2026, 1, 2)) == "2026-01-02"
    assert Converter("checkbox").from_airtable(None) is False
    assert Converter("checkbox").from_sql(1) is True
    tags = Converter("multiselect")
    assert tags.from_airtable(["b", "a"]) == tags.from_sql("a,b") == ["a", "b"]
    assert tags.to_sql(["a", "b"], column_type="text") == "a,b"
    assert tags.to_sql(["a", "b"], column_type="json") == '["a", "b"]'


def test_convert__link_names_read_and_write_like_lists_of_names() -> None:
    names = Converter("link_names")
    assert names.from_sql("Bob, Alice") == ["Alice", "Bob"]
    assert names.from_sql('["Bob", "Alice", "Bob"]') == ["Alice", "Bob"]
    assert names.from_airtable(["Carla"]) == ["Carla"]
    assert names.from_sql("") is None
    assert names.to_sql(["Alice", "Bob"], column_type="text") == "Alice,Bob"
    assert names.to_sql(["Alice"], column_type="json") == '["Alice"]'
