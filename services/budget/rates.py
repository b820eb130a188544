"""Per-user requests/min and tokens/min, checked and counted by the budget's Redis scripts.

Requests use a moving window (exact: the times of the user's last N requests, newest first,
in one list). Tokens use the sliding window counter (this minute's count plus the last
minute's, weighted by how much of that minute is still inside the last 60 s): a moving
window would need one entry per token.

Both are checked and counted inside the script that reserves a call's budget
(`scripts.RESERVE`), before the budgets: an attempt the budget then refuses still counts
as a request, it was one. The actual output tokens are counted by the script that settles
the call (`scripts.COUNT`). So the limits cost no round trip of their own.

The retry hint of a token refusal is when enough tokens will have left the window for this
call, not when the window next moves: with 3,000 tokens a minute, a 1,306-token call is
told the second at which the weighted count has fallen to 1,694 (worked out in the
script, which holds both minutes' counts).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from config.settings import Settings
from services.budget.errors import RateLimitExceededError

WINDOW_MS = 60_000
"""The span of both limits: one minute."""


@dataclass(frozen=True)
class UserRateLimits:
    """The per-minute allowances every user has (from settings)."""

    requests: int
    tokens: int

    @classmethod
    def from_settings(cls, settings: Settings) -> UserRateLimits:
        return cls(settings.rate_user_requests_per_minute, settings.rate_user_tokens_per_minute)

    def refusal(self, kind: str, retry_after_ms: float, needed: int) -> RateLimitExceededError:
        """The error for a refused call: which limit (`requests` or `tokens`), and when to
        retry (at least 1 s; None when a call of `needed` tokens can never fit)."""
        limit = self.requests if kind == "requests" else self.tokens
        retry_after = None if retry_after_ms < 0 else max(math.ceil(retry_after_ms / 1000), 1)
        return RateLimitExceededError(
            kind=kind,
            limit=limit,
            retry_after_seconds=retry_after,
            needed=needed if kind == "tokens" else None,
        )


def minute_of(at: datetime) -> int:
    """The number of the minute `at` falls in (the token counter's window)."""
    return epoch_ms(at) // WINDOW_MS


def epoch_ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)
