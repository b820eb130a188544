"""Benchmark: what our Airtable tools hand the model, against Airtable MCP servers.

For every question in `bench/questions.yaml` the plan (the tool calls a good agent would
make) runs three times, each against its own freshly seeded emulator in this process:

* ours: the LangChain tools of `tools/airtable` (compact text; proposals instead of writes);
* raw baseline: raw JSON records with every field, every page (searches and totals list
  all matching records; writes go straight to Airtable);
* fair baseline: what the popular Airtable MCP servers return by default: only the fields
  the call asks for, at most 100 records (see `bench/parts/mcp_baselines.py`).

It prints, per question and in total, the tokens returned to the model
(`count_tokens_approximately`), Airtable requests (the emulator's counters) and how many
of the facts the answer needs are in the text, computed facts (counts, sums, averages:
written in no row) apart from readable ones (in raw rows or the schema). The facts are
worked out from the demo data first (see `bench/parts/tool_facts.py`). Targets: every fact
present in ours and every tool call of ours without error; our tokens at most 25% of
each baseline's; our requests no more than the raw baseline's (the fair one reads at
most 100 records, so it needs fewer and misses totals); every readable fact the fair
baseline finds, ours finds too. Exit status 1 when a target
is missed. Run: `python -m bench.tool_efficiency [questions.yaml]`.
"""

from __future__ import annotations

import re
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

from bench.parts.mcp_baselines import FairBaseline, RawBaseline
from bench.parts.tool_facts import KINDS, DemoData, Fact, facts_of, present
from bench.report import Check, finish
from config.settings import load_settings
from emulator import DEV_TOKEN
from emulator.seed import DEMO_BASE_IDS
from emulator.testing import EmulatorServer
from services.airtable.schema import BaseSchema
from services.container import Services, build_services
from services.migrations import upgrade_database
from services.mirrors.runner import MirrorLoop
from services.redis_store import EmbeddedRedis
from tools.airtable import airtable_tools
from tools.context import AssistantContext
from tools.query import query_tools

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

    name = "ours"

    def __init__(self, services: Services, user_id: int) -> None:
        self._tools = {t.name: t for t in [*airtable_tools(services), *query_tools(services)]}
        self._user = user_id
        self.failures: list[str] = []

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
            self.failures.append(f"{name}: {message.content}")
        return [str(message.content)]


def resolve(value: Any, base_id: str, data: DemoData) -> Any:
    """Plan arguments may name a record by `{record_of: {table, where, sort}}`."""
    if isinstance(value, dict) and set(value) == {"record_of"}:
        return data.first(base_id, value["record_of"])["id"]
    if isinstance(value, dict):
        return {k: resolve(v, base_id, data) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, base_id, data) for v in value]
    return value


Answer = tuple[int, int, str]  # tokens, Airtable requests, all the text the model got


def run_plans(
    runner: Ours | RawBaseline, counter: Counter, plans: list[dict[str, Any]]
) -> list[Answer]:
    """(tokens, requests, all text) per question."""
    counter.take()
    results = []
    for plan in plans:
        texts: list[str] = []
        for call in plan["calls"]:
            texts += runner.run(plan["base"], call["tool"], _follow(call["args"], texts))
        results.append((sum(tokens(t) for t in texts), counter.take(), "\n".join(texts)))
    return results


def _follow(args: dict[str, Any], texts: list[str]) -> dict[str, Any]:
    """`cursor: "@previous"` in a plan takes the cursor the previous answer offered; a side
    whose answer offered none (the MCP baselines have no cursor) calls without one."""
    if args.get("cursor") != "@previous":
        return args
    offered = _CURSOR.findall(texts[-1]) if texts else []
    rest = {k: v for k, v in args.items() if k != "cursor"}
    return {**rest, "cursor": offered[-1]} if offered else rest


_CURSOR = re.compile(r"with cursor (\S+);")


def main(argv: list[str]) -> None:
    path = Path(argv[0]) if argv else QUESTIONS
    questions = yaml.safe_load(path.read_text())["questions"]
    with tempfile.TemporaryDirectory() as tmp, EmulatorServer(seed="demo") as ours_server, \
            EmulatorServer(seed="demo") as raw_server, \
            EmulatorServer(seed="demo") as fair_server:  # fmt: skip
        data = DemoData(Api(DEV_TOKEN, endpoint_url=ours_server.url))
        plans = [
            {"base": q["base"], "calls": resolve(q["calls"], q["base"], data)} for q in questions
        ]
        facts = [facts_of(q, data) for q in questions]
        schemas = {
            b: BaseSchema.from_json(b, Api(DEV_TOKEN, endpoint_url=ours_server.url).request(
                "GET", f"{ours_server.url}/v0/meta/bases/{b}/tables"))
            for b in {q["base"] for q in questions}
        }  # fmt: skip
        services = _services(Path(tmp), ours_server)
        try:
            user = services.accounts.register(email="bench@example.com", password=uuid.uuid4().hex)
            build_mirrors(services)  # the demo bases, mirrored as the worker does at start
            ours = Ours(services, user.id)
            answers = {"ours": run_plans(ours, Counter(ours_server), plans)}
        finally:
            prefix = services.settings.redis_key_prefix
            for key in services.redis.scan_iter(match=f"{prefix}*", count=1000):
                services.redis.delete(key)
            services.close()
            EmbeddedRedis(Path(tmp) / "var").stop()
        for baseline, server in ((RawBaseline, raw_server), (FairBaseline, fair_server)):
            api = Api(DEV_TOKEN, endpoint_url=server.url, retry_strategy=None)
            answers[baseline.name] = run_plans(baseline(api, schemas), Counter(server), plans)
    checks = report(questions, facts, answers)
    checks.append(
        Check(
            f"every tool call of ours without error ({len(ours.failures)} failed)",
            not ours.failures,
        )
    )
    for failure in ours.failures:
        print(f"     failed {failure}")
    sys.exit(finish(checks))


def build_mirrors(services: Services) -> None:
    MirrorLoop(
        services.mirrors,
        services.mirror_sync,
        services.mirrors.registry,
        build=None,
        sweep_seconds=3600,
        scan_seconds=3600,
    ).run_once()


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
        mirror_default_bases=",".join(DEMO_BASE_IDS),
        # This emulator does not rate-limit; the shared limiter still paces every request.
        airtable_requests_per_second=200,
        airtable_token_requests_per_second=200,
    )
    return build_services(settings)


SIDES = ("ours", "raw", "fair")


def report(
    questions: list[dict[str, Any]], facts: list[list[Fact]], answers: dict[str, list[Answer]]
) -> list[Check]:
    """Print the table and the totals; return the targets."""
    print(
        f"{'#':>2}  {'question':<40}{'tokens: ours':>13}{'raw':>9}{'fair':>7}"
        f"{'req: ours':>10}{'raw':>5}{'fair':>5}{'computed: ours':>16}{'raw':>4}{'fair':>5}"
        f"{'readable: ours':>16}{'raw':>4}{'fair':>5}"
    )
    totals = Totals()
    for i, (question, wanted) in enumerate(zip(questions, facts, strict=True)):
        row = Totals()
        for side in SIDES:
            tokens_, requests_, text = answers[side][i]
            row.add(side, tokens_, requests_, wanted, text)
        totals.merge(row)
        totals.missing += [f"{question['id']}: {label}" for label in row.missing]
        print(row.line(str(i + 1), question["question"][:39]))
    print(totals.line("", "TOTAL"))
    return totals.checks()


class Totals:
    """Tokens, requests and facts found per side, for one question or all of them."""

    def __init__(self) -> None:
        self.tokens = dict.fromkeys(SIDES, 0)
        self.requests = dict.fromkeys(SIDES, 0)
        self.found = {(side, kind): 0 for side in SIDES for kind in KINDS}
        self.wanted = dict.fromkeys(KINDS, 0)
        self.missing: list[str] = []

    def add(self, side: str, tokens_: int, requests_: int, wanted: list[Fact], text: str) -> None:
        self.tokens[side] += tokens_
        self.requests[side] += requests_
        for fact in wanted:
            found = present(fact, text)
            self.found[side, fact.kind] += found
            if side == "ours":
                self.wanted[fact.kind] += 1
                if not found:
                    self.missing.append(f"{fact.kind} {fact.label}")

    def merge(self, other: Totals) -> None:
        for mine, theirs in ((self.tokens, other.tokens), (self.requests, other.requests)):
            for side in SIDES:
                mine[side] += theirs[side]
        for key in self.found:
            self.found[key] += other.found[key]
        for kind in KINDS:
            self.wanted[kind] += other.wanted[kind]

    def line(self, number: str, label: str) -> str:
        tok, req, found = self.tokens, self.requests, self.found
        facts = "".join(
            f"{found['ours', kind]:>12}/{self.wanted[kind]:<3}{found['raw', kind]:>4}"
            f"{found['fair', kind]:>5}"
            for kind in KINDS
        )
        return (
            f"{number:>2}  {label:<40}{tok['ours']:>13}{tok['raw']:>9}{tok['fair']:>7}"
            f"{req['ours']:>10}{req['raw']:>5}{req['fair']:>5}{facts}"
        )

    def checks(self) -> list[Check]:
        tok, req, found, wanted = self.tokens, self.requests, self.found, self.wanted
        for side in SIDES:
            kinds = ", ".join(f"{found[side, k]}/{wanted[k]} {k}" for k in KINDS)
            print(f"facts in {side:<5} {kinds}")
        to_raw, to_fair = tok["ours"] / tok["raw"], tok["ours"] / tok["fair"]
        every = sum(wanted.values())
        checks = [
            Check(
                f"every fact present in ours ({sum(found['ours', k] for k in KINDS)}/{every})",
                not self.missing,
            ),
            Check(
                f"tokens ours/raw baseline {to_raw:.1%} <= {TOKEN_TARGET:.0%}",
                to_raw <= TOKEN_TARGET,
            ),
            Check(
                f"tokens ours/fair baseline {to_fair:.1%} <= {TOKEN_TARGET:.0%}",
                to_fair <= TOKEN_TARGET,
            ),
            Check(
                f"requests ours {req['ours']} <= raw baseline {req['raw']}",
                req["ours"] <= req["raw"],
            ),
            Check(
                f"readable facts ours {found['ours', 'readable']} >= fair baseline "
                f"{found['fair', 'readable']}",
                found["ours", "readable"] >= found["fair", "readable"],
            ),
        ]
        for line in self.missing:
            print(f"     missing {line}")
        return checks


if __name__ == "__main__":
    main(sys.argv[1:])
