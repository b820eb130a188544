import hashlib
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from services.container import Services
from services.errors import InvalidInputError, NotAllowedError
from services.models import ApiToken

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
    with services.sessions() as session:
        row = session.get(ApiToken, issued.jti)
        assert row is not None
        assert issued.token not in repr(row.__dict__)
    with pytest.raises(InvalidInputError):
        services.api_tokens.create(user_id=owner.id, name="  ")
