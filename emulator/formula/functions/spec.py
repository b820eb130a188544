"""How a formula function is described to the compiler."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

# eager:  impl(*values); an error in any argument is the result, impl is not called.
# lazy:   impl(ctx, *runners); the function decides what to evaluate (IF, ISERROR).
# record: impl(ctx, *values); like eager, but reads the record or the clock.
CallStyle = Literal["eager", "lazy", "record"]


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    """A formula function: its implementation and how many arguments it takes.

    Attributes:
        impl: the implementation; see ``CallStyle`` for how it is called.
        min_args: fewest arguments accepted.
        max_args: most arguments accepted; None for any number.
        style: how arguments reach ``impl``.
    """

    impl: Callable[..., Any]
    min_args: int
    max_args: int | None
    style: CallStyle = "eager"

    def accepts(self, count: int) -> bool:
        """Whether a call with ``count`` arguments is valid."""
        return count >= self.min_args and (self.max_args is None or count <= self.max_args)
