"""Benchmark: 50 users at once, each holding a 10-turn conversation through `POST /api/chat`.

`make run`'s processes (web, worker, emulator as Airtable) on scratch stores, and a fake
Gemini that answers by rule with a fixed latency per call (`bench/parts/`): every turn is a
tool call (`aggregate_records` over the emulator), then the answer streamed in pieces; the
first turn also names the conversation. Each user has its own account and API token.

Users behave like people: each starts at a random moment within the first pause and pauses
0.5 to 1.5 times `--think` seconds between turns (reading, typing), and the fake model
answers each call after `--latency` seconds (Gemini Flash's usual time to answer a short
call is about a second). `--think 0 --latency 0.05` is a stress test instead: 50 users
asking 400 turns a second of one 2-core machine measure its saturation, not the server's
overhead. The web process's CPU time per turn and its share of one core are printed, so
the headroom is visible (one web process is one Python interpreter: one core at most).

Baseline, same run: one user alone, the same 10 turns, by `--alone` users one after
another (3: 30 turns, so the baseline's p95 is a percentile, not the slowest of 10 turns,
which moved it by a quarter from run to run). The server's own overhead of a turn
is its time less the fake model's fixed latency (calls x latency; the ledger confirms the
number of calls). Prints p50/p95/p99 time to first token and per turn, for both runs, the
overhead ratio, errors, and each user's budget counters against the ledger.
Targets: 0 errors; counters equal to the ledger (none left in flight); p95 overhead under
load ≤ 2x the single user's. Exits 1 on a miss.

Run: ``python -m bench.load [--users 50] [--turns 10] [--latency 1.0] [--think 5] [--web 1]
[--alone 3]``
(`--web N` starts N web replicas, as README's Scaling describes, each user kept to one).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from bench.parts.chat_stack import (
    Stack,
    Turn,
    chat_stack,
    cpu_seconds,
    ledger_matches_counters,
    ledger_rows,
    machine_cpu_seconds,
    run_users,
)
from bench.report import Check, finish, percentile

TARGET_RATIO = 2.0


def _calls(turn_index: int) -> int:
    """Model calls of a turn: the tool call and the answer, and the title on the first."""
    return 3 if turn_index == 0 else 2


def _figures(name: str, turns: list[list[Turn]], latency: float) -> dict[str, float]:
    done = [t for user in turns for t in user if not t.error]
    overhead = [
        t.total_s - _calls(i) * latency for user in turns for i, t in enumerate(user) if not t.error
    ]
    first = [t.first_token_s for t in done if t.first_token_s]
    total = [t.total_s for t in done]
    row = {
        "ttft_p50": percentile(first, 0.5),
        "ttft_p95": percentile(first, 0.95),
        "ttft_p99": percentile(first, 0.99),
        "turn_p50": percentile(total, 0.5),
        "turn_p95": percentile(total, 0.95),
        "turn_p99": percentile(total, 0.99),
        "over_p50": percentile(overhead, 0.5),
        "over_p95": percentile(overhead, 0.95),
    }
    # Where a turn's time goes: the stream opened (caller and conversation found), the
    # first tool result (one model call and the tool), the first answer token.
    for key, values in (
        ("open", [t.opened_s for t in done if t.opened_s]),
        ("tool", [t.tool_s for t in done if t.tool_s]),
    ):
        row[f"{key}_p50"] = percentile(values, 0.5)
        row[f"{key}_p95"] = percentile(values, 0.95)
    ms = {key: f"{value * 1000:.0f}" for key, value in row.items()}
    print(
        f"{name:>12}: {len(done)} turns; first token p50/p95/p99 "
        f"{ms['ttft_p50']}/{ms['ttft_p95']}/{ms['ttft_p99']} ms; "
        f"turn p50/p95/p99 {ms['turn_p50']}/{ms['turn_p95']}/{ms['turn_p99']} ms; "
        f"server overhead p50/p95 {ms['over_p50']}/{ms['over_p95']} ms; "
        f"stream open p50/p95 {ms['open_p50']}/{ms['open_p95']} ms, "
        f"first tool result {ms['tool_p50']}/{ms['tool_p95']} ms"
    )
    return row


@dataclass
class Run:
    turns: list[list[Turn]]
    user_ids: list[int]
    seconds: float
    web_cpu_s: float
    machine_busy_s: float
    machine_steal_s: float

    def describe(self) -> str:
        count = sum(len(user) for user in self.turns)
        cores = os.cpu_count() or 1
        return (
            f"{count} turns in {self.seconds:.1f} s ({count / self.seconds:.1f} a second); "
            f"web CPU {self.web_cpu_s * 1000 / count:.0f} ms a turn, "
            f"{self.web_cpu_s / self.seconds:.0%} of one core in all; machine "
            f"{self.machine_busy_s / self.seconds / cores:.0%} busy, "
            f"{self.machine_steal_s / self.seconds / cores:.0%} stolen, of {cores} cores"
        )


def _run(stack: Stack, users: int, turns: int, think_s: float) -> Run:
    made = stack.add_users(users)
    cpu = _web_cpu(stack)
    busy, steal = machine_cpu_seconds()
    started = time.perf_counter()
    result = run_users(stack.urls, [token for _, token in made], turns, think_s=think_s)
    elapsed = time.perf_counter() - started
    busy_after, steal_after = machine_cpu_seconds()
    return Run(
        result,
        [user_id for user_id, _ in made],
        elapsed,
        _web_cpu(stack) - cpu,
        busy_after - busy,
        steal_after - steal,
    )


def _alone(stack: Stack, users: int, turns: int, think_s: float) -> Run:
    """`users` single-user runs, one after another, as one run."""
    runs = [_run(stack, 1, turns, think_s) for _ in range(users)]
    return Run(
        [user for run in runs for user in run.turns],
        [user_id for run in runs for user_id in run.user_ids],
        sum(run.seconds for run in runs),
        sum(run.web_cpu_s for run in runs),
        sum(run.machine_busy_s for run in runs),
        sum(run.machine_steal_s for run in runs),
    )


def _web_cpu(stack: Stack) -> float:
    return sum(cpu_seconds(pid) for pid in stack.web_pids)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--latency", type=float, default=1.0, help="fake model seconds a call")
    parser.add_argument(
        "--think", type=float, default=5.0, help="mean seconds a user pauses between turns"
    )
    parser.add_argument(
        "--web", type=int, default=1, help="web processes (replicas; users stick to one)"
    )
    parser.add_argument(
        "--alone", type=int, default=3, help="single users, one after another, for the baseline"
    )
    args = parser.parse_args(argv)
    checks: list[Check] = []
    with chat_stack(latency_s=args.latency, web_processes=args.web) as stack:
        warm = [token for _, token in stack.add_users(args.web)]
        run_users(stack.urls, warm, 2)  # warm-up of every replica: imports, caches
        alone_run = _alone(stack, args.alone, args.turns, args.think)
        loaded_run = _run(stack, args.users, args.turns, args.think)
        single, single_ids = alone_run.turns, alone_run.user_ids
        many, many_ids = loaded_run.turns, loaded_run.user_ids
        print(
            f"{args.users} users x {args.turns} turns; fake model {args.latency * 1000:.0f} ms "
            f"a call; users pause {args.think:g} s on average between turns; "
            f"{args.web} web process{'es' if args.web > 1 else ''}"
        )
        print(f" single user: {alone_run.describe()} ({args.alone} users, one at a time)")
        print(f"{args.users:>5} users: {loaded_run.describe()}")
        alone = _figures("single user", single, args.latency)
        loaded = _figures(f"{args.users} users", many, args.latency)
        errors = [t.error for user in single + many for t in user if t.error]
        ratio = loaded["over_p95"] / alone["over_p95"] if alone["over_p95"] > 0 else float("inf")
        print(f"p95 server overhead: {ratio:.2f}x the single user's (target ≤ {TARGET_RATIO}x)")
        print(f"errors: {len(errors)}" + (f" (first: {errors[0]})" if errors else ""))
        ids = single_ids + many_ids
        expected_calls = (args.users + args.alone) * (args.turns * 2 + 1)  # the measured users
        rows = ledger_rows(stack.services, ids)
        equal, detail = ledger_matches_counters(stack.services, ids)
        print(
            f"ledger rows {rows} (expected {expected_calls}); counters vs ledger: "
            f"{'equal' if equal else detail}"
        )
        checks += [
            Check("0 errors", not errors),
            Check(f"one ledger row per model call ({expected_calls})", rows == expected_calls),
            Check("budget counters equal to the ledger, none in flight", equal),
            Check(
                f"p95 overhead ≤ {TARGET_RATIO}x single user ({ratio:.2f}x)", ratio <= TARGET_RATIO
            ),
        ]
    return finish(checks)


if __name__ == "__main__":
    sys.exit(main())
