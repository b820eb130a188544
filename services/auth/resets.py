"""One-time password reset links, made by an admin (Users page) or the operator CLI.

The link carries a random token valid for an hour; Redis keeps only its SHA-256. Setting
a password through it uses it up, ends every session of the account, and a newer link for
the same account replaces an older one.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass

import redis
from sqlalchemy.orm import Session, sessionmaker

from services.audit import record_event
from services.auth.passwords import check_password_policy, hash_password
from services.auth.sign_ins import SignInSessions
from services.errors import InvalidInputError, NotFoundError
from services.orm import User

logger = logging.getLogger(__name__)

RESET_TTL_S = 3600
RESET_PATH = "/reset_password"
LINK_USED_OR_EXPIRED = "Reset link: it has expired or was already used. Ask an admin for a new one."


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class ResetLink:
    email: str
    url: str  # shown once to the admin who passes it on; never stored or logged


class PasswordResets:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        client: redis.Redis,
        store: SignInSessions,
        *,
        prefix: str,
        public_url: str,
    ) -> None:
        self._db = sessions
        self._redis = client
        self._sessions = store
        self._prefix = f"{prefix}auth:reset:"
        self._public_url = public_url.rstrip("/")

    def issue(self, *, actor_id: int | None, user_id: int) -> ResetLink:
        """A new one-time link for `user_id`, valid for an hour; older links stop working."""
        with self._db.begin() as session:
            user = session.get(User, user_id)
            if user is None:
                raise NotFoundError("No such user.")
            record_event(
                session, actor_user_id=actor_id, action="user.reset_link", target=user.email
            )
            email = user.email
        token = secrets.token_urlsafe(32)
        latest = f"{self._prefix}user:{user_id}"
        previous = self._redis.getset(latest, _digest(token))
        pipe = self._redis.pipeline()
        if isinstance(previous, bytes):
            pipe.delete(f"{self._prefix}{previous.decode()}")
        pipe.set(f"{self._prefix}{_digest(token)}", user_id, ex=RESET_TTL_S)
        pipe.expire(latest, RESET_TTL_S)
        pipe.execute()
        logger.info("reset link issued user_id=%s actor_id=%s", user_id, actor_id)
        return ResetLink(email=email, url=f"{self._public_url}{RESET_PATH}?token={token}")

    def email_for(self, token: str) -> str | None:
        """The email of the account a live link is for (the page names it), else None."""
        user_id = self._redis.get(f"{self._prefix}{_digest(token)}") if token else None
        if user_id is None:
            return None
        with self._db() as session:
            user = session.get(User, int(user_id))
            return user.email if user is not None else None

    def complete(self, *, token: str, password: str) -> str:
        """Set the password through a live link, which then works no more; returns the email.

        Raises:
            InvalidInputError: the link is used up or expired, or the password is refused
                (the link then stays usable).
        """
        email = self.email_for(token)
        if email is None:
            raise InvalidInputError(LINK_USED_OR_EXPIRED)
        check_password_policy(password, email=email)
        password_hash = hash_password(password)
        claimed = self._redis.getdel(f"{self._prefix}{_digest(token)}")
        if claimed is None:  # used by a concurrent request in the meantime
            raise InvalidInputError(LINK_USED_OR_EXPIRED)
        user_id = int(claimed)
        with self._db.begin() as session:
            user = session.get(User, user_id)
            if user is None:
                raise InvalidInputError(LINK_USED_OR_EXPIRED)
            user.password_hash = password_hash
            record_event(session, actor_user_id=user_id, action="user.password_reset")
        self._sessions.end_all(user_id)
        return email
