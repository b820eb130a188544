"""`IdentityCache` keeps a value per live object and lets it go with the object."""

from __future__ import annotations

import gc
import weakref

from services.llm.identity_cache import IdentityCache


class Thing:
    """An object that allows weak references (as messages and tools do)."""


def test_get__finds_the_value_kept_for_the_same_object_only() -> None:
    cache: IdentityCache[Thing, str] = IdentityCache()
    one, other = Thing(), Thing()
    cache.put(one, "one")
    assert cache.get(one) == "one"
    assert cache.get(other) is None
    cache.put(one, "again")
    assert cache.get(one) == "again"
    assert len(cache) == 1


def test_put__does_not_keep_the_object_alive_and_the_entry_goes_with_it() -> None:
    cache: IdentityCache[Thing, int] = IdentityCache()
    thing = Thing()
    alive = weakref.ref(thing)
    cache.put(thing, 1)
    del thing
    gc.collect()
    assert alive() is None
    assert len(cache) == 0


def test_get__a_new_object_at_a_dead_objects_id_finds_nothing() -> None:
    cache: IdentityCache[Thing, int] = IdentityCache()
    old = Thing()
    cache.put(old, 1)
    stale = cache._entries[id(old)]
    new = Thing()
    # Stand in for CPython reusing the dead object's address for the new one.
    cache._entries[id(new)] = stale
    del old
    gc.collect()
    assert cache.get(new) is None


def test_forget__a_dead_objects_callback_leaves_a_newer_entry_alone() -> None:
    cache: IdentityCache[Thing, str] = IdentityCache()
    old = Thing()
    cache.put(old, "old")
    key = id(old)
    newer = Thing()
    ref = weakref.ref(newer)
    cache._entries[key] = (ref, "newer")  # the id was taken by a newer object
    del old
    gc.collect()
    assert cache._entries[key] == (ref, "newer")
