import hashlib
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from services.container import Services
from services.errors import InvalidInputError, NotAllowedError
from services.orm import ApiToken, UserStatus

pytestmark = pytest.mark.sql
PASSWORD = "correct horse battery staple"


def test_token__verifies_until_revoked(services: Services) -> None:
    user = services.accounts.register(email="ana@example.com", password=PASSWORD)
    issued = services.api_tokens.create(user_id=user.id, name="ci script")
    assert services.api_tokens.verify(issued.token) == user.id
    claims = jwt.decode(issued.token, options={"verify_signature": False})
    assert claims["jti"] == issued.jti
    assert jwt.get_unverified_header(issued.token)["alg"] == "HS256"
    services.api_tokens.revoke(user_id=user.id, jti=issued.jti)
    with pytest.raises(NotAllowedError, match="revoked"):
        services.api_tokens.verify(issued.token)
    [row] = services.api_tokens.list_for(user.id)
    assert row.revoked_at is not None


def test_token__refuses_tampered_expired_and_foreign(services: Services) -> None:
    user = services.accounts.register(email="ana@example.com", password=PASSWORD)
    issued = services.api_tokens.create(user_id=user.id, name="t")
    with pytest.raises(NotAllowedError):
        services.api_tokens.verify(issued.token[:-2] + "xx")
    forged = jwt.encode(
        {
            "sub": str(user.id),
            "jti": "x",
            "exp": datetime.now(UTC) + timedelta(hours=1),
            "aud": "pyairtable-assistant-api",
        },
        "another-key-entirely-another-key",
        algorithm="HS256",
    )
    with pytest.raises(NotAllowedError):
        services.api_tokens.verify(forged)
    expired = jwt.encode(
        {
            "sub": str(user.id),
            "jti": "y",
            "exp": datetime.now(UTC) - timedelta(seconds=1),
            "aud": "pyairtable-assistant-api",
        },
        hashlib.sha256(
            b"api-token/" + services.settings.secret_key.get_secret_value().encode()
        ).digest(),
        algorithm="HS256",
    )
    with pytest.raises(NotAllowedError, match="expired"):
        services.api_tokens.verify(expired)


def test_token__only_its_owner_revokes_it_and_it_is_never_stored(services: Services) -> None:
    owner = services.accounts.register(email="ana@example.com", password=PASSWORD)
    other = services.accounts.register(email="bo@example.com", password=PASSWORD)
    issued = services.api_tokens.create(user_id=owner.id, name="t")
    with pytest.raises(Exception, match="No such token"):
        services.api_tokens.revoke(user_id=other.id, jti=issued.jti)
    with services.sql() as session:
        row = session.get(ApiToken, issued.jti)
        assert row is not None
        assert issued.token not in repr(row.__dict__)
    with pytest.raises(InvalidInputError):
        services.api_tokens.create(user_id=owner.id, name="  ")


def test_token__stays_revoked_when_its_redis_entry_is_lost(services: Services) -> None:
    user = services.accounts.register(email="ana@example.com", password=PASSWORD)
    issued = services.api_tokens.create(user_id=user.id, name="ci")
    services.api_tokens.revoke(user_id=user.id, jti=issued.jti)
    prefix = services.settings.redis_key_prefix
    assert services.redis.delete(f"{prefix}auth:revoked:{issued.jti}") == 1
    with pytest.raises(NotAllowedError, match="revoked"):
        services.api_tokens.verify(issued.token)
    # SQL answered, and Redis remembers the answer again.
    assert services.redis.exists(f"{prefix}auth:revoked:{issued.jti}")


def test_token__disabling_the_user_revokes_it_for_good(services: Services) -> None:
    admin = services.accounts.register(email="ana@example.com", password=PASSWORD)
    member = services.accounts.register(email="bo@example.com", password=PASSWORD)
    issued = services.api_tokens.create(user_id=member.id, name="ci")
    services.accounts.set_status(actor_id=admin.id, user_id=member.id, status=UserStatus.DISABLED)
    services.accounts.set_status(actor_id=admin.id, user_id=member.id, status=UserStatus.ACTIVE)
    with pytest.raises(NotAllowedError, match="revoked"):
        services.api_tokens.verify(issued.token)
    [row] = services.api_tokens.list_for(member.id)
    assert row.revoked_at is not None
    fresh = services.api_tokens.create(user_id=member.id, name="new")
    assert services.api_tokens.verify(fresh.token) == member.id


def test_token__names_the_field_in_its_messages(services: Services) -> None:
    user = services.accounts.register(email="ana@example.com", password=PASSWORD)
    with pytest.raises(InvalidInputError, match=r"^Token name: enter a name"):
        services.api_tokens.create(user_id=user.id, name=" ")
    with pytest.raises(InvalidInputError, match=r"^Token name: use at most 100 characters"):
        services.api_tokens.create(user_id=user.id, name="n" * 101)
    with pytest.raises(InvalidInputError, match=r"^Token lifetime: use 1 to 3650 days"):
        services.api_tokens.create(user_id=user.id, name="t", days=0)
    issued = services.api_tokens.create(user_id=user.id, name="t", days=7)
    assert 6 < (issued.expires_at - datetime.now(UTC)).total_seconds() / 86400 <= 7
