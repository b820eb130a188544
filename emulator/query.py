"""List-records parameters, from a query string or a ``listRecords`` JSON body.

pyairtable sends ``fields[]=A&fields[]=B`` and ``sort[0][field]=X&sort[0][direction]=desc``
on GET, and native JSON arrays (``sort: [{field, direction}]``) on POST; ``timeZone`` and
``userLocale`` stay in the query string either way.
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import QueryParams

from emulator import errors

_SORT_KEY = re.compile(r"^sort\[(\d+)\]\[(field|direction)\]$")
MAX_PAGE_SIZE = 100


@dataclass
class ListQuery:
    """Validated list parameters (field names are checked later, against the table)."""

    page_size: int = MAX_PAGE_SIZE
    max_records: int | None = None
    offset: str | None = None
    fields: list[str] | None = None
    sort: list[tuple[str, str]] = field(default_factory=list)
    view: str | None = None
    formula: str | None = None
    cell_format: str = "json"
    time_zone: str | None = None
    user_locale: str | None = None
    by_id: bool = False
    comment_count: bool = False


def parse_bool(value: Any) -> bool:
    """Read ``1``/``true``/``0``/``false`` (strings or JSON) as a boolean."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("1", "true", "0", "false", ""):
        return value.lower() in ("1", "true")
    raise errors.invalid_request()


def _int(value: Any, *, error: errors.ApiError) -> int:
    if isinstance(value, bool):
        raise error
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    raise error


def _page_size(value: Any) -> int:
    size = _int(value, error=errors.invalid_page_size(value))
    if not 0 <= size <= MAX_PAGE_SIZE:
        raise errors.invalid_page_size(value)
    return size or MAX_PAGE_SIZE


def _max_records(value: Any) -> int:
    number = _int(value, error=errors.invalid_request(f"Invalid maxRecords: {value!r}"))
    if number < 0:
        raise errors.invalid_request(f"Invalid maxRecords: {value!r}")
    return number


def _sort_entry(field_name: Any, direction: Any) -> tuple[str, str]:
    direction = "asc" if direction in (None, "") else direction
    if not isinstance(field_name, str) or not field_name:
        raise errors.invalid_request("Invalid sort: every sort object needs a field")
    if direction not in ("asc", "desc"):
        raise errors.invalid_request(f"Invalid sort direction: {direction!r}")
    return field_name, direction


def _string_list(value: Any, name: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        return list(value)
    raise errors.invalid_request(f"Invalid {name}: expected a list of strings")


def _common(query: ListQuery, get: Mapping[str, Any]) -> ListQuery:
    if (value := get.get("cellFormat")) is not None:
        if value not in ("json", "string"):
            raise errors.invalid_request(f"Invalid cellFormat: {value!r}")
        query.cell_format = value
    for key, attr in (("timeZone", "time_zone"), ("userLocale", "user_locale")):
        if (value := get.get(key)) is not None:
            if not isinstance(value, str):
                raise errors.invalid_request(f"Invalid {key}")
            setattr(query, attr, value)
    if (value := get.get("returnFieldsByFieldId")) is not None:
        query.by_id = parse_bool(value)
    if (value := get.get("view")) is not None:
        if not isinstance(value, str):
            raise errors.invalid_request("Invalid view")
        query.view = value or None
    if (value := get.get("filterByFormula")) is not None:
        if not isinstance(value, str):
            raise errors.invalid_request("Invalid filterByFormula")
        query.formula = value if value.strip() else None
    if (value := get.get("pageSize")) is not None:
        query.page_size = _page_size(value)
    if (value := get.get("maxRecords")) is not None:
        query.max_records = _max_records(value)
    if (value := get.get("offset")) is not None:
        if not isinstance(value, str):
            raise errors.invalid_offset(value)
        query.offset = value or None
    return query


def _metadata(query: ListQuery, values: list[str]) -> None:
    for item in values:
        if item != "commentCount":
            raise errors.invalid_request(f"Invalid recordMetadata: {item!r}")
        query.comment_count = True


def from_query_string(params: QueryParams) -> ListQuery:
    """Parse list parameters from a GET query string."""
    single = {key: params.get(key) for key in params}
    query = _common(ListQuery(), single)
    names = params.getlist("fields[]") + params.getlist("fields")
    if names or "fields[]" in single or "fields" in single:
        query.fields = [n for n in names if n]
    sort: dict[int, dict[str, str]] = {}
    for key in single:
        if match := _SORT_KEY.match(key):
            sort.setdefault(int(match.group(1)), {})[match.group(2)] = params[key]
    query.sort = [_sort_entry(sort[i].get("field"), sort[i].get("direction")) for i in sorted(sort)]
    _metadata(query, params.getlist("recordMetadata[]") + params.getlist("recordMetadata"))
    return query


def from_body(body: Mapping[str, Any], params: QueryParams) -> ListQuery:
    """Parse list parameters from a ``listRecords`` JSON body (plus the query string)."""
    merged = {key: params.get(key) for key in ("timeZone", "userLocale") if params.get(key)}
    merged.update(body)
    query = _common(ListQuery(), merged)
    if (names := body.get("fields")) is not None:
        query.fields = _string_list(names, "fields")
    sort = body.get("sort")
    if sort is not None:
        if not isinstance(sort, list) or not all(isinstance(s, dict) for s in sort):
            raise errors.invalid_request("Invalid sort: expected a list of objects")
        query.sort = [_sort_entry(s.get("field"), s.get("direction")) for s in sort]
    if (metadata := body.get("recordMetadata")) is not None:
        _metadata(query, _string_list(metadata, "recordMetadata"))
    return query
