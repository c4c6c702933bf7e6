"""tenants/collector.py: what survives a full pass leaves the collector's sight, and comes
back after the interval so that cycles which died frozen are reclaimed."""

from __future__ import annotations

import gc

import pytest

from tenants import collector


@pytest.fixture
def frozen_nothing():
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_a_full_pass_freezes_its_survivors(frozen_nothing):
    kept = [[n] for n in range(1000)]  # tracked containers, alive through the pass
    gc.collect()
    collector.freezer(unfreeze_every=3600)("stop", {"generation": 2})
    assert gc.get_freeze_count() >= len(kept)


def test_a_young_pass_freezes_nothing(frozen_nothing):
    kept = [[n] for n in range(1000)]
    collector.freezer(unfreeze_every=3600)("stop", {"generation": 0})
    assert gc.get_freeze_count() == 0
    assert kept


def test_after_the_interval_the_frozen_come_back_and_their_dead_cycles_are_collected(
    frozen_nothing,
):
    cycle = []
    cycle.append(cycle)
    gc.freeze()
    del cycle  # now cyclic garbage that no pass sees
    assert gc.collect() == 0
    collector.freezer(unfreeze_every=0)("stop", {"generation": 2})
    assert gc.get_freeze_count() == 0
    assert gc.collect() >= 1
