"""Benchmark: what our Airtable tools hand the model, against a typical Airtable MCP server.

For every question in `bench/questions.yaml` the plan (the tool calls a good agent would
make) runs twice, each against its own freshly seeded emulator in this process:

* ours: the LangChain tools of `tools/airtable` (compact text; proposals instead of writes);
* baseline: what a typical Airtable MCP server returns for the same calls: raw JSON
  records with every field, every page (searches and aggregations list all matching
  records; writes go straight to Airtable).

It prints, per question and in total, the tokens returned to the model
(`count_tokens_approximately`), Airtable requests (the emulator's counters) and whether
every fact the answer needs is in the text. The facts are computed from the demo data
first (see `bench/tool_facts.py`). Targets: every fact present in ours; our tokens at
most 25% of the baseline's; our requests no more than the baseline's. Exit status 1 when
a target is missed. Run: `python -m bench.tool_efficiency [questions.yaml]`.
"""

from __future__ import annotations

import json
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    # Run as a file, this folder would shadow the `emulator` package; use the repo root.
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import requests
import yaml
from langchain.tools import ToolRuntime
from langchain_core.messages import ToolMessage
from langchain_core.messages.utils import count_tokens_approximately
from pyairtable import Api
from pydantic import SecretStr

from bench.tool_facts import DemoData, Fact, expected, present
from config.settings import load_settings
from emulator import DEV_TOKEN
from emulator.testing import EmulatorServer
from services.airtable.filters import Condition, build_formula
from services.airtable.schema import BaseSchema
from services.container import Services, build_services
from services.redis_store import EmbeddedRedis
from services.schema import upgrade_database
from tools.airtable import airtable_tools
from tools.context import AssistantContext

QUESTIONS = Path(__file__).with_name("questions.yaml")
TOKEN_TARGET = 0.25


def tokens(text: str) -> int:
    return count_tokens_approximately([ToolMessage(content=text, tool_call_id="bench")])


class Counter:
    """Requests an emulator has answered since the last `take`."""

    def __init__(self, server: EmulatorServer) -> None:
        self._url = server.url
        requests.post(f"{self._url}/_emulator/stats/reset", timeout=10)

    def take(self) -> int:
        total = int(requests.get(f"{self._url}/_emulator/stats", timeout=10).json()["total"])
        requests.post(f"{self._url}/_emulator/stats/reset", timeout=10)
        return total


class Ours:
    """Our tools, called the way the agent's tool node calls them."""

    def __init__(self, services: Services, user_id: int) -> None:
        self._tools = {t.name: t for t in airtable_tools(services)}
        self._user = user_id

    def run(self, base_id: str, name: str, args: dict[str, Any]) -> list[str]:
        runtime: ToolRuntime[AssistantContext, Any] = ToolRuntime(
            state={},
            context=AssistantContext(user_id=self._user, base_id=base_id),
            config={},
            stream_writer=lambda _chunk: None,
            tool_call_id="bench",
            store=None,
        )
        args = {**args, "runtime": runtime}
        message = self._tools[name].invoke(
            {"type": "tool_call", "id": "bench", "name": name, "args": args}
        )
        if message.status == "error":
            print(f"  ! {name} failed: {message.content}", file=sys.stderr)
        return [str(message.content)]


class McpBaseline:
    """A typical Airtable MCP server: JSON.stringify of what Airtable returns, every page."""

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
        listed = self._list(base, args) if wide else []
        texts = [json.dumps(listed)] if wide else []
        # Writes go straight to Airtable, ten records a request, each answer returned raw.
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

    def _list(self, base_id: str, args: dict[str, Any]) -> list[Any]:
        schema = self._schemas[base_id].table(args["table"])
        conditions = [Condition(**c) for c in args.get("filters", [])]
        options: dict[str, Any] = {}
        formula = build_formula(schema, conditions, args.get("match", "all"))
        if formula:
            options["formula"] = formula
        if args.get("sort"):
            options["sort"] = [
                ("-" if key.get("direction") == "desc" else "") + key["field"]
                for key in args["sort"]
            ]
        if args.get("view"):
            options["view"] = args["view"]
        return list(self._api.table(base_id, args["table"]).all(**options))


def _fields(values: list[dict[str, Any]]) -> dict[str, Any]:
    """Our tools' [{field, value | values}] as the `fields` object Airtable takes."""
    return {v["field"]: v.get("values", v.get("value")) for v in values}


def resolve(value: Any, base_id: str, data: DemoData) -> Any:
    """Plan arguments may name a record by `{record_of: {table, where, sort}}`."""
    if isinstance(value, dict) and set(value) == {"record_of"}:
        return data.first(base_id, value["record_of"])["id"]
    if isinstance(value, dict):
        return {k: resolve(v, base_id, data) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, base_id, data) for v in value]
    return value


def run_plans(
    runner: Ours | McpBaseline, counter: Counter, plans: list[dict[str, Any]]
) -> list[tuple[int, int, str]]:
    """(tokens, requests, all text) per question."""
    counter.take()
    results = []
    for plan in plans:
        texts: list[str] = []
        for call in plan["calls"]:
            texts += runner.run(plan["base"], call["tool"], call["args"])
        results.append((sum(tokens(t) for t in texts), counter.take(), "\n".join(texts)))
    return results


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else QUESTIONS
    questions = yaml.safe_load(path.read_text())["questions"]
    with tempfile.TemporaryDirectory() as tmp, EmulatorServer(seed="demo") as ours_server, \
            EmulatorServer(seed="demo") as base_server:  # fmt: skip
        data = DemoData(Api(DEV_TOKEN, endpoint_url=ours_server.url))
        plans, facts = [], []
        for q in questions:
            plans.append({"base": q["base"], "calls": resolve(q["calls"], q["base"], data)})
            facts.append([f for spec in q["facts"] for f in expected(spec, q["base"], data)])
        schemas = {
            b: BaseSchema.from_json(b, Api(DEV_TOKEN, endpoint_url=ours_server.url).request(
                "GET", f"{ours_server.url}/v0/meta/bases/{b}/tables"))
            for b in {q["base"] for q in questions}
        }  # fmt: skip
        services = _services(Path(tmp), ours_server)
        try:
            user = services.accounts.register(email="bench@example.com", password=uuid.uuid4().hex)
            ours = run_plans(Ours(services, user.id), Counter(ours_server), plans)
        finally:
            prefix = services.settings.redis_key_prefix
            for key in services.redis.scan_iter(match=f"{prefix}*", count=1000):
                services.redis.delete(key)
            services.close()
            EmbeddedRedis(Path(tmp) / "var").stop()
        baseline_api = Api(DEV_TOKEN, endpoint_url=base_server.url, retry_strategy=None)
        baseline = run_plans(McpBaseline(baseline_api, schemas), Counter(base_server), plans)
    return report(questions, facts, ours, baseline)


def _services(tmp: Path, server: EmulatorServer) -> Services:
    url = f"sqlite:///{tmp / 'bench.db'}"
    upgrade_database(url)
    settings = load_settings(
        database_url=url,
        var_dir=tmp / "var",
        redis_key_prefix=f"bench{uuid.uuid4().hex[:8]}:",
        llm_provider="none",
        airtable_endpoint_url=server.url,
        airtable_token=SecretStr(DEV_TOKEN),
        # This emulator does not rate-limit; the shared limiter still paces every request.
        airtable_requests_per_second=200,
        airtable_token_requests_per_second=200,
    )
    return build_services(settings)


def report(
    questions: list[dict[str, Any]],
    facts: list[list[Fact]],
    ours: list[tuple[int, int, str]],
    baseline: list[tuple[int, int, str]],
) -> int:
    """Print the table and the targets; 0 when every target is met."""
    columns = (
        f"{'tokens':>8}{'baseline':>10}{'ratio':>7}{'req':>6}{'base':>6}{'facts':>8}{'base':>6}"
    )
    print(f"{'#':>2}  {'question':<46}{columns}")
    missing: list[str] = []
    totals = [0] * 7
    rows = zip(questions, facts, ours, baseline, strict=True)
    for i, (question, wanted, mine, theirs) in enumerate(rows, 1):
        found = [f for f in wanted if present(f, mine[2])]
        missing += [f"{question['id']}: {f.label}" for f in wanted if f not in found]
        found_base = sum(present(f, theirs[2]) for f in wanted)
        counts = (mine[0], theirs[0], mine[1], theirs[1], len(found), len(wanted), found_base)
        totals = [t + c for t, c in zip(totals, counts, strict=True)]
        print(_line(str(i), question["question"][:45], counts))
    print(_line("", "TOTAL", tuple(totals)))
    ratio = totals[0] / totals[1]
    checks = [
        (f"every fact present in ours ({totals[4]}/{totals[5]})", not missing),
        (f"tokens ours/baseline {ratio:.1%} <= {TOKEN_TARGET:.0%}", ratio <= TOKEN_TARGET),
        (f"requests ours {totals[2]} <= baseline {totals[3]}", totals[2] <= totals[3]),
    ]
    for label, ok in checks:
        print(f"{'ok  ' if ok else 'MISS'} {label}")
    for line in missing:
        print(f"     missing {line}")
    return 0 if all(ok for _, ok in checks) else 1


def _line(number: str, label: str, counts: tuple[int, ...]) -> str:
    tokens, base_tokens, requests_, base_requests, found, wanted, found_base = counts
    ratio = tokens / base_tokens if base_tokens else 0.0
    return (
        f"{number:>2}  {label:<46}{tokens:>8}{base_tokens:>10}{ratio:>7.1%}"
        f"{requests_:>6}{base_requests:>6}{found:>5}/{wanted:<2}{found_base:>6}"
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
