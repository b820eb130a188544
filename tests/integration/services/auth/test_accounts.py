import pytest

from services.auth.accounts import (
    WRONG_CREDENTIALS,
    AccountExistsError,
    ExternalIdentity,
    ThrottledError,
)
from services.container import Services
from services.errors import InvalidInputError, NotAllowedError
from services.orm import Role, UserStatus

pytestmark = pytest.mark.sql
PASSWORD = "correct horse battery staple"


def test_register__first_account_is_admin_then_members(services: Services) -> None:
    first = services.accounts.register(email="Ana@Example.com ", password=PASSWORD)
    second = services.accounts.register(email="bo@example.com", password=PASSWORD)
    assert (first.email, first.role) == ("ana@example.com", "admin")
    assert second.role == "member"
    assert first.password_hash is not None
    assert first.password_hash.startswith("$argon2id$")


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "^Password: use at least 10 characters"),
        ("x" * 257, "^Password: use at most 256 characters"),
        ("aaaaaaaaaaaa", "^Password: use at least 4 different characters"),
        ("password123", "^Password: this one is too common"),
        ("carla12345", "^Password: do not build it mostly from your email"),
        ("my carla@example.com pw", "^Password: do not build it mostly from your email"),
    ],
)
def test_register__enforces_the_password_policy(
    services: Services, password: str, message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        services.accounts.register(email="carla@example.com", password=password)
    assert services.accounts.list_users() == []


def test_register__accepts_a_password_that_only_contains_the_local_part(
    services: Services,
) -> None:
    user = services.accounts.register(email="carla@example.com", password="xx-carla-xx-2026")
    assert user.email == "carla@example.com"


def test_register__a_duplicate_email_tells_its_owner_once(services: Services) -> None:
    owner = services.accounts.register(email="ana@example.com", password=PASSWORD)
    with pytest.raises(AccountExistsError):
        services.accounts.register(email="ANA@example.com", password="another long one")
    [notice] = services.accounts.notices.take(owner.id)
    assert notice.startswith("Someone tried to register with your email on ")
    assert services.accounts.notices.take(owner.id) == []
    with pytest.raises(InvalidInputError, match=r"^Email: enter an address like"):
        services.accounts.register(email="not-an-email", password=PASSWORD)
    with pytest.raises(InvalidInputError, match=r"^Email: use at most 320 characters"):
        services.accounts.register(email="a" * 400 + "@example.com", password=PASSWORD)


def test_authenticate__same_message_for_unknown_account_and_wrong_password(
    services: Services,
) -> None:
    services.accounts.register(email="ana@example.com", password=PASSWORD)
    for email in ("ana@example.com", "nobody@example.com"):
        with pytest.raises(InvalidInputError) as excinfo:
            services.accounts.authenticate(email=email, password="wrong pass 123", address="a")
        assert str(excinfo.value) == WRONG_CREDENTIALS


def test_authenticate__sixth_attempt_in_a_minute_is_refused_even_when_right(
    services: Services,
) -> None:
    services.accounts.register(email="ana@example.com", password=PASSWORD)
    for _ in range(5):
        with pytest.raises(InvalidInputError):
            services.accounts.authenticate(
                email="ana@example.com", password="wrong pass 123", address="10.0.0.1"
            )
    with pytest.raises(ThrottledError, match="Too many"):
        services.accounts.authenticate(email="ana@example.com", password=PASSWORD, address="x")


def test_authenticate__throttles_an_address_across_accounts(services: Services) -> None:
    limit = services.settings.login_attempts_per_address_per_minute
    for n in range(limit):
        with pytest.raises(InvalidInputError):
            services.accounts.authenticate(
                email=f"guess{n}@example.com", password="wrong pass 123", address="10.9.9.9"
            )
    with pytest.raises(ThrottledError):
        services.accounts.authenticate(
            email="fresh@example.com", password="wrong pass 123", address="10.9.9.9"
        )


def test_disable__ends_every_session_and_refuses_sign_in(services: Services) -> None:
    admin = services.accounts.register(email="ana@example.com", password=PASSWORD)
    member = services.accounts.register(email="bo@example.com", password=PASSWORD)
    tokens = [services.sign_ins.create(member.id) for _ in range(2)]
    services.accounts.set_status(actor_id=admin.id, user_id=member.id, status=UserStatus.DISABLED)
    assert [services.sign_ins.resolve(t) for t in tokens] == [None, None]
    with pytest.raises(NotAllowedError, match="disabled"):
        services.accounts.authenticate(email="bo@example.com", password=PASSWORD, address="a")


def test_roles__the_last_active_admin_stays(services: Services) -> None:
    admin = services.accounts.register(email="ana@example.com", password=PASSWORD)
    with pytest.raises(InvalidInputError, match="admin must remain"):
        services.accounts.set_role(actor_id=admin.id, user_id=admin.id, role=Role.MEMBER)
    with pytest.raises(InvalidInputError, match="admin must remain"):
        services.accounts.set_status(
            actor_id=admin.id, user_id=admin.id, status=UserStatus.DISABLED
        )


def test_change_password__ends_other_sessions(services: Services) -> None:
    user = services.accounts.register(email="ana@example.com", password=PASSWORD)
    token = services.sign_ins.create(user.id)
    with pytest.raises(InvalidInputError, match=r"^Current password: this is not your password"):
        services.accounts.change_password(user_id=user.id, current="nope", new="another long one")
    services.accounts.change_password(user_id=user.id, current=PASSWORD, new="another long one")
    assert services.sign_ins.resolve(token) is None
    services.accounts.authenticate(
        email="ana@example.com", password="another long one", address="a"
    )


def test_promote__makes_an_admin(services: Services) -> None:
    services.accounts.register(email="ana@example.com", password=PASSWORD)
    services.accounts.register(email="bo@example.com", password=PASSWORD)
    assert services.accounts.promote("bo@example.com").role == "admin"


def test_external__links_a_verified_email_to_the_existing_user(services: Services) -> None:
    local = services.accounts.register(email="ana@example.com", password=PASSWORD)
    identity = ExternalIdentity("github", "42", "Ana@example.com", email_verified=True)
    assert services.accounts.sign_in_external(identity).id == local.id
    again = ExternalIdentity("github", "42", "changed@example.com", email_verified=True)
    assert services.accounts.sign_in_external(again).id == local.id


def test_external__refuses_an_unverified_email_of_an_existing_user(services: Services) -> None:
    services.accounts.register(email="ana@example.com", password=PASSWORD)
    identity = ExternalIdentity("oidc:x", "sub-1", "ana@example.com", email_verified=False)
    with pytest.raises(NotAllowedError, match="not verified"):
        services.accounts.sign_in_external(identity)


def test_external__creates_a_member_for_a_new_email(services: Services) -> None:
    services.accounts.register(email="ana@example.com", password=PASSWORD)
    user = services.accounts.sign_in_external(
        ExternalIdentity("oidc:x", "sub-2", "new@example.com", email_verified=True, name="New")
    )
    assert (user.email, user.role, user.password_hash) == ("new@example.com", "member", None)


def test_create_user__by_an_admin_without_a_password_then_a_reset_link_sets_one(
    services: Services,
) -> None:
    admin = services.accounts.register(email="ana@example.com", password=PASSWORD)
    added = services.accounts.create_user(
        actor_id=admin.id, email="Bo@Example.com", display_name="Bo"
    )
    assert (added.email, added.role, added.password_hash) == ("bo@example.com", "member", None)
    with pytest.raises(InvalidInputError, match="already exists"):
        services.accounts.create_user(actor_id=admin.id, email="bo@example.com")
    link = services.password_resets.issue(actor_id=admin.id, user_id=added.id)
    assert link.url.startswith(f"{services.settings.public_url}/reset_password?token=")
    token = link.url.split("token=")[1]
    assert services.password_resets.email_for(token) == "bo@example.com"
    with pytest.raises(InvalidInputError, match=r"^Password: use at least"):
        services.password_resets.complete(token=token, password="short")
    assert services.password_resets.complete(token=token, password="a brand new pass") == (
        "bo@example.com"
    )
    services.accounts.authenticate(email="bo@example.com", password="a brand new pass", address="a")
    with pytest.raises(InvalidInputError, match="expired or was already used"):
        services.password_resets.complete(token=token, password="yet another pass")
    assert services.password_resets.email_for(token) is None


def test_reset_link__a_newer_link_replaces_the_older_one(services: Services) -> None:
    user = services.accounts.register(email="ana@example.com", password=PASSWORD)
    first = services.password_resets.issue(actor_id=None, user_id=user.id)
    second = services.password_resets.issue(actor_id=None, user_id=user.id)
    assert services.password_resets.email_for(first.url.split("token=")[1]) is None
    assert services.password_resets.email_for(second.url.split("token=")[1]) == user.email


def test_reset_link__expires_after_an_hour(services: Services) -> None:
    user = services.accounts.register(email="ana@example.com", password=PASSWORD)
    link = services.password_resets.issue(actor_id=None, user_id=user.id)
    [key] = [
        k
        for k in services.redis.scan_iter(f"{services.settings.redis_key_prefix}auth:reset:*")
        if b":user:" not in k
    ]
    assert 3590 <= services.redis.ttl(key) <= 3600
    assert link.email == user.email


def test_list_users__searches_email_and_name_literally(services: Services) -> None:
    services.accounts.register(email="ana@example.com", password=PASSWORD, display_name="Ana Ruiz")
    services.accounts.register(email="bo_x@example.com", password=PASSWORD, display_name="Bo")
    assert [u.email for u in services.accounts.list_users("RUIZ")] == ["ana@example.com"]
    assert [u.email for u in services.accounts.list_users("_x")] == ["bo_x@example.com"]
    assert [u.email for u in services.accounts.list_users("%")] == []
    assert len(services.accounts.list_users("")) == 2
