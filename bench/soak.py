"""Benchmark: a leak check. 2,000 chat turns over 20 users through `POST /api/chat`.

The same processes and fake model as `bench.load` (`bench/parts/chat_stack.py`). Users
talk in rounds, all at once: each round every user asks one turn, and every 10 turns a
user starts a new conversation (so conversations, their summaries and the process caches
keep growing as in real use). Every 100 turns the resident memory (RSS) of the web process
and of the worker is sampled and printed as a series. Baseline, same run: the memory at
the middle of the run; target: growth over the last half (by default the last 1,000
turns) < 5% for each process. Also checked: 0 errors, and the budget counters equal to
the ledger. Exits 1 on a miss.

Run: ``python -m bench.soak [--users 20] [--turns 2000] [--every 100]``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import httpx

from bench.parts.chat_stack import Turn, ask, chat_stack, ledger_matches_counters, rss_mb
from bench.report import Check, finish

TARGET_GROWTH = 0.05
TURNS_PER_CONVERSATION = 10


async def _soak(
    url: str, tokens: list[str], turns: int, every: int, pids: tuple[int, int]
) -> tuple[list[Turn], list[tuple[int, float, float]]]:
    clients = [
        httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {t}"}, timeout=300)
        for t in tokens
    ]
    conversations: list[str | None] = [None] * len(tokens)
    asked = [0] * len(tokens)
    done: list[Turn] = []
    samples = [(0, rss_mb(pids[0]), rss_mb(pids[1]))]
    try:
        while len(done) < turns:
            users = range(min(len(tokens), turns - len(done)))

            async def one(user: int) -> Turn:
                if asked[user] % TURNS_PER_CONVERSATION == 0:
                    conversations[user] = None
                turn, conversations[user] = await ask(clients[user], conversations[user])
                asked[user] += 1
                return turn

            before = len(done)
            done += await asyncio.gather(*(one(u) for u in users))
            if len(done) // every > before // every:
                sample = (len(done), rss_mb(pids[0]), rss_mb(pids[1]))
                samples.append(sample)
                print(f"turn {sample[0]:>5}: web {sample[1]:7.1f} MB  worker {sample[2]:7.1f} MB")
    finally:
        for client in clients:
            await client.aclose()
    return done, samples


def _growth(samples: list[tuple[int, float, float]], column: int) -> float:
    end = samples[-1]
    middle = min(samples, key=lambda s: abs(s[0] - end[0] / 2))
    return (end[column] - middle[column]) / middle[column] if middle[column] else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--turns", type=int, default=2000)
    parser.add_argument("--every", type=int, default=100, help="turns between memory samples")
    parser.add_argument("--latency", type=float, default=0.05, help="fake model seconds a call")
    args = parser.parse_args(argv)
    with chat_stack(latency_s=args.latency) as stack:
        made = stack.add_users(args.users)
        tokens = [token for _, token in made]
        turns, samples = asyncio.run(
            _soak(stack.url, tokens, args.turns, args.every, (stack.web_pid, stack.worker_pid))
        )
        errors = [t.error for t in turns if t.error]
        equal, detail = ledger_matches_counters(stack.services, [user_id for user_id, _ in made])
    web, worker = _growth(samples, 1), _growth(samples, 2)
    half = samples[-1][0] // 2
    print(
        f"{len(turns)} turns, {args.users} users; growth over the last {half} turns: "
        f"web {web:+.1%}, worker {worker:+.1%} (target < {TARGET_GROWTH:.0%})"
    )
    print(f"errors: {len(errors)}" + (f" (first: {errors[0]})" if errors else ""))
    print(f"counters vs ledger: {'equal' if equal else detail}")
    return finish(
        [
            Check("0 errors", not errors),
            Check(f"web RSS growth {web:+.1%} < {TARGET_GROWTH:.0%}", web < TARGET_GROWTH),
            Check(f"worker RSS growth {worker:+.1%} < {TARGET_GROWTH:.0%}", worker < TARGET_GROWTH),
            Check("budget counters equal to the ledger, none in flight", equal),
            Check(f"{args.turns} turns done", len(turns) == args.turns),
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
