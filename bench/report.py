"""How every bench ends: its targets and work checks printed as met or missed, then the exit.

A bench collects `Check`s (a target on a ratio, or proof that the work happened: rows
written, facts present) and ends with `sys.exit(finish(checks))`: 1 when any check
missed, so a missed target fails a script run or a CI step instead of scrolling by.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    """One target or work check: what was required, and whether the run met it."""

    label: str
    ok: bool


def verdict(checks: Sequence[Check]) -> int:
    """Print each check as `ok` or `MISS`; 0 when every check is met, else 1."""
    if not checks:
        raise ValueError("a bench must check something")
    for check in checks:
        print(f"{'ok  ' if check.ok else 'MISS'} {check.label}")
    missed = sum(not c.ok for c in checks)
    print(f"{'all targets met' if not missed else f'{missed} of {len(checks)} checks MISSED'}")
    return 1 if missed else 0


def finish(checks: Sequence[Check]) -> int:
    """Print the checks; the exit status: 0 when every check is met, 1 on any miss."""
    return verdict(checks)


def percentile(values: Sequence[float], fraction: float) -> float:
    """The value below which `fraction` of `values` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]
