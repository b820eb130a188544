"""Per-app state and the per-request :class:`Call` handed to every handler."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from starlette.datastructures import QueryParams

from emulator import errors
from emulator.computed import Evaluator
from emulator.ids import utc_now
from emulator.iterators import IteratorStore
from emulator.ratelimit import RateLimiter
from emulator.schema import Base, Table
from emulator.stats import Stats
from emulator.store import Store

if TYPE_CHECKING:
    from emulator.files import UrlReader
    from emulator.webhooks import WebhookService


@dataclass
class AppState:
    """Everything the handlers share.

    Attributes:
        store: The data.
        tokens: Token -> set of base IDs it may use (``None`` = every base).
        iterators: List offsets.
        limiter: The rate limiter, or ``None`` when off.
        stats: Request counters.
        hooks: Webhook payload log and notifier.
        urls: Reads URL attachments for their real size and type.
        latency_ms: Artificial delay added to every API request.
        max_body_bytes: Larger request bodies get 413.
    """

    store: Store
    tokens: dict[str, set[str] | None]
    iterators: IteratorStore
    limiter: RateLimiter | None
    stats: Stats
    hooks: "WebhookService"
    urls: "UrlReader"
    latency_ms: int = 0
    max_body_bytes: int = 5_000_000


@dataclass
class Call:
    """One API request after routing, authentication and body parsing.

    ``origin`` is the scheme and host the request came to (``http://127.0.0.1:8787``),
    for URLs the emulator hands out.
    """

    state: AppState
    method: str
    params: dict[str, str]
    query: QueryParams
    body: Any
    token: str
    base: Base | None = None
    now: datetime = field(default_factory=utc_now)
    origin: str = ""

    @property
    def store(self) -> Store:
        """The store (its lock is held while a handler runs)."""
        return self.state.store

    def need_base(self) -> Base:
        """The base named in the path (routes that need one always have it)."""
        assert self.base is not None
        return self.base

    def table(self) -> Table:
        """Resolve ``{tableIdOrName}`` in the base, or raise ``TABLE_NOT_FOUND``."""
        base = self.need_base()
        key = self.params["tableIdOrName"]
        table = base.table(key)
        if table is None:
            raise errors.table_not_found(key, base.id)
        return table

    def json(self) -> dict[str, Any]:
        """The JSON body as an object (``{}`` when there was none)."""
        if self.body is None:
            return {}
        if not isinstance(self.body, dict):
            raise errors.invalid_request("The request body must be a JSON object")
        return self.body

    def evaluator(self) -> Evaluator:
        """A fresh evaluator for the base at this request's moment."""
        return Evaluator(self.need_base(), self.store.user, self.now)
