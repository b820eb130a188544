"""The worker's SQL side of deliveries: which endpoints are live, new delivery rows,
claiming due ones under a lease, and recording attempts in batches.

Every write of the hot path is batched (one transaction for the deliveries of a whole
outbox read, one for the outcomes of many attempts), which is what lets SQLite keep up.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, and_, bindparam, insert, or_, select, update
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks import Webhook

from services.crypto import TokenCipher
from services.orm import Role, User, UserStatus
from services.webhooks.endpoints import signers_of
from services.webhooks.orm import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from services.webhooks.sender import AttemptResult
from services.webhooks.types import FAILED, PENDING, SUCCEEDED

DISABLED_GONE = "The endpoint was disabled or deleted before this was sent."


@dataclass(frozen=True)
class LiveEndpoint:
    id: str
    owner_id: int
    owner_admin: bool
    url: str
    events: frozenset[str]
    created_at: datetime
    signers: list[Webhook]


@dataclass(frozen=True)
class Job:
    """A delivery this worker holds: send `payload` to the endpoint as `id`."""

    id: str
    endpoint_id: str
    payload: str
    attempts: int
    retries: int


@dataclass(frozen=True)
class Outcome:
    job: Job
    result: AttemptResult | None  # None: not sent (the endpoint is gone or disabled)
    next_attempt_at: datetime | None  # None with a failure: retries are exhausted


@dataclass(frozen=True)
class DisabledEndpoint:
    id: str
    owner_id: int
    url: str
    failing_since: datetime


class DeliveryStore:
    def __init__(self, sessions: sessionmaker[Session], cipher: TokenCipher) -> None:
        self._sessions = sessions
        self._cipher = cipher
        self._signers: dict[tuple[str, str | None, datetime | None], list[Webhook]] = {}
        # Which endpoints are on a failure streak, as last read or written: a success on
        # an endpoint known to be healthy needs no UPDATE (most outcomes, on the hot path).
        self._failing: dict[str, bool] = {}

    def live_endpoints(self, now: datetime) -> dict[str, LiveEndpoint]:
        """Enabled endpoints of active users, with their signers (decrypted once each)."""
        query = (
            select(WebhookEndpoint, User.role)
            .join(User, User.id == WebhookEndpoint.owner_id)
            .where(WebhookEndpoint.enabled.is_(True), User.status == UserStatus.ACTIVE.value)
        )
        found: dict[str, LiveEndpoint] = {}
        cache: dict[tuple[str, str | None, datetime | None], list[Webhook]] = {}
        with self._sessions() as session:
            for row, role in session.execute(query):
                until = (
                    row.previous_until if row.previous_until and row.previous_until > now else None
                )
                key = (row.secret, row.previous_secret if until else None, until)
                signers = self._signers.get(key) or signers_of(
                    self._cipher, row.secret, row.previous_secret, until, now
                )
                cache[key] = signers
                self._failing[row.id] = row.failing_since is not None
                found[row.id] = LiveEndpoint(
                    row.id,
                    row.owner_id,
                    role == Role.ADMIN.value,
                    row.url,
                    frozenset(row.events),
                    row.created_at,
                    signers,
                )
        self._signers = cache
        return found

    def add(
        self, rows: Sequence[dict[str, object]], *, owner: str, lease_until: datetime | None
    ) -> list[Job]:
        """Insert the delivery rows not there yet (an outbox entry read twice adds none)."""
        if not rows:
            return []
        ids = [str(r["id"]) for r in rows]
        with self._sessions.begin() as session:
            existing = set(
                session.scalars(select(WebhookDelivery.id).where(WebhookDelivery.id.in_(ids)))
            )
            fresh = [
                {**r, "lease_owner": owner if lease_until else None, "lease_until": lease_until}
                for r in rows
                if r["id"] not in existing
            ]
            if fresh:
                session.execute(insert(WebhookDelivery), fresh)
        return [Job(str(r["id"]), str(r["endpoint_id"]), str(r["payload"]), 0, 0) for r in fresh]

    def release(self, owner: str) -> None:
        """Let go of what `owner` held when it stopped (a restart takes it again at once)."""
        with self._sessions.begin() as session:
            session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.lease_owner == owner, WebhookDelivery.status == PENDING)
                .values(lease_owner=None, lease_until=None)
            )

    def claim_due(
        self,
        *,
        owner: str,
        now: datetime,
        lease_until: datetime,
        limit: int,
        skip: Iterable[str],
        endpoints: Iterable[str],
    ) -> list[Job]:
        """Take up to `limit` due deliveries of `endpoints` nobody holds."""
        wanted = list(endpoints)
        if not wanted:
            return []
        free = or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until < now)
        due = and_(
            WebhookDelivery.status == PENDING,
            WebhookDelivery.next_attempt_at <= now,
            WebhookDelivery.endpoint_id.in_(wanted),
            free,
        )
        skipped = set(skip)
        with self._sessions.begin() as session:
            ids = [
                i
                for i in session.scalars(
                    select(WebhookDelivery.id)
                    .where(due)
                    .order_by(WebhookDelivery.next_attempt_at)
                    .limit(limit + len(skipped))
                )
                if i not in skipped
            ][:limit]
            if not ids:
                return []
            session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id.in_(ids), free)
                .values(lease_owner=owner, lease_until=lease_until)
            )
            rows = session.scalars(
                select(WebhookDelivery).where(
                    WebhookDelivery.id.in_(ids),
                    WebhookDelivery.lease_owner == owner,
                    WebhookDelivery.lease_until == lease_until,
                )
            ).all()
            return [Job(r.id, r.endpoint_id, r.payload, r.attempts, r.retries) for r in rows]

    def record(
        self, outcomes: Sequence[Outcome], *, now: datetime, disable_after: timedelta
    ) -> list[DisabledEndpoint]:
        """Write attempts and delivery states; update each endpoint's failure streak and
        disable those failing for `disable_after` (returned, for the alert)."""
        attempts = [
            {
                "delivery_id": o.job.id,
                "started_at": o.result.started_at,
                "status_code": o.result.status_code,
                "latency_ms": o.result.latency_ms,
                "response": o.result.response,
                "error": o.result.error,
            }
            for o in outcomes
            if o.result is not None
        ]
        states = [_state(o, now) for o in outcomes]
        streaks: dict[str, tuple[datetime | None, bool]] = {}  # endpoint: (failing since, reset)
        for o in outcomes:
            if o.result is None:
                continue
            since, reset = streaks.get(o.job.endpoint_id, (None, False))
            if o.result.ok:
                streaks[o.job.endpoint_id] = (None, True)
            elif since is None:
                streaks[o.job.endpoint_id] = (o.result.started_at, reset)
        with self._sessions.begin() as session:
            if attempts:
                session.execute(_ATTEMPTS.insert(), attempts)
            session.execute(_SET_STATE, states)
            retrying = [str(state["b_id"]) for state in states if state["b_status"] == PENDING]
            if retrying:  # an endpoint disabled meanwhile takes no more retries
                session.execute(
                    update(WebhookDelivery)
                    .where(
                        WebhookDelivery.id.in_(retrying),
                        WebhookDelivery.endpoint_id.in_(
                            select(WebhookEndpoint.id).where(WebhookEndpoint.enabled.is_(False))
                        ),
                    )
                    .values(status=FAILED, last_error="The endpoint was disabled.")
                    .execution_options(synchronize_session=False)
                )
            return self._streaks(session, streaks, now, disable_after)

    def _streaks(
        self,
        session: Session,
        streaks: dict[str, tuple[datetime | None, bool]],
        now: datetime,
        disable_after: timedelta,
    ) -> list[DisabledEndpoint]:
        table = WebhookEndpoint
        failing: list[str] = []
        for endpoint_id, (since, reset) in streaks.items():
            known = self._failing.get(endpoint_id)
            self._failing[endpoint_id] = since is not None
            if since is None and known is False:
                continue  # healthy, and known to be
            if since is None:
                session.execute(
                    update(table)
                    .where(table.id == endpoint_id, table.failing_since.is_not(None))
                    .values(failing_since=None)
                )
                continue
            failing.append(endpoint_id)
            if known and not reset:
                continue  # already on a streak: it keeps its start
            condition = table.id == endpoint_id
            if not reset:
                condition = and_(condition, table.failing_since.is_(None))
            session.execute(update(table).where(condition).values(failing_since=since))
        if not failing:
            return []
        return _disable_overdue(session, now - disable_after, now, only=failing)

    def disable_overdue(self, *, now: datetime, disable_after: timedelta) -> list[DisabledEndpoint]:
        """Disable endpoints failing for `disable_after` that no attempt has looked at
        since (a lone failed delivery whose retries ended a little before the mark)."""
        with self._sessions.begin() as session:
            return _disable_overdue(session, now - disable_after, now, only=None)


def _disable_overdue(
    session: Session, cutoff: datetime, now: datetime, *, only: list[str] | None
) -> list[DisabledEndpoint]:
    table = WebhookEndpoint
    query = select(table).where(table.enabled.is_(True), table.failing_since <= cutoff)
    if only is not None:
        query = query.where(table.id.in_(only))
    disabled = []
    for row in session.scalars(query).all():
        assert row.failing_since is not None
        when = f"{row.failing_since:%Y-%m-%d %H:%M} UTC"
        taken = session.execute(
            update(table)
            .where(table.id == row.id, table.enabled.is_(True))  # one worker disables it
            .values(
                enabled=False,
                disabled_reason=f"Disabled automatically: every attempt failed since {when}.",
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if not getattr(taken, "rowcount", 0):
            continue
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == row.id, WebhookDelivery.status == PENDING)
            .values(status=FAILED, last_error="The endpoint was disabled.", lease_until=None)
        )
        disabled.append(DisabledEndpoint(row.id, row.owner_id, row.url, row.failing_since))
    return disabled


_STATE_COLUMNS = (
    "status",
    "attempts",
    "retries",
    "next_attempt_at",
    "lease_owner",
    "lease_until",
    "last_status_code",
    "last_error",
    "delivered_at",
)
_TABLE = cast(Table, WebhookDelivery.__table__)
_ATTEMPTS = cast(Table, WebhookAttempt.__table__)
# One executemany for a whole batch of outcomes (every row sets the same columns).
_SET_STATE = (
    _TABLE.update()
    .where(_TABLE.c.id == bindparam("b_id"))
    .values({name: bindparam(f"b_{name}", type_=_TABLE.c[name].type) for name in _STATE_COLUMNS})
)


def _state(outcome: Outcome, now: datetime) -> dict[str, object]:
    job, result = outcome.job, outcome.result
    state: dict[str, object] = {
        "id": job.id,
        "attempts": job.attempts,
        "retries": job.retries,
        "next_attempt_at": None,
        "lease_owner": None,
        "lease_until": None,
        "last_status_code": None,
        "delivered_at": None,
    }
    if result is None:
        state.update(status=FAILED, last_error=DISABLED_GONE)
    else:
        state.update(
            attempts=job.attempts + 1,
            last_status_code=result.status_code,
            last_error=result.error,
        )
        if result.ok:
            state.update(status=SUCCEEDED, delivered_at=now)
        elif outcome.next_attempt_at is None:
            state.update(status=FAILED)
        else:
            state.update(
                status=PENDING, retries=job.retries + 1, next_attempt_at=outcome.next_attempt_at
            )
    return {f"b_{key}": value for key, value in state.items()}
