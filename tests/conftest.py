"""Shared test configuration.

Matplotlib draws off-screen; progress bars and run tracking are off; PyTensor compiles into a per-run cache
shared by the xdist workers, so models compiled once are reused within a session.

Scheduling (``make test`` runs ``pytest -n 2 --dist loadgroup --no-loadscope-reorder``): every
test module is one xdist group, so its module-scoped fixtures (compiled models, fits) are built
once, except the modules of :data:`ONE_GROUP_PER_TEST`, whose tests share nothing and are
spread over both workers. Groups run longest first (their seconds in ``tests/durations.json``,
else one second per test), so the two workers finish together instead of one of them ending
the run alone on the last heavy module. ``pytest --store-durations`` refreshes the file.
"""

import json
import os
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("BAYES_NO_PROGRESS", "1")
os.environ.setdefault("BAYES_CORES", "1")  # xdist already uses both cores
os.environ.setdefault("BAYES_NO_TRACK", "1")  # tests/test_tracking*.py turn it on, temp store

import pytest  # noqa: E402

#: modules whose tests share no fixture: one xdist group per test
ONE_GROUP_PER_TEST = frozenset(
    {"tests/test_notebooks.py", "tests/test_video_sbc.py", "tests/test_signup_sbc.py"}
)
DURATIONS = Path(__file__).with_name("durations.json")


def pytest_addoption(parser):
    parser.addoption(
        "--store-durations",
        action="store_true",
        help=f"write each scheduling group's seconds (setup + call + teardown) to {DURATIONS.name}",
    )


def _group(nodeid: str) -> str:
    module = nodeid.split("::")[0]
    return nodeid if module in ONE_GROUP_PER_TEST else module


@pytest.hookimpl(tryfirst=True)  # before xdist appends the group to the node ids
def pytest_collection_modifyitems(config, items):
    seconds = json.loads(DURATIONS.read_text()) if DURATIONS.is_file() else {}
    groups: dict[str, list] = {}
    for item in items:
        name = _group(item.nodeid)
        item.add_marker(pytest.mark.xdist_group(name))
        groups.setdefault(name, []).append(item)
    # longest first; sorted() is stable, so ties keep the file order
    order = sorted(groups, key=lambda g: -seconds.get(g, len(groups[g])))
    items[:] = [item for g in order for item in groups[g]]


_spent: dict[str, float] = {}


def pytest_runtest_logreport(report):
    group = _group(report.nodeid.split("@")[0])
    _spent[group] = _spent.get(group, 0.0) + report.duration


def pytest_sessionfinish(session):
    if session.config.getoption("--store-durations") and not hasattr(session.config, "workerinput"):
        old = json.loads(DURATIONS.read_text()) if DURATIONS.is_file() else {}
        old.update({g: round(s, 1) for g, s in _spent.items()})
        DURATIONS.write_text(json.dumps(dict(sorted(old.items())), indent=1) + "\n")


@pytest.fixture
def rng():
    import numpy as np

    return np.random.default_rng(20261126)
