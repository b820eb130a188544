"""Callbacks that follow a change to what a service watches (mirrors, sync jobs)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from services.errors import AppError

logger = logging.getLogger(__name__)


class ChangeListeners:
    """Listeners called after `what` changed; one that fails is logged, not raised: the
    worker's periodic pass catches up with what it missed."""

    def __init__(self, what: str) -> None:
        self._what = what
        self._listeners: list[Callable[[], None]] = []

    def add(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def notify(self) -> None:
        for listener in self._listeners:
            try:
                listener()
            except AppError as exc:
                logger.warning("%s change not followed now: %s", self._what, exc)
