"""Request counters served at ``/_emulator/stats`` (for benchmarks)."""

import threading
from collections import Counter
from typing import Any


class Stats:
    """Counts requests per base and per route (method + template)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._bases: Counter[str] = Counter()
        self._routes: Counter[str] = Counter()
        self._statuses: Counter[int] = Counter()
        self._total = 0

    def count(self, route: str, base_id: str | None, status: int) -> None:
        """Record one request."""
        with self._lock:
            self._total += 1
            self._routes[route] += 1
            self._statuses[status] += 1
            if base_id:
                self._bases[base_id] += 1

    def snapshot(self) -> dict[str, Any]:
        """The counters as JSON: ``{"total", "bases", "routes", "statuses"}``."""
        with self._lock:
            return {
                "total": self._total,
                "bases": dict(self._bases),
                "routes": dict(self._routes),
                "statuses": {str(k): v for k, v in self._statuses.items()},
            }

    def reset(self) -> None:
        """Zero every counter."""
        with self._lock:
            self._bases.clear()
            self._routes.clear()
            self._statuses.clear()
            self._total = 0
