"""Airtable connections: a token per user or for the org, validated, encrypted, never shown.

Which token a user's Airtable calls use: their own connection, else the org connection,
else the configured default (the emulator's development token on a fresh install).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.airtable.client import make_api
from services.audit import record_event
from services.crypto import TokenCipher
from services.errors import AirtableError, InvalidInputError, NotAllowedError
from services.orm import AirtableConnection

logger = logging.getLogger(__name__)

_RECENT_TTL_S = 10.0
_RECENT_MAX = 10_000


@dataclass(frozen=True)
class ConnectionInfo:
    scope: str  # "user", "org" or "default"
    token_hint: str  # "…abcd": the last four characters, the only part ever shown
    airtable_user_id: str
    base_count: int
    updated_at: datetime | None


@dataclass(frozen=True)
class BaseInfo:
    id: str
    name: str
    permission_level: str


class AirtableConnections:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        cipher: TokenCipher,
        *,
        endpoint_url: str,
        default_token: str | None,
    ) -> None:
        self._db = sessions
        self._cipher = cipher
        self._endpoint = endpoint_url
        self._default = default_token
        # user id -> (token, monotonic expiry): every Airtable call needs the token, and a
        # turn makes several; other processes see a (dis)connection within the TTL.
        self._recent: dict[int, tuple[str, float]] = {}
        self._recent_lock = threading.Lock()

    def _validate(self, token: str) -> tuple[str, int]:
        token = token.strip()
        if len(token) < 8 or any(c.isspace() for c in token):
            raise InvalidInputError("That does not look like an Airtable personal access token.")
        api = make_api(self._endpoint, token)
        try:
            who = str(api.whoami()["id"])
            count = len(api.bases())
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else None
            raise InvalidInputError(
                f"Airtable did not accept this token (HTTP {status}). Check its scopes "
                "(data.records:read/write, schema.bases:read) and the bases it can access."
            ) from exc
        except requests.RequestException as exc:
            raise AirtableError("Airtable cannot be reached right now; try again.") from exc
        return who, count

    def connect(self, *, actor_id: int, token: str, org: bool = False) -> ConnectionInfo:
        """Validate `token` with Airtable, then store it encrypted for the user or the org."""
        airtable_user, base_count = self._validate(token)
        token = token.strip()
        self._forget()
        now = datetime.now(UTC)
        with self._db.begin() as session:
            row = self._row(session, None if org else actor_id)
            if row is None:
                row = AirtableConnection(user_id=None if org else actor_id, is_org=org)
                session.add(row)
            row.token_encrypted = self._cipher.encrypt(token)
            row.token_last4 = token[-4:]
            row.airtable_user_id = airtable_user
            row.base_count = base_count
            row.created_by = actor_id
            row.updated_at = now
            record_event(
                session,
                actor_user_id=actor_id,
                action="airtable.connected",
                target="org" if org else "user",
                detail={"bases": base_count},
            )
            return self._info(row)

    def disconnect(self, *, actor_id: int, org: bool = False) -> None:
        self._forget()
        with self._db.begin() as session:
            row = self._row(session, None if org else actor_id)
            if row is not None:
                session.delete(row)
                record_event(
                    session,
                    actor_user_id=actor_id,
                    action="airtable.disconnected",
                    target="org" if org else "user",
                )

    def describe(self, user_id: int | None) -> ConnectionInfo | None:
        """The user's own connection (or the org's with `None`), without the token."""
        with self._db() as session:
            row = self._row(session, user_id)
            return self._info(row) if row else None

    def effective(self, user_id: int) -> ConnectionInfo | None:
        """The connection the user's calls use, or None when they have none at all."""
        info = self.describe(user_id) or self.describe(None)
        if info is None and self._default is not None:
            return ConnectionInfo("default", "…" + self._default[-4:], "", 0, None)
        return info

    def token_for(self, user_id: int) -> str:
        """The token the user's Airtable calls use. Never log, show or prompt with it."""
        now = time.monotonic()
        with self._recent_lock:
            cached = self._recent.get(user_id)
        if cached is not None and cached[1] > now:
            return cached[0]
        token = self._load_token(user_id)
        with self._recent_lock:
            if len(self._recent) > _RECENT_MAX:
                self._recent.clear()
            self._recent[user_id] = (token, now + _RECENT_TTL_S)
        return token

    def _forget(self) -> None:
        with self._recent_lock:
            self._recent.clear()

    def _load_token(self, user_id: int) -> str:
        with self._db() as session:
            row = self._row(session, user_id) or self._row(session, None)
            if row is not None:
                return self._cipher.decrypt(row.token_encrypted)
        if self._default is None:
            raise NotAllowedError(
                "Connect Airtable first: add a personal access token in Settings."
            )
        return self._default

    @staticmethod
    def _row(session: Session, user_id: int | None) -> AirtableConnection | None:
        query = select(AirtableConnection)
        if user_id is None:
            query = query.where(AirtableConnection.is_org.is_(True))
        else:
            query = query.where(AirtableConnection.user_id == user_id)
        return session.scalar(query)

    @staticmethod
    def _info(row: AirtableConnection) -> ConnectionInfo:
        return ConnectionInfo(
            scope="org" if row.is_org else "user",
            token_hint="…" + row.token_last4,
            airtable_user_id=row.airtable_user_id,
            base_count=row.base_count,
            updated_at=row.updated_at,
        )
