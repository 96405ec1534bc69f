"""The video domain's models (seed 000 Part C and §11), by role:

* :mod:`models.video.likelihood` — the pilot likelihood on the declared priors
  (:func:`build_pilot_model`, :func:`set_pilot_data`);
* :mod:`models.video.simulator` — the one prior sampler (:func:`prior_draws`), the per-user
  and exact population simulators, pilot counts;
* :mod:`models.video.estimator` — :class:`VideoPilotModel`, the update on the model contract.
"""

from models.video.estimator import VideoPilotModel, pilot_hash, seed_streams
from models.video.likelihood import (
    ARMS,
    CORE_CAP,
    OBSERVED,
    PilotLayout,
    build_pilot_model,
    pilot_layout,
    set_pilot_data,
)

__all__ = [
    "ARMS",
    "CORE_CAP",
    "OBSERVED",
    "PilotLayout",
    "VideoPilotModel",
    "build_pilot_model",
    "pilot_hash",
    "pilot_layout",
    "seed_streams",
    "set_pilot_data",
]
