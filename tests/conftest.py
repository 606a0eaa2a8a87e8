"""Shared fixtures and collection rules."""

import numpy as np
import pytest


def pytest_collection_modifyitems(config, items):
    # ticselect computes curvature in NumPy float64 and does not claim array-API
    # support; scikit-learn's array-API checks would only ever skip, and a test that
    # skips everywhere hides nothing but noise.
    keep = [it for it in items if "array_api" not in it.nodeid]
    dropped = [it for it in items if "array_api" in it.nodeid]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


@pytest.fixture
def rng():
    """A seeded generator, fresh for every test."""
    return np.random.default_rng(20261125)
