"""Budgets: per-user overrides and the org budget in SQL, defaults from settings.

The guard reads the effective limits on every call, so they are cached in Redis for
`settings.budget_limits_cache_seconds`; setting a budget drops the cached copy at once,
for every process.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, fields

import redis
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from services.budget.orm import OrgBudget, UserBudget
from services.budget.pricing import usd_to_nusd
from services.budget.windows import BudgetKeys, CounterRef, Scope, Window
from services.db import transaction
from services.errors import InvalidInputError, NotFoundError, StoreUnavailableError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BudgetOverrides:
    """A stored budget. None means "the default from settings"; 0 means no limit."""

    day_nusd: int | None = None
    month_nusd: int | None = None
    day_tokens: int | None = None
    month_tokens: int | None = None

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if value is not None and (not isinstance(value, int) or value < 0):
                label = field.name.replace("_nusd", " limit in nano-USD")
                label = label.replace("_tokens", " limit in tokens")
                raise InvalidInputError(f"Budget {label}: use a whole number of 0 or more.")


@dataclass(frozen=True)
class Limits:
    """Resolved limits of one owner (user or org); 0 means no limit."""

    day_nusd: int
    month_nusd: int
    day_tokens: int
    month_tokens: int


@dataclass(frozen=True)
class AppliedLimits:
    """Everything a call of one user counts against."""

    user: Limits
    org: Limits

    def for_counter(self, ref: CounterRef) -> tuple[int, int]:
        """(nano-USD, tokens) limits of one counter; 0 means no limit."""
        owner = self.user if ref.scope is Scope.USER else self.org
        if ref.span.window is Window.DAY:
            return owner.day_nusd, owner.day_tokens
        return owner.month_nusd, owner.month_tokens


MAX_REMEMBERED = 10_000
"""Users whose cached limits a process remembers (then it starts over)."""


@dataclass(frozen=True)
class CachedLimits:
    """Applied limits as read from the Redis cache, with the two cached texts."""

    applied: AppliedLimits
    user_raw: str
    org_raw: str


class BudgetStore:
    """Read and change budgets; resolve the limits that apply to a user."""

    def __init__(
        self, *, sessions: sessionmaker[Session], redis_client: redis.Redis, settings: Settings
    ) -> None:
        self._sessions = sessions
        self._redis = redis_client
        self._keys = BudgetKeys(settings.redis_key_prefix)
        self._cache_seconds = settings.budget_limits_cache_seconds
        self._seen: dict[int, CachedLimits] = {}
        self._user_defaults = Limits(
            day_nusd=usd_to_nusd(settings.budget_user_day_usd),
            month_nusd=usd_to_nusd(settings.budget_user_month_usd),
            day_tokens=settings.budget_user_day_tokens,
            month_tokens=settings.budget_user_month_tokens,
        )
        self._org_defaults = Limits(
            day_nusd=usd_to_nusd(settings.budget_org_day_usd),
            month_nusd=usd_to_nusd(settings.budget_org_month_usd),
            day_tokens=settings.budget_org_day_tokens,
            month_tokens=settings.budget_org_month_tokens,
        )

    def defaults(self, *, org: bool = False) -> Limits:
        """The limits from settings that an empty override stands for (0: no limit)."""
        return self._org_defaults if org else self._user_defaults

    def get_user_budget(self, user_id: int) -> BudgetOverrides:
        """The user's stored overrides (all None when the user has none)."""
        with self._sessions() as session:
            row = session.get(UserBudget, user_id)
            return _overrides(row)

    def set_user_budget(self, user_id: int, budget: BudgetOverrides) -> None:
        """Store the user's overrides (None fields fall back to the defaults).

        Raises:
            NotFoundError: No user has this id.
        """
        try:
            with transaction(self._sessions) as session:
                row = session.get(UserBudget, user_id) or UserBudget(user_id=user_id)
                _apply(row, budget)
                session.add(row)
        except IntegrityError as exc:
            raise NotFoundError(f"There is no user with id {user_id}.") from exc
        self._forget(user_id)
        logger.info("user budget changed user_id=%s", user_id)

    def get_org_budget(self) -> BudgetOverrides:
        with self._sessions() as session:
            return _overrides(session.get(OrgBudget, 1))

    def set_org_budget(self, budget: BudgetOverrides) -> None:
        with transaction(self._sessions) as session:
            row = session.get(OrgBudget, 1) or OrgBudget(id=1)
            _apply(row, budget)
            session.add(row)
        self._forget(None)
        logger.info("org budget changed")

    def resolve(self, user_id: int) -> AppliedLimits:
        """The limits a call of `user_id` counts against, straight from SQL.

        Raises:
            StoreUnavailableError: The database cannot be reached.
        """
        try:
            with self._sessions() as session:
                user_row = session.get(UserBudget, user_id)
                org_row = session.get(OrgBudget, 1)
        except SQLAlchemyError as exc:
            logger.warning("budgets unreadable: %s", type(exc).__name__)
            raise StoreUnavailableError(
                "database", "Budgets cannot be checked: the database cannot be reached."
            ) from exc
        return AppliedLimits(
            user=_resolve(_overrides(user_row), self._user_defaults),
            org=_resolve(_overrides(org_row), self._org_defaults),
        )

    def applied_limits(self, user_id: int) -> AppliedLimits:
        """Like `resolve`, through the Redis cache. Redis errors propagate to the caller."""
        user_key, org_key = self._keys.limits(user_id), self._keys.limits(None)
        cached_user, cached_org = self._redis.mget([user_key, org_key])
        if cached_user is not None and cached_org is not None:
            applied = AppliedLimits(user=_decode(cached_user), org=_decode(cached_org))
            self._remember(user_id, applied, _text(cached_user), _text(cached_org))
            return applied
        resolved = self.resolve(user_id)
        if self._cache_seconds:
            user_raw, org_raw = _encode(resolved.user), _encode(resolved.org)
            pipe = self._redis.pipeline(transaction=False)
            pipe.set(user_key, user_raw, ex=self._cache_seconds)
            pipe.set(org_key, org_raw, ex=self._cache_seconds)
            pipe.execute()
            self._remember(user_id, resolved, user_raw, org_raw)
        return resolved

    def last_seen(self, user_id: int) -> CachedLimits | None:
        """The limits this process last read from the Redis cache for `user_id`, with the
        cached texts they came from: a guess for the reserve script, which uses it only
        if the cache still holds exactly those texts (else the guard reads them again)."""
        if not self._cache_seconds:
            return None
        return self._seen.get(user_id)

    def _remember(self, user_id: int, applied: AppliedLimits, user_raw: str, org_raw: str) -> None:
        if len(self._seen) >= MAX_REMEMBERED:
            self._seen.clear()
        self._seen[user_id] = CachedLimits(applied, user_raw, org_raw)

    def _forget(self, user_id: int | None) -> None:
        try:
            self._redis.delete(self._keys.limits(user_id))
        except redis.RedisError:
            # The cached copy expires on its own within budget_limits_cache_seconds.
            logger.warning("could not drop cached budget limits user_id=%s", user_id)


def _overrides(row: UserBudget | OrgBudget | None) -> BudgetOverrides:
    if row is None:
        return BudgetOverrides()
    return BudgetOverrides(row.day_nusd, row.month_nusd, row.day_tokens, row.month_tokens)


def _apply(row: UserBudget | OrgBudget, budget: BudgetOverrides) -> None:
    row.day_nusd, row.month_nusd = budget.day_nusd, budget.month_nusd
    row.day_tokens, row.month_tokens = budget.day_tokens, budget.month_tokens


def _resolve(overrides: BudgetOverrides, defaults: Limits) -> Limits:
    values = {f.name: getattr(overrides, f.name) for f in fields(Limits)}
    return Limits(**{k: getattr(defaults, k) if v is None else v for k, v in values.items()})


def _decode(raw: bytes | str) -> Limits:
    return Limits(**json.loads(raw))


def _encode(limits: Limits) -> str:
    return json.dumps(asdict(limits))


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw
