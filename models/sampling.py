"""Sampler configuration in one place, and the one function that runs it.

:class:`SamplerConfig` holds every setting of a posterior fit — backend, draws, tune, chains,
target_accept, seed, progress, cores — with one set of defaults for every domain. Every
Bayesian model of :mod:`models` samples through :func:`sample`, which

* runs PyMC's NUTS (default) or, where installed, nutpie or NumPyro (``backend``);
* runs chains on every core (PyMC guesses half the reported CPUs are hyper-threads and runs
  chains one after another on a 2-core machine; ``BAYES_CORES`` overrides, the tests set 1);
* never returns a partial posterior: PyMC swallows ``KeyboardInterrupt`` and returns the draws
  it has, so :func:`sample` records SIGINT/SIGTERM itself and raises
  :class:`SamplingInterrupted` afterwards; a posterior with fewer chains or draws than asked
  raises it too.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import sys
import threading
from dataclasses import dataclass

__all__ = [
    "BACKENDS",
    "SamplerConfig",
    "SamplingInterrupted",
    "available_backends",
    "default_cores",
    "interrupt_guard",
    "progress_enabled",
    "sample",
]

#: NUTS implementations :func:`sample` can use; ``pymc`` is always available
BACKENDS: tuple[str, ...] = ("pymc", "nutpie", "numpyro")
MAX_SEED = 2**32 - 1


class SamplingInterrupted(KeyboardInterrupt):
    """Sampling was stopped (Ctrl-C, SIGTERM) or returned fewer draws than asked for."""


def default_cores(chains: int) -> int:
    """Processes for ``chains`` NUTS chains: ``$BAYES_CORES`` or every CPU, at most ``chains``."""
    env = os.environ.get("BAYES_CORES")
    n = int(env) if env else (os.cpu_count() or 1)
    return max(1, min(n, int(chains)))


def _in_notebook() -> bool:
    ip = sys.modules.get("IPython")
    shell = getattr(ip, "get_ipython", lambda: None)() if ip else None
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def progress_enabled(requested: bool | None = None) -> bool:
    """Show progress? ``requested`` if given; off when ``BAYES_NO_PROGRESS`` is set; else on
    a terminal and in notebooks."""
    if requested is not None:
        return requested
    if os.environ.get("BAYES_NO_PROGRESS"):
        return False
    return sys.stderr.isatty() or _in_notebook()


def available_backends() -> tuple[str, ...]:
    """The backends of :data:`BACKENDS` importable here."""
    import importlib.util

    extra = {"nutpie": "nutpie", "numpyro": "numpyro"}
    return ("pymc",) + tuple(b for b, mod in extra.items() if importlib.util.find_spec(mod))


@dataclass(frozen=True)
class SamplerConfig:
    """How a posterior is sampled. One default for every domain.

    Parameters
    ----------
    backend
        ``"pymc"`` (default), ``"nutpie"`` or ``"numpyro"`` (when installed).
    draws, tune
        Draws kept and tuning steps per chain.
    chains
        Independent chains (4: r̂ and the ESS rule of :mod:`models.diagnostics` need ≥ 2).
    target_accept
        NUTS target acceptance (0.9; raise towards 0.99 when a fit reports divergences).
    seed
        Seed of everything random in the fit (0 ≤ seed < 2³²).
    progress
        Show a progress bar (``None``: on a terminal and in notebooks).
    cores
        Processes for the chains (``None``: :func:`default_cores`).
    """

    backend: str = "pymc"
    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    target_accept: float = 0.9
    seed: int = 0
    progress: bool | None = None
    cores: int | None = None

    def __post_init__(self):
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        for name, lo in (("draws", 1), ("tune", 0), ("chains", 1)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise ValueError(f"{name} must be an integer >= {lo}, got {v!r}")
        if not (0 < float(self.target_accept) < 1):
            raise ValueError(f"target_accept must lie in (0, 1), got {self.target_accept!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"seed must be an integer, got {self.seed!r}")
        if not 0 <= self.seed <= MAX_SEED:
            raise ValueError(f"seed must lie in [0, {MAX_SEED}], got {self.seed}")
        if self.cores is not None and self.cores < 1:
            raise ValueError(f"cores must be >= 1, got {self.cores!r}")

    def replace(self, **changes) -> SamplerConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """The settings that determine the result (progress and cores do not)."""
        d = dataclasses.asdict(self)
        d.pop("progress")
        d.pop("cores")
        return d

    @classmethod
    def from_dict(cls, d: dict) -> SamplerConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in dict(d).items() if k in known})

    def __str__(self) -> str:
        return (
            f"{self.backend} NUTS: {self.chains} chains × {self.draws} draws "
            f"(tune {self.tune}, target_accept {self.target_accept}, seed {self.seed})"
        )


@contextlib.contextmanager
def interrupt_guard():
    """Record SIGINT/SIGTERM while the body runs (PyMC swallows KeyboardInterrupt) and raise
    :class:`SamplingInterrupted` after it. Outside the main thread (e.g. an app worker) signals
    cannot be caught; the draw-count check of :func:`sample` still applies."""
    if threading.current_thread() is not threading.main_thread():
        yield []
        return
    hits: list[int] = []

    def handler(signum, frame):
        hits.append(signum)
        raise KeyboardInterrupt

    old = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for s in old:
        signal.signal(s, handler)
    try:
        yield hits
    except KeyboardInterrupt as exc:
        raise SamplingInterrupted(_signame(hits[0] if hits else signal.SIGINT)) from exc
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    if hits:
        raise SamplingInterrupted(_signame(hits[0]))


def _signame(signum: int) -> str:
    return f"sampling interrupted by {signal.Signals(signum).name}"


def sample(model, config: SamplerConfig | None = None, **pm_kwargs):
    """NUTS on ``model`` with ``config``; returns ``InferenceData`` with posterior and
    sample_stats. ``pm_kwargs`` go to ``pm.sample`` (e.g. ``init="jitter+adapt_full"``).

    Raises
    ------
    SamplingInterrupted
        On SIGINT/SIGTERM during sampling, or when fewer chains/draws came back than asked.
    ValueError
        If the backend is not installed.
    """
    import pymc as pm

    cfg = config or SamplerConfig()
    if cfg.backend not in available_backends():
        raise ValueError(
            f"sampler backend {cfg.backend!r} is not installed here; "
            f"available: {', '.join(available_backends())}"
        )
    kwargs = {
        "draws": cfg.draws,
        "tune": cfg.tune,
        "chains": cfg.chains,
        "cores": cfg.cores or default_cores(cfg.chains),
        "random_seed": cfg.seed,
        "progressbar": progress_enabled(cfg.progress),
        "target_accept": cfg.target_accept,
        "compute_convergence_checks": False,
        "nuts_sampler": cfg.backend,
    }
    if cfg.backend != "pymc":
        kwargs.pop("cores")
        pm_kwargs.pop("init", None)  # nutpie/numpyro adapt their own mass matrix
    if "step" in pm_kwargs:  # a step method built by the caller carries its target_accept
        kwargs.pop("target_accept")
        pm_kwargs.pop("init", None)
    kwargs.update(pm_kwargs)
    with interrupt_guard(), model:
        idata = pm.sample(**kwargs)
    post = idata.posterior
    got = (int(post.sizes.get("chain", 0)), int(post.sizes.get("draw", 0)))
    if got != (cfg.chains, cfg.draws):
        raise SamplingInterrupted(
            f"sampling stopped early: {got[0]} chains × {got[1]} draws of "
            f"{cfg.chains} × {cfg.draws}"
        )
    return idata
