"""Inbound workflow hooks: a webhook-triggered workflow's signed URL, its secret, and the
check every call to `POST /api/hooks/{hook_id}` passes before a run starts.

A call is accepted only with a valid Standard Webhooks signature (`webhook-id`,
`webhook-timestamp` within 5 minutes, `webhook-signature`), verified by the
`standardwebhooks` package. The run's ID is derived from the hook and the `webhook-id`,
so a sender that retries a delivery gets the same run back and no second one starts.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis
from limits import RateLimitItemPerMinute
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks import Webhook, WebhookVerificationError

from services.auth.throttle import limits_storage
from services.crypto import TokenCipher
from services.errors import AppError, NotAllowedError, NotFoundError
from services.json_input import decode_object
from services.redis_store import redis_errors
from services.webhooks.inbound_orm import WorkflowHook
from services.webhooks.signing import new_secret
from services.workflows.library import WorkflowLibrary
from services.workflows.orm import Workflow
from services.workflows.runs import WorkflowRuns
from services.workflows.types import Actor, RunInfo

logger = logging.getLogger(__name__)

HOOK_PATH = "/api/hooks/"


class HookSignatureError(AppError):
    """Missing or bad signature, or a timestamp outside 5 minutes (answered 401)."""


class HookDisabledError(AppError):
    """The workflow behind the hook is disabled (answered 409)."""


class HookRateLimitedError(AppError):
    """Too many calls to this hook in the last minute (answered 429)."""

    retry_after_seconds = 60


@dataclass(frozen=True)
class HookInfo:
    """A workflow's hook; `secret` is set only right after creation or rotation."""

    id: str
    workflow_id: str
    url: str
    created_at: datetime
    rotated_at: datetime | None
    secret: str | None = None


class _Owner:
    def __init__(self, user_id: int) -> None:
        self.id = user_id
        self.is_admin = False


def run_id_for(hook_id: str, message_id: str) -> str:
    """The one run a hook's message may start (a repeated `webhook-id` finds it)."""
    digest = hashlib.sha256(message_id.encode()).hexdigest()[:32]
    return f"hook:{hook_id}:{digest}"


class InboundHooks:
    """Hooks of webhook-triggered workflows (`services.inbound_hooks`).

    Args:
        sessions: The app database.
        cipher: Encrypts secrets at rest.
        library: Workflow definitions (who owns what, enabled or not).
        runs: Where accepted calls start runs.
        client: Redis, for the per-hook rate limit.
        public_url: The app's address (`PUBLIC_URL`), for the hook URL.
        per_minute: Calls a hook accepts per minute.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        cipher: TokenCipher,
        library: WorkflowLibrary,
        runs: WorkflowRuns,
        client: redis.Redis,
        *,
        prefix: str,
        public_url: str,
        per_minute: int,
    ) -> None:
        self._db = sessions
        self._cipher = cipher
        self._library = library
        self._runs = runs
        self._public_url = public_url.rstrip("/")
        self._limiter = MovingWindowRateLimiter(limits_storage(client, f"{prefix}hooks"))
        self._rate = RateLimitItemPerMinute(per_minute)

    def url_of(self, hook_id: str) -> str:
        return f"{self._public_url}{HOOK_PATH}{hook_id}"

    # -- hooks of workflows ------------------------------------------------------------

    def ensure(self, workflow_id: str, *, reveal: bool = False) -> HookInfo | None:
        """Give a webhook-triggered workflow its hook.

        With `reveal`, the secret is returned if it has never been shown (the save that
        created the hook shows it; later calls do not). Returns None for a workflow without
        a webhook trigger (or gone); a hook it had is kept, so switching the trigger back
        keeps the URL senders know.
        """
        with self._db.begin() as session:
            workflow = session.get(Workflow, workflow_id)
            if workflow is None or workflow.trigger != "webhook":
                return None
            row = _hook_row(session, workflow_id)
            if row is None:
                row = WorkflowHook(
                    id=f"hk_{secrets.token_hex(12)}",
                    workflow_id=workflow_id,
                    secret_encrypted=self._cipher.encrypt(new_secret()),
                    secret_shown=False,
                    created_at=datetime.now(UTC),
                )
                session.add(row)
                session.flush()
                logger.info("hook %s created for workflow %s", row.id, workflow_id)
            if not reveal or row.secret_shown:
                return self._info(row)
            row.secret_shown = True
            return self._info(row, secret=self._cipher.decrypt(row.secret_encrypted))

    def on_workflow_change(self, workflow_id: str) -> None:
        """Library listener: a workflow saved with a webhook trigger gets its hook."""
        self.ensure(workflow_id)

    def hook_of(self, user: Actor, workflow_id: str) -> HookInfo | None:
        """The hook of a workflow the user may see (no secret)."""
        self._library.get(user, workflow_id)
        with self._db() as session:
            row = _hook_row(session, workflow_id)
            return self._info(row) if row is not None else None

    def rotate(self, user: Actor, workflow_id: str) -> HookInfo:
        """A new secret for the workflow's hook (owner only); the old one stops at once.

        Raises:
            NotFoundError: not visible, or not a webhook-triggered workflow.
            NotAllowedError: not the owner.
        """
        workflow = self._library.get(user, workflow_id)
        if workflow.owner_id != user.id:
            raise NotAllowedError("Only its owner can rotate this workflow's hook secret.")
        if workflow.trigger != "webhook":
            raise NotFoundError("This workflow has no webhook trigger.")
        self.ensure(workflow_id)
        secret = new_secret()
        with self._db.begin() as session:
            row = _hook_row(session, workflow_id)
            if row is None:
                raise NotFoundError("This workflow has no hook.")
            row.secret_encrypted = self._cipher.encrypt(secret)
            row.secret_shown = True
            row.rotated_at = datetime.now(UTC)
            session.flush()
            logger.info("hook %s secret rotated by user %s", row.id, user.id)
            return self._info(row, secret=secret)

    # -- calls -------------------------------------------------------------------------

    def receive(self, hook_id: str, body: bytes, headers: Mapping[str, str]) -> RunInfo:
        """Check a call and start (or find) its run, owned by the workflow's owner.

        Raises:
            NotFoundError: no such hook (404).
            HookSignatureError: bad or missing signature, or old timestamp (401).
            HookDisabledError: the workflow is disabled (409).
            HookRateLimitedError: over the per-hook limit (429).
            InvalidInputError: the body is not a JSON object of the workflow's inputs (422).
        """
        with self._db() as session:
            row = session.get(WorkflowHook, hook_id)
            workflow = session.get(Workflow, row.workflow_id) if row is not None else None
            if row is None or workflow is None:
                raise NotFoundError("There is no hook with this ID.")
            secret = self._cipher.decrypt(row.secret_encrypted)
            workflow_id, owner_id = workflow.id, workflow.owner_id
            enabled, trigger = workflow.enabled, workflow.trigger
        try:
            Webhook(secret).verify(body, dict(headers), json_parse=False)
        except WebhookVerificationError as exc:
            logger.info("hook %s refused a call: %s", hook_id, exc)
            raise HookSignatureError(
                "The signature is missing or wrong, or the timestamp is not within 5 minutes."
            ) from None
        if not enabled or trigger != "webhook":
            raise HookDisabledError("This workflow is disabled; enable it to accept calls.")
        self._take_turn(hook_id)
        inputs = _inputs(body)
        message_id = {k.lower(): v for k, v in headers.items()}["webhook-id"]
        run_id = run_id_for(hook_id, message_id)
        return self._runs.start(_Owner(owner_id), workflow_id, inputs, "webhook", run_id=run_id)

    @redis_errors()
    def _take_turn(self, hook_id: str) -> None:
        if not self._limiter.hit(self._rate, "hook", hook_id):
            raise HookRateLimitedError(
                "Too many calls to this hook in the last minute; retry later."
            )

    def _info(self, row: WorkflowHook, *, secret: str | None = None) -> HookInfo:
        return HookInfo(
            id=row.id,
            workflow_id=row.workflow_id,
            url=self.url_of(row.id),
            created_at=row.created_at,
            rotated_at=row.rotated_at,
            secret=secret,
        )


def _hook_row(session: Session, workflow_id: str) -> WorkflowHook | None:
    return session.scalar(select(WorkflowHook).where(WorkflowHook.workflow_id == workflow_id))


def _inputs(body: bytes) -> dict[str, Any]:
    return decode_object(
        body, not_object="The body must be a JSON object of the workflow's inputs."
    )
