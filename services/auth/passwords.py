"""Password hashing (argon2id) and the password policy."""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from services.errors import InvalidInputError

MIN_LENGTH = 10
MAX_LENGTH = 256
# The most common passwords that satisfy the length rule; refused outright.
_COMMON = frozenset(
    {
        "password123",
        "1234567890",
        "qwertyuiop",
        "password1234",
        "iloveyou123",
        "abcdefghij",
        "letmein1234",
        "welcome123",
        "administrator",
        "passw0rd123",
        "0987654321",
        "1q2w3e4r5t",
        "qwerty12345",
        "football123",
        "monkey12345",
    }
)

_hasher = PasswordHasher(type=Type.ID)


def check_password_policy(password: str, *, email: str = "") -> None:
    """Raise `InvalidInputError` naming the field and the rule that failed.

    The email rule refuses only passwords an attacker who knows the email would try first:
    the whole email, or a password made up mostly (half or more) of an email local part
    of 4 or more characters. `carla-sunflower-1987` is fine for carla@…; `carla12345` is not.
    """
    if len(password) < MIN_LENGTH:
        raise InvalidInputError(f"Password: use at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        raise InvalidInputError(f"Password: use at most {MAX_LENGTH} characters.")
    if len(set(password)) < 4:
        raise InvalidInputError("Password: use at least 4 different characters.")
    lowered = password.lower()
    if lowered in _COMMON:
        raise InvalidInputError("Password: this one is too common; choose another.")
    if _mostly_email(lowered, email.strip().lower()):
        raise InvalidInputError("Password: do not build it mostly from your email address.")


def _mostly_email(lowered: str, email: str) -> bool:
    if not email:
        return False
    local_part = email.split("@")[0]
    if email in lowered:
        return True
    return len(local_part) >= 4 and local_part in lowered and 2 * len(local_part) >= len(lowered)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; a missing hash still costs one verification."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


# Verifying against this keeps sign-in time the same whether or not the account exists.
_DUMMY_HASH = _hasher.hash("not-a-real-password-only-for-timing")
