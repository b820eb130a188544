"""Local accounts: register, sign in, change password, and the admin's user management."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from services.audit import record_event
from services.auth.notices import AccountNotices
from services.auth.passwords import (
    check_password_policy,
    hash_password,
    needs_rehash,
    verify_password,
)
from services.auth.sign_ins import SignInSessions
from services.auth.throttle import THROTTLED_MESSAGE, LoginThrottle
from services.errors import AppError, InvalidInputError, NotAllowedError, NotFoundError
from services.orm import ApiToken, Identity, Role, User, UserStatus

logger = logging.getLogger(__name__)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
WRONG_CREDENTIALS = "Wrong email or password."
MAX_EMAIL = 320
MAX_DISPLAY_NAME = 200


class ThrottledError(AppError):
    """Too many failed sign-ins for this account or address."""


class AccountExistsError(InvalidInputError):
    """Registration with an email that has an account. Routes must answer as for a new
    account (the owner is told on their next sign-in), so no one learns who is registered."""


@dataclass(frozen=True)
class ExternalIdentity:
    provider: str
    subject: str
    email: str
    email_verified: bool
    name: str = ""


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if len(email) > MAX_EMAIL:
        raise InvalidInputError(f"Email: use at most {MAX_EMAIL} characters.")
    if not _EMAIL.match(email):
        raise InvalidInputError("Email: enter an address like name@example.com.")
    return email


class AccountService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        store: SignInSessions,
        throttle: LoginThrottle,
        notices: AccountNotices,
    ) -> None:
        self._db = sessions
        self._sessions = store
        self._throttle = throttle
        self.notices = notices

    def register(self, *, email: str, password: str, display_name: str = "") -> User:
        """Create a local account; the first account of an empty install is an admin.

        Raises:
            AccountExistsError: the email has an account; its owner gets a notice.
        """
        email = normalise_email(email)
        check_password_policy(password, email=email)
        # Hashed either way, so an existing email does not answer faster.
        password_hash = hash_password(password)
        try:
            with self._db.begin() as session:
                user = self._create_user(session, email=email, display_name=display_name)
                user.password_hash = password_hash
        except IntegrityError as exc:
            self._tell_owner_of_attempt(email)
            raise AccountExistsError("Email: an account with that email already exists.") from exc
        return user

    def _tell_owner_of_attempt(self, email: str) -> None:
        with self._db.begin() as session:
            owner = session.scalar(select(User).where(User.email == email))
            if owner is None:
                return
            record_event(session, actor_user_id=None, action="user.register_attempt", target=email)
        self.notices.registration_attempted(owner.id)

    def create_user(
        self,
        *,
        actor_id: int | None,
        email: str,
        display_name: str = "",
        admin: bool = False,
        password: str | None = None,
    ) -> User:
        """An account made by an admin or the operator CLI; without a password, its owner
        sets one through a reset link."""
        email = normalise_email(email)
        if password is not None:
            check_password_policy(password, email=email)
        try:
            with self._db.begin() as session:
                user = self._create_user(session, email=email, display_name=display_name)
                if admin:
                    user.role = Role.ADMIN.value
                if password is not None:
                    user.password_hash = hash_password(password)
                record_event(
                    session, actor_user_id=actor_id, action="user.added", target=user.email
                )
        except IntegrityError as exc:
            raise InvalidInputError("Email: an account with that email already exists.") from exc
        return user

    def find_by_email(self, email: str) -> User:
        with self._db() as session:
            user = session.scalar(select(User).where(User.email == normalise_email(email)))
        if user is None:
            raise NotFoundError(f"No user with email {email.strip()[:MAX_EMAIL]}.")
        return user

    def _create_user(self, session: Session, *, email: str, display_name: str) -> User:
        first = session.scalar(select(func.count()).select_from(User)) == 0
        role = Role.ADMIN if first else Role.MEMBER
        name = display_name.strip()[:MAX_DISPLAY_NAME]
        user = User(email=email, display_name=name, role=role.value)
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
        """Change a password and end every session of the user; the caller starts a fresh
        one for the browser that asked (a new session id, so the old cookie is dead too)."""
        with self._db.begin() as session:
            user = self._get(session, user_id)
            if not verify_password(user.password_hash, current):
                raise InvalidInputError("Current password: this is not your password.")
            check_password_policy(new, email=user.email)
            user.password_hash = hash_password(new)
            record_event(session, actor_user_id=user_id, action="user.password_changed")
        self._sessions.end_all(user_id)

    def get_user(self, user_id: int) -> User | None:
        with self._db() as session:
            return session.get(User, user_id)

    def list_users(self, search: str = "") -> list[User]:
        """Every user, or those whose email or name contains `search` (any case)."""
        query = select(User).order_by(User.id)
        if term := search.strip().lower()[:MAX_EMAIL]:
            query = query.where(
                or_(
                    func.lower(User.email).contains(term, autoescape=True),
                    func.lower(User.display_name).contains(term, autoescape=True),
                )
            )
        with self._db() as session:
            return list(session.scalars(query))

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
        """Disable or enable a user. Disabling ends all of their sessions and revokes their
        API tokens for good: enabling again brings neither back."""
        with self._db.begin() as session:
            user = self._get(session, user_id)
            if status is UserStatus.DISABLED and user.is_admin:
                self._keep_an_admin(session, user_id)
            user.status = status.value
            if status is UserStatus.DISABLED:
                session.execute(
                    update(ApiToken)
                    .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
                    .values(revoked_at=datetime.now(UTC))
                )
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
