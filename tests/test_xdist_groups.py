"""Tests marked ``xdist_group`` reach xdist's scheduler with their group (conftest.py's
``pytest_collection_modifyitems``), so each group runs in one worker and makes its session fixtures once."""

from __future__ import annotations

import pytest


@pytest.mark.xdist_group("xdist-group-check")
def test_a_grouped_test_carries_its_group_to_the_scheduler(request):
    if not request.config.getoption("loadgroup", default=False):
        pytest.skip("only under xdist with --dist loadgroup (the suite's default)")
    assert request.node.nodeid.endswith("@xdist-group-check")  # what xdist's loadgroup scheduler reads
