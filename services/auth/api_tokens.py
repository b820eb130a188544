"""API tokens for `/api` routes: HS256 JWTs with expiry and `jti`, revocable.

SQL (`api_tokens.revoked_at`) says whether a token is revoked; Redis only remembers
revocations to answer quickly. A missing Redis entry means "ask SQL", never "valid".
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
import redis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.audit import record_event
from services.errors import InvalidInputError, NotAllowedError, NotFoundError
from services.orm import ApiToken

_ALGORITHM = "HS256"
_AUDIENCE = "pyairtable-assistant-api"
MAX_NAME = 100
MAX_DAYS = 3650


@dataclass(frozen=True)
class IssuedToken:
    jti: str
    token: str  # shown once, never stored
    expires_at: datetime


class ApiTokenService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        client: redis.Redis,
        *,
        prefix: str,
        signing_key: str,
        ttl_days: int,
    ) -> None:
        self._db = sessions
        self._redis = client
        self._prefix = f"{prefix}auth:revoked:"
        # A derived 32-byte key: full strength for HS256 and distinct from other uses.
        self._key = hashlib.sha256(b"api-token/" + signing_key.encode()).digest()
        self._ttl = timedelta(days=ttl_days)

    def create(self, *, user_id: int, name: str, days: int | None = None) -> IssuedToken:
        """A new token for `user_id`, valid `days` (default: the configured lifetime)."""
        name = name.strip()
        if not name:
            raise InvalidInputError("Token name: enter a name, such as the script's.")
        if len(name) > MAX_NAME:
            raise InvalidInputError(f"Token name: use at most {MAX_NAME} characters.")
        if days is not None and not 1 <= days <= MAX_DAYS:
            raise InvalidInputError(f"Token lifetime: use 1 to {MAX_DAYS} days.")
        now = datetime.now(UTC)
        jti = secrets.token_hex(16)
        expires = now + (timedelta(days=days) if days is not None else self._ttl)
        claims = {"sub": str(user_id), "jti": jti, "iat": now, "exp": expires, "aud": _AUDIENCE}
        token = jwt.encode(claims, self._key, algorithm=_ALGORITHM)
        with self._db.begin() as session:
            session.add(ApiToken(jti=jti, user_id=user_id, name=name, expires_at=expires))
            record_event(session, actor_user_id=user_id, action="api_token.created", target=jti)
        return IssuedToken(jti=jti, token=token, expires_at=expires)

    def list_for(self, user_id: int) -> list[ApiToken]:
        with self._db() as session:
            query = select(ApiToken).where(ApiToken.user_id == user_id)
            return list(session.scalars(query.order_by(ApiToken.created_at.desc())))

    def revoke(self, *, user_id: int, jti: str) -> None:
        """Revoke one of the user's tokens: denied at once everywhere, until it would expire."""
        with self._db.begin() as session:
            row = session.get(ApiToken, jti)
            if row is None or row.user_id != user_id:
                raise NotFoundError("No such token.")
            row.revoked_at = datetime.now(UTC)
            ttl = max(int((row.expires_at - row.revoked_at).total_seconds()), 1)
            self._redis.set(f"{self._prefix}{jti}", 1, ex=ttl)
            record_event(session, actor_user_id=user_id, action="api_token.revoked", target=jti)

    def verify(self, token: str) -> int:
        """The user id a valid, unrevoked token stands for; `NotAllowedError` otherwise."""
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[_ALGORITHM],
                audience=_AUDIENCE,
                options={"require": ["exp", "jti", "sub", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise NotAllowedError("Invalid or expired API token.") from exc
        jti = str(claims["jti"])
        if self._redis.exists(f"{self._prefix}{jti}") or self._revoked_in_sql(jti):
            raise NotAllowedError("This API token has been revoked.")
        return int(claims["sub"])

    def _revoked_in_sql(self, jti: str) -> bool:
        """True for a revoked or unknown token, which Redis then remembers until it expires."""
        with self._db() as session:
            row = session.get(ApiToken, jti)
            if row is not None and row.revoked_at is None:
                return False
            expires = row.expires_at if row is not None else datetime.now(UTC)
        ttl = max(int((expires - datetime.now(UTC)).total_seconds()), 60)
        self._redis.set(f"{self._prefix}{jti}", 1, ex=ttl)
        return True
