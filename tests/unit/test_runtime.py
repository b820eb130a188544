"""`prepare_to_serve`: the startup heap frozen, young collections rarer, the GIL handed over
sooner; garbage made afterwards is still collected."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator

import pytest

from services.runtime import SWITCH_INTERVAL_S, YOUNG_THRESHOLD, prepare_to_serve


@pytest.fixture
def interpreter_restored() -> Iterator[None]:
    thresholds, interval = gc.get_threshold(), sys.getswitchinterval()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)
    sys.setswitchinterval(interval)


@pytest.mark.usefixtures("interpreter_restored")
def test_prepare_to_serve__freezes_startup_objects_and_still_collects_new_cycles() -> None:
    class Node:
        partner: object = None

    frozen = prepare_to_serve()

    # Not equal to the count read afterwards: other threads of the test process may free a
    # frozen object in between.
    assert frozen > 1_000
    assert gc.get_freeze_count() > 1_000
    assert gc.get_threshold()[0] == YOUNG_THRESHOLD
    assert sys.getswitchinterval() == pytest.approx(SWITCH_INTERVAL_S)
    # A cycle made after the freeze is garbage the collector still finds.
    first, second = Node(), Node()
    first.partner, second.partner = second, first
    del first, second
    assert gc.collect() >= 2
