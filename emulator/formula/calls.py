"""Compiling function calls into closures, by call style (see ``FunctionSpec``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .functions import FunctionSpec
from .model import RecordContext
from .nodes import Node, Runner, fold
from .values import ERROR, ErrorValue


def call(spec: FunctionSpec, args: list[Node]) -> Node:
    """A node that calls the function with the compiled arguments.

    Data problems inside the implementation (bad numbers, impossible dates) become
    ``#ERROR!`` here, so evaluation never raises for them.
    """
    runs = [arg.run for arg in args]
    if spec.style == "lazy":
        return fold(Node(_lazy(spec.impl, runs)), args)
    if spec.style == "record":
        return Node(_record(spec.impl, runs))
    return fold(Node(_eager(spec.impl, runs)), args)


def _eager(impl: Callable[..., Any], runs: list[Runner]) -> Runner:
    # Fixed arities get their own closures: no argument list to build per record.
    if not runs:

        def run0(ctx: RecordContext) -> Any:
            try:
                return impl()
            except Exception:
                return ERROR

        return run0
    if len(runs) == 1:
        (first,) = runs

        def run1(ctx: RecordContext) -> Any:
            a = first(ctx)
            if a.__class__ is ErrorValue:
                return a
            try:
                return impl(a)
            except Exception:
                return ERROR

        return run1
    if len(runs) == 2:
        first, second = runs

        def run2(ctx: RecordContext) -> Any:
            a = first(ctx)
            b = second(ctx)
            if a.__class__ is ErrorValue:
                return a
            if b.__class__ is ErrorValue:
                return b
            try:
                return impl(a, b)
            except Exception:
                return ERROR

        return run2

    def run_many(ctx: RecordContext) -> Any:
        values = [arg(ctx) for arg in runs]
        for value in values:
            if value.__class__ is ErrorValue:
                return value
        try:
            return impl(*values)
        except Exception:
            return ERROR

    return run_many


def _lazy(impl: Callable[..., Any], runs: list[Runner]) -> Runner:
    def run(ctx: RecordContext) -> Any:
        return impl(ctx, *runs)

    return run


def _record(impl: Callable[..., Any], runs: list[Runner]) -> Runner:
    if not runs:  # RECORD_ID(), NOW(): no arguments to check

        def run0(ctx: RecordContext) -> Any:
            try:
                return impl(ctx)
            except Exception:
                return ERROR

        return run0

    def run(ctx: RecordContext) -> Any:
        values = [arg(ctx) for arg in runs]
        for value in values:
            if value.__class__ is ErrorValue:
                return value
        try:
            return impl(ctx, *values)
        except Exception:
            return ERROR

    return run
