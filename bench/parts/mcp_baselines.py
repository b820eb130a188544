"""The baselines of `bench/tool_efficiency.py`: what Airtable MCP servers hand a model.

Both answer our tools' calls the way an Airtable MCP server's tools would, with the JSON
Airtable returns (`JSON.stringify` of the records):

* `RawBaseline`: every field of every matching record, every page. It can answer any
  question from the text, at any cost; it ignores `fields`.
* `FairBaseline`: what the popular servers do by default (airtable-mcp-server's
  `list_records` and `search_records`, for one): the fields the call asks for and at most
  100 records (`maxRecords`), a search's own `limit` when smaller, and no cursor (a next
  page returns the same first records). A count, a sum or an
  average over more than 100 rows is out of its reach, which is why the bench scores
  computed facts apart from the facts readable in raw rows.

Writes go straight to Airtable, ten records a request, each answer returned raw.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pyairtable import Api
from pydantic import TypeAdapter

from services.airtable.dates import resolver_for
from services.airtable.expressions import parse_expression
from services.airtable.filters import Condition, SortKey
from services.airtable.schema import BaseSchema
from services.airtable.where import FilterGroup, MatchArg, TextSearch, Where, compile_where

RECORD_CAP = 100


class RawBaseline:
    """Every matching record with every field, every page."""

    name = "raw"

    def __init__(self, api: Api, schemas: dict[str, BaseSchema]) -> None:
        self._api = api
        self._schemas = schemas

    def run(self, base_id: str, name: str, args: dict[str, Any]) -> list[str]:
        api, base = self._api, args.get("base_id") or base_id
        if name == "list_bases":
            return [json.dumps(api.request("GET", str(api.build_url("meta/bases"))))]
        if name == "describe_table":
            data = api.request("GET", str(api.build_url("meta/bases", base, "tables")))
            if args.get("table"):
                data = next(t for t in data["tables"] if t["name"] == args["table"])
            return [json.dumps(data)]
        if name == "query_records":
            return [json.dumps(self._sql_tables(base, args["sql"]))]
        table = api.table(base, args["table"])
        if name == "get_record":
            return [json.dumps(table.get(args["record_id"]))]
        if name == "create_records":
            return [json.dumps(table.batch_create([_fields(r["fields"]) for r in args["records"]]))]
        if name == "upsert_records":
            records: list[Any] = [{"fields": _fields(r["fields"])} for r in args["records"]]
            return [json.dumps(table.batch_upsert(records, key_fields=args["merge_on"]))]
        # The model lists what a search, a total or a filtered write is about.
        wide = name in ("search_records", "aggregate_records") or bool(args.get("filters"))
        listed = self._list(base, name, args) if wide else []
        texts = [json.dumps(listed)] if wide else []
        if name == "update_records":
            values = _fields(args.get("set_fields") or [])
            updates: list[Any] = [{"id": r["id"], "fields": values} for r in listed]
            updates += [
                {"id": r["id"], "fields": _fields(r["fields"])} for r in args.get("records", [])
            ]
            for start in range(0, len(updates), 10):
                texts.append(json.dumps(table.batch_update(updates[start : start + 10])))
        if name == "delete_records":
            ids = [r["id"] for r in listed] + list(args.get("record_ids", []))
            for start in range(0, len(ids), 10):
                texts.append(json.dumps(table.batch_delete(ids[start : start + 10])))
        return texts

    def _list(self, base_id: str, tool: str, args: dict[str, Any]) -> list[Any]:
        schema = self._schemas[base_id].table(args["table"])
        text = args.get("text_search")
        where = Where(
            [Condition(**c) for c in args.get("filters", [])],
            TypeAdapter(MatchArg).validate_python(args.get("match", "all")),
            [FilterGroup(**g) for g in args.get("groups", [])],
            TextSearch.model_validate(text) if text else None,
        )
        options: dict[str, Any] = self._limits(base_id, tool, args)
        # The peer takes a filterByFormula: the model would write the same formula, with
        # relative dates worked out to the same days.
        formula = compile_where(schema, where, resolver_for(None)).formula
        if formula:
            options["formula"] = formula
        if args.get("sort"):
            options["sort"] = [
                ("-" if sort.direction == "desc" else "") + sort.field
                for sort in map(SortKey.model_validate, args["sort"])
            ]
        if args.get("view"):
            options["view"] = args["view"]
        return list(self._api.table(base_id, args["table"]).all(**options))

    def _sql_tables(self, base_id: str, sql: str) -> list[Any]:
        """A peer has no SQL: the model lists every table the query reads, then works it out."""
        names = set(re.findall(r'"([^"]+)"', sql))
        listed = []
        for table in self._schemas[base_id].tables:
            if table.name in names:
                fields = [f.name for f in table.fields if f.name in names]
                options = self._limits(base_id, "query_records", {"fields": fields})
                listed += self._api.table(base_id, table.name).all(**options)
        return listed

    def _limits(self, base_id: str, tool: str, args: dict[str, Any]) -> dict[str, Any]:
        """Which fields and how many records to ask for: all of both."""
        return {}


class FairBaseline(RawBaseline):
    """Only the fields the call needs, and at most 100 records."""

    name = "fair"

    def _limits(self, base_id: str, tool: str, args: dict[str, Any]) -> dict[str, Any]:
        if tool == "query_records":  # the fields the SQL names, at most 100 records
            return {"fields": list(args["fields"]), "max_records": RECORD_CAP}
        if tool == "search_records":  # no fields named: the server returns every field
            cap = min(int(args.get("limit") or RECORD_CAP), RECORD_CAP)
            return {"fields": list(args.get("fields") or []), "max_records": cap}
        # A total needs the grouped and summed fields; a filtered write only the IDs.
        table = self._schemas[base_id].table(args["table"])
        wanted = [f for f in (args.get("group_by"), args.get("then_by"), args.get("field")) if f]
        if args.get("expression"):
            wanted += [f.name for f in parse_expression(table, args["expression"]).fields]
        primary = table.primary.name
        return {"fields": wanted or [primary], "max_records": RECORD_CAP}


def _fields(values: list[dict[str, Any]]) -> dict[str, Any]:
    """Our tools' [{field, value | values}] as the `fields` object Airtable takes."""
    return {v["field"]: v.get("values", v.get("value")) for v in values}
