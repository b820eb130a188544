"""Date functions: parsing, formatting, arithmetic, parts, and record times."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from emulator.formula import ErrorValue, FieldInfo, RecordContext, compile_formula, to_cell_value

CREATED = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
MODIFIED = datetime(2024, 2, 3, 4, 5, 6, tzinfo=UTC)
NOW = datetime(2024, 5, 15, 13, 45, 30, tzinfo=UTC)
FIELDS = (
    FieldInfo("fldDue", "Due", "date"),
    FieldInfo("fldAt", "At", "dateTime"),
    FieldInfo("fldCreated", "Created", "createdTime"),
)


def evaluate(text: str, **values: Any) -> Any:
    values.setdefault("Due", "2024-03-01")
    values.setdefault("At", "2024-03-02T10:30:15.250Z")
    record = RecordContext(
        "recA", CREATED, MODIFIED, {f"fld{key}": value for key, value in values.items()}, now=NOW
    )
    return compile_formula(text, FIELDS).evaluate(record)


def cell(text: str, result_type: str | None = None) -> Any:
    return to_cell_value(evaluate(text), result_type)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("DATETIME_PARSE('2023-12-01')", "2023-12-01T00:00:00.000Z"),
        ("DATETIME_PARSE('2023-12-01T12:34:56.000Z')", "2023-12-01T12:34:56.000Z"),
        ("DATETIME_PARSE('2023-12-01T12:34:56.000')", "2023-12-01T12:34:56.000Z"),
        ("DATETIME_PARSE('2023-12-01T12:34:56.000+02:00')", "2023-12-01T10:34:56.000Z"),
        ("DATETIME_PARSE('12/1/2023')", "2023-12-01T00:00:00.000Z"),
        ("DATETIME_PARSE('December 1, 2023')", "2023-12-01T00:00:00.000Z"),
        ("DATETIME_PARSE('1/2/2024 3:04 PM')", "2024-01-02T15:04:00.000Z"),
        ("DATETIME_PARSE('01.02.2024', 'DD.MM.YYYY')", "2024-02-01T00:00:00.000Z"),
        ("DATETIME_PARSE('2024/02/01', 'YYYY-MM-DD')", "2024-02-01T00:00:00.000Z"),
        ("DATETIME_PARSE('5 Mar 24 7:08 pm', 'D MMM YY h:mm a')", "2024-03-05T19:08:00.000Z"),
        ("DATETIME_PARSE('1 June 2024', 'D MMMM YYYY')", "2024-06-01T00:00:00.000Z"),
        ("DATETIME_PARSE('1700000000', 'X')", "2023-11-14T22:13:20.000Z"),
        (
            "DATETIME_PARSE('2024-01-02 03:04:05.678', 'YYYY-MM-DD HH:mm:ss.SSS')",
            "2024-01-02T03:04:05.678Z",
        ),
        ("DATETIME_PARSE({Due})", "2024-03-01T00:00:00.000Z"),
    ],
)
def test_datetime_parse(text: str, expected: str) -> None:
    assert cell(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "DATETIME_PARSE('not a date')",
        "DATETIME_PARSE('2024-02-30')",
        "DATETIME_PARSE('31/31/2024', 'DD/MM/YYYY')",
        "DATETIME_PARSE('Smarch 1 2024', 'MMMM D YYYY')",
        "DATETIME_PARSE(BLANK())",
    ],
)
def test_datetime_parse__fails_as_an_error(text: str) -> None:
    assert isinstance(evaluate(text), ErrorValue)


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        (None, "2024-03-02T10:30:15.250Z"),
        ("'YYYY-MM-DD'", "2024-03-02"),
        ("'M/D/YY'", "3/2/24"),
        ("'DD/MM/YYYY HH:mm:ss'", "02/03/2024 10:30:15"),
        ("'MMM D, YYYY h:mm A'", "Mar 2, 2024 10:30 AM"),
        ("'MMMM Do, dddd'", "March 2nd, Saturday"),
        ("'ddd dd d E'", "Sat Sa 6 6"),
        ("'LL'", "March 2, 2024"),
        ("'L LT'", "03/02/2024 10:30 AM"),
        ("'llll'", "Sat, Mar 2, 2024 10:30 AM"),
        ("'Q [quarter] YYYY'", "1 quarter 2024"),
        ("'hh:mm a k'", "10:30 am 10"),
        ("'SSS Z ZZ'", "250 +00:00 +0000"),
        ("'X'", "1709375415"),
        ("'DDD DDDD W ww'", "62 062 9 09"),
        ("'[YYYY] YYYY'", "YYYY 2024"),
    ],
)
def test_datetime_format(fmt: str | None, expected: str) -> None:
    args = "{At}" if fmt is None else f"{{At}}, {fmt}"

    assert evaluate(f"DATETIME_FORMAT({args})") == expected


def test_datetime_format__prints_in_the_zone_set_by_set_timezone() -> None:
    text = "DATETIME_FORMAT(SET_TIMEZONE({At}, 'America/New_York'), 'YYYY-MM-DD HH:mm Z')"

    assert evaluate(text) == "2024-03-02 05:30 -05:00"
    assert evaluate("DATETIME_FORMAT(SET_LOCALE({At}, 'fr'), 'YYYY')") == "2024"
    assert isinstance(evaluate("SET_TIMEZONE({At}, 'Mars/Olympus')"), ErrorValue)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("DATEADD({Due}, 1, 'days')", "2024-03-02T00:00:00.000Z"),
        ("DATEADD({Due}, -1, 'day')", "2024-02-29T00:00:00.000Z"),
        ("DATEADD({Due}, 2, 'weeks')", "2024-03-15T00:00:00.000Z"),
        ("DATEADD('2024-01-31', 1, 'months')", "2024-02-29T00:00:00.000Z"),
        ("DATEADD('2024-01-31', 1, 'M')", "2024-02-29T00:00:00.000Z"),
        ("DATEADD({Due}, 1, 'quarter')", "2024-06-01T00:00:00.000Z"),
        ("DATEADD('2024-02-29', 1, 'years')", "2025-02-28T00:00:00.000Z"),
        ("DATEADD({At}, 90, 'minutes')", "2024-03-02T12:00:15.250Z"),
        ("DATEADD({At}, 2, 'hours')", "2024-03-02T12:30:15.250Z"),
        ("DATEADD({At}, 45, 'seconds')", "2024-03-02T10:31:00.250Z"),
        ("DATEADD({At}, 750, 'milliseconds')", "2024-03-02T10:30:16.000Z"),
        ("DATEADD({Due}, 1.5, 'days')", "2024-03-03T00:00:00.000Z"),
    ],
)
def test_dateadd(text: str, expected: str) -> None:
    assert cell(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("DATETIME_DIFF('2024-03-01', '2024-01-01', 'days')", 60),
        ("DATETIME_DIFF('2024-01-01', '2024-03-01', 'days')", -60),
        ("DATETIME_DIFF('2024-01-01T12:00:00Z', '2024-01-01T00:00:01Z', 'hours')", 11),
        ("DATETIME_DIFF('2024-01-01T00:00:01Z', '2024-01-01T12:00:00Z', 'hours')", -11),
        ("DATETIME_DIFF('2024-01-01T00:01:00Z', '2024-01-01T00:00:00Z')", 60),
        ("DATETIME_DIFF('2024-01-01T00:01:00Z', '2024-01-01T00:00:00Z', 'ms')", 60000),
        ("DATETIME_DIFF('2024-01-01T00:01:00Z', '2024-01-01T00:00:00Z', 'minutes')", 1),
        ("DATETIME_DIFF('2024-01-22', '2024-01-01', 'weeks')", 3),
        ("DATETIME_DIFF('2024-03-31', '2024-01-31', 'months')", 2),
        ("DATETIME_DIFF('2024-03-30', '2024-01-31', 'months')", 1),
        ("DATETIME_DIFF('2024-01-31', '2024-03-01', 'months')", -1),
        ("DATETIME_DIFF('2024-07-01', '2024-01-01', 'quarters')", 2),
        ("DATETIME_DIFF('2024-12-31', '2023-01-01', 'years')", 1),
        ("DATETIME_DIFF('2025-01-01', '2023-01-01', 'y')", 2),
        ("DATETIME_DIFF({At}, {Due}, 'days')", 1),
    ],
)
def test_datetime_diff__truncates_toward_zero(text: str, expected: int) -> None:
    assert evaluate(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("IS_BEFORE({Due}, {At})", True),
        ("IS_AFTER({Due}, {At})", False),
        ("IS_BEFORE({Due}, '2024-03-01')", False),
        ("IS_SAME({Due}, '2024-03-01')", True),
        ("IS_SAME({Due}, {At}, 'month')", True),
        ("IS_SAME({Due}, {At}, 'day')", False),
        ("IS_SAME({Due}, '2024-12-31', 'year')", True),
        ("IS_SAME('2024-03-03', '2024-03-09', 'week')", True),
        ("IS_SAME('2024-03-02', '2024-03-03', 'week')", False),
        ("IS_SAME('2024-03-02T10:30:59Z', {At}, 'minute')", True),
    ],
)
def test_date_comparison_functions(text: str, expected: bool) -> None:
    assert evaluate(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("YEAR({At})", 2024),
        ("MONTH({At})", 3),
        ("DAY({At})", 2),
        ("HOUR({At})", 10),
        ("MINUTE({At})", 30),
        ("SECOND({At})", 15),
        ("WEEKDAY({At})", 6),
        ("WEEKDAY('2024-03-03')", 0),
        ("WEEKDAY('2024-03-03', 'Monday')", 6),
        ("WEEKNUM('2024-01-01')", 1),
        ("WEEKNUM('2024-01-07')", 2),
        ("WEEKNUM('2024-01-07', 'Monday')", 1),
        ("DATESTR({At})", "2024-03-02"),
        ("TIMESTR({At})", "10:30:15"),
        ("YEAR('2023-06-07')", 2023),
        ("WORKDAY_DIFF('2024-03-01', '2024-03-08')", 6),
        ("WORKDAY_DIFF('2024-03-08', '2024-03-01')", -6),
        ("WORKDAY_DIFF('2024-03-01', '2024-03-08', '2024-03-04, 2024-03-05')", 4),
        ("DATESTR(WORKDAY('2024-03-01', 1))", "2024-03-04"),
        ("DATESTR(WORKDAY('2024-03-04', -1))", "2024-03-01"),
        ("DATESTR(WORKDAY('2024-03-01', 1, '2024-03-04'))", "2024-03-05"),
    ],
)
def test_date_part_functions(text: str, expected: Any) -> None:
    assert evaluate(text) == expected


def test_now_and_today__use_the_records_clock() -> None:
    assert cell("NOW()") == "2024-05-15T13:45:30.000Z"
    assert cell("TODAY()") == "2024-05-15"
    assert evaluate("TODAY() = '2024-05-15'") is True
    assert evaluate("IS_BEFORE({Due}, TODAY())") is True
    assert evaluate("TONOW('2024-05-10')") == 5
    assert evaluate("FROMNOW('2024-05-20T13:45:30Z')") == 5


def test_datetime_parse__takes_a_missing_date_from_today() -> None:
    parsed = evaluate("DATETIME_PARSE('10:30', 'HH:mm')")

    assert (parsed.hour, parsed.minute) == (10, 30)
    assert parsed.date() == datetime.now(UTC).date()


def test_now__defaults_to_the_current_time() -> None:
    record = RecordContext("recA", CREATED, MODIFIED, {})
    before = datetime.now(UTC)

    now = compile_formula("NOW()", FIELDS).evaluate(record)

    assert before <= now <= datetime.now(UTC)


def test_record_functions() -> None:
    assert evaluate("RECORD_ID()") == "recA"
    assert cell("CREATED_TIME()") == "2024-01-02T03:04:05.000Z"
    assert cell("LAST_MODIFIED_TIME()") == "2024-02-03T04:05:06.000Z"
    assert cell("LAST_MODIFIED_TIME({Due}, {At})") == "2024-02-03T04:05:06.000Z"
    assert evaluate("{Created} = CREATED_TIME()", Created="2024-01-02T03:04:05.000Z") is True


@pytest.mark.parametrize(
    "text",
    [
        "YEAR(BLANK())",
        "DATETIME_DIFF(BLANK(), TODAY(), 'days')",
        "DATEADD({Due}, 1, 'eons')",
        "DATEADD({Due}, 1e300, 'days')",
        "DATETIME_FORMAT('garbage', 'YYYY')",
        "IS_SAME({Due}, {At}, 'eon')",
    ],
)
def test_date_functions__fail_as_error_values(text: str) -> None:
    assert isinstance(evaluate(text), ErrorValue)
