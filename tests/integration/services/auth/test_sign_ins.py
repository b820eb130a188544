from services.auth.sign_ins import SignInSessions
from services.container import Services


def test_session__resolves_until_ended(services: Services) -> None:
    store = services.sign_ins
    token = store.create(7)
    assert store.resolve(token) == 7
    store.end(token)
    assert store.resolve(token) is None
    assert store.resolve(None) is None
    assert store.resolve("made-up") is None


def test_session__expiry_slides_on_use(services: Services) -> None:
    store = SignInSessions(
        services.redis, prefix=services.settings.redis_key_prefix, ttl_seconds=100
    )
    token = store.create(3)
    key = next(
        services.redis.scan_iter(match=f"{services.settings.redis_key_prefix}auth:session:*")
    )
    services.redis.expire(key, 5)
    assert store.resolve(token) == 3
    assert services.redis.ttl(key) > 90


def test_session__tokens_are_not_stored_in_clear(services: Services) -> None:
    token = services.sign_ins.create(3)
    keys = [
        k.decode() for k in services.redis.scan_iter(match=f"{services.settings.redis_key_prefix}*")
    ]
    assert keys
    assert all(token not in k for k in keys)


def test_end_all__ends_every_session_of_one_user_only(services: Services) -> None:
    store = services.sign_ins
    mine = [store.create(1), store.create(1)]
    other = store.create(2)
    assert store.end_all(1) == 2
    assert [store.resolve(t) for t in mine] == [None, None]
    assert store.resolve(other) == 2


def test_ticket__is_redeemed_once(services: Services) -> None:
    ticket = services.sign_ins.issue_ticket(9)
    assert services.sign_ins.redeem_ticket(ticket) == 9
    assert services.sign_ins.redeem_ticket(ticket) is None
