"""Local accounts: register, sign in, change password, and the admin's user management."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from services.audit import record_event
from services.auth.passwords import (
    check_password_policy,
    hash_password,
    needs_rehash,
    verify_password,
)
from services.auth.sessions import SessionStore
from services.auth.throttle import THROTTLED_MESSAGE, LoginThrottle
from services.errors import AppError, InvalidInputError, NotAllowedError, NotFoundError
from services.models import Identity, Role, User, UserStatus

logger = logging.getLogger(__name__)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
WRONG_CREDENTIALS = "Wrong email or password."


class ThrottledError(AppError):
    """Too many failed sign-ins for this account or address."""


@dataclass(frozen=True)
class ExternalIdentity:
    provider: str
    subject: str
    email: str
    email_verified: bool
    name: str = ""


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if not _EMAIL.match(email) or len(email) > 320:
        raise InvalidInputError("Enter a valid email address.")
    return email


class AccountService:
    def __init__(
        self, sessions: sessionmaker[Session], store: SessionStore, throttle: LoginThrottle
    ) -> None:
        self._db = sessions
        self._sessions = store
        self._throttle = throttle

    def register(self, *, email: str, password: str, display_name: str = "") -> User:
        """Create a local account; the first account of an empty install is an admin."""
        email = normalise_email(email)
        check_password_policy(password, email=email)
        password_hash = hash_password(password)
        try:
            with self._db.begin() as session:
                user = self._create_user(session, email=email, display_name=display_name)
                user.password_hash = password_hash
        except IntegrityError as exc:
            raise InvalidInputError("An account with that email already exists.") from exc
        return user

    def _create_user(self, session: Session, *, email: str, display_name: str) -> User:
        first = session.scalar(select(func.count()).select_from(User)) == 0
        role = Role.ADMIN if first else Role.MEMBER
        user = User(email=email, display_name=display_name.strip()[:200], role=role.value)
        session.add(user)
        session.flush()
        record_event(session, actor_user_id=user.id, action="user.created", target=email)
        return user

    def authenticate(self, *, email: str, password: str, address: str) -> User:
        """Check credentials under throttling; the message never says if the account exists."""
        if not self._throttle.allowed(email, address):
            raise ThrottledError(THROTTLED_MESSAGE)
        with self._db.begin() as session:
            user = session.scalar(select(User).where(User.email == email.strip().lower()))
            if not verify_password(user.password_hash if user else None, password):
                self._throttle.record_failure(email, address)
                raise InvalidInputError(WRONG_CREDENTIALS)
            assert user is not None
            assert user.password_hash is not None
            if not user.is_active:
                raise NotAllowedError("This account is disabled. Ask an admin to enable it.")
            if needs_rehash(user.password_hash):
                user.password_hash = hash_password(password)
        return user

    def change_password(self, *, user_id: int, current: str, new: str) -> None:
        """Change a password; every other session of the user ends."""
        with self._db.begin() as session:
            user = self._get(session, user_id)
            if not verify_password(user.password_hash, current):
                raise InvalidInputError("The current password is wrong.")
            check_password_policy(new, email=user.email)
            user.password_hash = hash_password(new)
            record_event(session, actor_user_id=user_id, action="user.password_changed")
        self._sessions.end_all(user_id)

    def get_user(self, user_id: int) -> User | None:
        with self._db() as session:
            return session.get(User, user_id)

    def list_users(self) -> list[User]:
        with self._db() as session:
            return list(session.scalars(select(User).order_by(User.id)))

    def set_role(self, *, actor_id: int, user_id: int, role: Role) -> User:
        with self._db.begin() as session:
            user = self._get(session, user_id)
            if user.role == Role.ADMIN.value and role is Role.MEMBER:
                self._keep_an_admin(session, user_id)
            user.role = role.value
            record_event(
                session,
                actor_user_id=actor_id,
                action="user.role_changed",
                target=user.email,
                detail={"role": role.value},
            )
        return user

    def set_status(self, *, actor_id: int, user_id: int, status: UserStatus) -> User:
        """Disable or enable a user; disabling ends all of their sessions at once."""
        with self._db.begin() as session:
            user = self._get(session, user_id)
            if status is UserStatus.DISABLED and user.is_admin:
                self._keep_an_admin(session, user_id)
            user.status = status.value
            record_event(
                session, actor_user_id=actor_id, action=f"user.{status.value}", target=user.email
            )
        if status is UserStatus.DISABLED:
            self._sessions.end_all(user_id)
        return user

    def promote(self, email: str) -> User:
        """Make the user with `email` an admin (the `make admin` command)."""
        with self._db.begin() as session:
            user = session.scalar(select(User).where(User.email == normalise_email(email)))
            if user is None:
                raise NotFoundError(f"No user with email {email}.")
            user.role = Role.ADMIN.value
            record_event(session, actor_user_id=None, action="user.promoted", target=user.email)
        return user

    def sign_in_external(self, identity: ExternalIdentity) -> User:
        """Resolve an OIDC/GitHub identity to a user: linked, same verified email, or new."""
        with self._db.begin() as session:
            linked = session.scalar(
                select(Identity).where(
                    Identity.provider == identity.provider, Identity.subject == identity.subject
                )
            )
            user = session.get(User, linked.user_id) if linked else None
            if user is None:
                user = self._link(session, identity)
            if not user.is_active:
                raise NotAllowedError("This account is disabled. Ask an admin to enable it.")
        return user

    def _link(self, session: Session, identity: ExternalIdentity) -> User:
        email = normalise_email(identity.email)
        user = session.scalar(select(User).where(User.email == email))
        if user is not None and not identity.email_verified:
            raise NotAllowedError(
                "That email belongs to an existing account, and the provider has not verified it."
            )
        if user is None:
            user = self._create_user(session, email=email, display_name=identity.name)
        session.add(
            Identity(
                user_id=user.id, provider=identity.provider, subject=identity.subject, email=email
            )
        )
        record_event(
            session, actor_user_id=user.id, action="identity.linked", target=identity.provider
        )
        return user

    def _get(self, session: Session, user_id: int) -> User:
        user = session.get(User, user_id)
        if user is None:
            raise NotFoundError("No such user.")
        return user

    def _keep_an_admin(self, session: Session, leaving_id: int) -> None:
        others = session.scalar(
            select(func.count())
            .select_from(User)
            .where(
                User.role == Role.ADMIN.value,
                User.status == UserStatus.ACTIVE.value,
                User.id != leaving_id,
            )
        )
        if not others:
            raise InvalidInputError("At least one active admin must remain.")
