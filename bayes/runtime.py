"""Machine-dependent defaults for sampling.

PyMC guesses half the reported CPUs are hyper-threads and runs chains one after another on a
2-core machine; the workbench runs them in parallel on every core unless ``BAYES_CORES`` says
otherwise (the tests set it to 1 because pytest-xdist already uses both cores).
"""

from __future__ import annotations

import os


def default_cores(chains: int) -> int:
    """Processes for ``chains`` NUTS chains: ``$BAYES_CORES`` or every CPU, at most ``chains``."""
    env = os.environ.get("BAYES_CORES")
    n = int(env) if env else (os.cpu_count() or 1)
    return max(1, min(n, int(chains)))
