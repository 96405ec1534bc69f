"""Shared test configuration.

Matplotlib draws off-screen; progress bars and run tracking are off; PyTensor compiles into a per-run cache
shared by the xdist workers, so models compiled once are reused within a session.
"""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("BAYES_NO_PROGRESS", "1")
os.environ.setdefault("BAYES_CORES", "1")  # xdist already uses both cores
os.environ.setdefault("BAYES_NO_TRACK", "1")  # tests/test_tracking*.py turn it on, temp store

import pytest  # noqa: E402


@pytest.fixture
def rng():
    import numpy as np

    return np.random.default_rng(20261126)
