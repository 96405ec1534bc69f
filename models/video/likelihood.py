"""The likelihood of a video pilot (seed 000 §9–§11).

The prior is the single declaration :func:`priors.video.build_video_model`; this module adds
the likelihood of a pilot table (one row per segment × arm, see :mod:`bayes.video.data`).
:class:`models.video.VideoPilotModel` samples it with NUTS.

Likelihood, per pilot row of segment *c* (intention-to-treat, seed §7.1)
-----------------------------------------------------------------------
Let ``n`` be the users of the row, ``a`` its adopters, ``k`` its Core_90d count, ``K`` its
weekly video sessions and ``M`` its weekly video minutes (both summed over adopters).

* Adoption (arms *m* only): ``a ~ Binomial(n, adoption[c, m])`` with α on the standalone
  column (§9). A potential gives α·p > 1 on a pilot arm zero posterior mass (the cap at 1
  of the prior is a flat plateau on which NUTS would get stuck); forward sampling keeps it.
* Core_90d: under §7.1 an adopter is Core with probability ``q₁ = clip(b_c + uplift[c, m], 0,
  0.99)`` and a non-adopter with ``b_c`` (non-adopters are unaffected). Given the adopters we
  use ``k ~ Binomial(n, b_c + (a / n) · (q₁ − b_c))``: its mean is the exact conditional mean
  ``a·q₁ + (n − a)·b_c``; its variance exceeds the exact one (a sum of two binomials) by
  ``a (n − a) / n · (q₁ − b_c)²``, i.e. by a factor ≤ 1 + δ²/(4 b(1−b)) ≈ 1.003 — slightly
  conservative. Control rows (``a = 0``) reduce to ``k ~ Binomial(n, b_c)``.
* Sessions: a sum of ``a`` independent ``Poisson(λ_{c,m})`` is ``K ~ Poisson(a · λ_{c,m})``
  (exact).
* Minutes: ``T_i = S_i · μ_c · exp(ε_i)``, ε ~ Normal(0, σ²) (§7.1, σ = ``minutes_log_sd``).
  Given ``K`` sessions spread over ``a`` adopters the split is multinomial, so
  ``E[Σ S_i² | K, a] = K + K(K − 1)/a`` and

      E[M | K, a] = μ_c · e^{σ²/2} · K,
      Var[M | K, a] = μ_c² · (e^{σ²} − 1) e^{σ²} · (K + K(K − 1)/a),

  both exact; we use a Normal with these moments (central limit over adopters).
  Minutes therefore inform μ only; the session count informs λ.

Sessions and minutes are optional: rows without them contribute only the two binomials.
Observed counts are ``pm.Data`` so a compiled model can be refitted on new pilots of the same
layout with :func:`set_pilot_data` (simulation-based calibration, recovery studies).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from priors.segments import SEGMENT_KEYS
from priors.spec import PriorSet
from priors.video import MODES, VideoPriors, build_video_model, standalone_multipliers

__all__ = [
    "ARMS",
    "CORE_CAP",
    "OBSERVED",
    "PilotLayout",
    "build_pilot_model",
    "pilot_layout",
    "row_log_likelihood",
    "set_pilot_data",
]

#: arms of a pilot: the control plus the two modes of :data:`priors.video.MODES`
ARMS: tuple[str, ...] = ("control", *MODES)

#: Core_90d probability of an adopter is clipped into [0, CORE_CAP] (seed §7.1)
CORE_CAP = 0.99
_EPS = 1e-9
#: observed variables and the row dim each lives on
OBSERVED: dict[str, str] = {
    "core": "pilot_row",
    "adopters": "arm_row",
    "sessions_7d": "usage_row",
    "minutes_7d": "usage_row",
}


@dataclass(frozen=True)
class PilotLayout:
    """Which rows a pilot has (the fixed structure of the compiled model).

    ``rows`` are labels ``"segment:arm"``; ``seg``/``mode`` are integer indices into
    :data:`SEGMENT_KEYS` / :data:`MODES` (``mode`` is 0 for control rows, whose adoption share
    is 0 so the mode never matters); ``arm_rows`` index the non-control rows and ``usage_rows``
    the rows with sessions (and minutes) observed.
    """

    rows: tuple[str, ...]
    seg: np.ndarray
    mode: np.ndarray
    arm_rows: np.ndarray
    usage_rows: np.ndarray
    has_minutes: bool

    @property
    def arm_labels(self) -> list[str]:
        return [self.rows[i] for i in self.arm_rows]

    @property
    def usage_labels(self) -> list[str]:
        return [self.rows[i] for i in self.usage_rows]


def pilot_layout(pilot: pd.DataFrame) -> PilotLayout:
    """Row structure of a validated pilot table (see :func:`bayes.video.data.validate_pilot`)."""
    seg_pos = {s: i for i, s in enumerate(SEGMENT_KEYS)}
    seg = pilot["segment"].map(seg_pos).to_numpy()
    arm = pilot["arm"].to_numpy()
    if np.isnan(seg.astype(float)).any() or not np.isin(arm, ARMS).all():
        raise ValueError("pilot table has unknown segments or arms; validate it first")
    is_arm = arm != "control"
    mode = np.array([MODES.index(a) if a != "control" else 0 for a in arm], dtype=int)
    sessions = pilot.get("video_sessions_7d")
    minutes = pilot.get("video_minutes_7d")
    has_sessions = (
        np.zeros(len(pilot), bool) if sessions is None else sessions.notna().to_numpy() & is_arm
    )
    has_minutes = minutes is not None and bool(minutes[has_sessions].notna().all())
    if minutes is not None and minutes.notna().any() and not has_minutes:
        raise ValueError("video_minutes_7d must be given on every row with video_sessions_7d")
    rows = tuple(f"{s}:{a}" for s, a in zip(pilot["segment"], arm, strict=True))
    return PilotLayout(
        rows=rows,
        seg=seg.astype(int),
        mode=mode,
        arm_rows=np.flatnonzero(is_arm),
        usage_rows=np.flatnonzero(has_sessions),
        has_minutes=bool(has_minutes and has_sessions.any()),
    )


def _observed(pilot: pd.DataFrame, layout: PilotLayout) -> dict[str, np.ndarray]:
    users = pilot["users"].to_numpy(dtype=np.int64)
    adopters = pilot["adopters"].to_numpy(dtype=np.int64)
    out = {
        "users": users,
        "adoption_share": adopters / users,
        "core_obs": pilot["core_90d"].to_numpy(dtype=np.int64),
        "arm_users": users[layout.arm_rows],
        "adopters_obs": adopters[layout.arm_rows],
    }
    if len(layout.usage_rows):
        u = layout.usage_rows
        out["usage_adopters"] = adopters[u]
        out["sessions_obs"] = pilot["video_sessions_7d"].to_numpy()[u].astype(np.int64)
        if layout.has_minutes:
            out["minutes_obs"] = pilot["video_minutes_7d"].to_numpy()[u].astype(float)
    return out


def build_pilot_model(
    pilot: pd.DataFrame,
    priors: VideoPriors | PriorSet | None = None,
    *,
    minutes_log_sd: float | None = None,
):
    """The prior model :func:`priors.video.build_video_model` plus the pilot likelihood.

    Parameters
    ----------
    pilot
        A validated pilot table (:func:`bayes.video.data.validate_pilot`): columns
        ``segment``, ``arm``, ``users``, ``adopters``, ``core_90d`` and optionally
        ``video_sessions_7d``, ``video_minutes_7d``. Any subset of segments may appear.
    priors
        The declaration (default :class:`VideoPriors`), or its :class:`PriorSet`; at least one
        entry must be random (a point prior has nothing to update).
    minutes_log_sd
        σ of the minutes noise (default: ``priors.minutes_log_sd``, 0.5).

    Returns
    -------
    pymc.Model
        Observed variables ``core[pilot_row]``, ``adopters[arm_row]`` and, when usage is
        given, ``sessions_7d[usage_row]`` and ``minutes_7d[usage_row]`` (see the module
        docstring for the likelihood).
    """
    import pymc as pm
    import pytensor.tensor as pt

    priors = VideoPriors() if priors is None else priors
    if minutes_log_sd is None:
        minutes_log_sd = getattr(priors, "minutes_log_sd", VideoPriors.minutes_log_sd)
    ps = priors.declarations() if isinstance(priors, VideoPriors) else priors
    if all(p.dist == "Point" for p in ps.values()):
        raise ValueError("cannot update a point prior: every quantity is fixed")
    layout = pilot_layout(pilot)
    obs = _observed(pilot, layout)
    coords = {
        "segment": list(SEGMENT_KEYS),
        "mode": list(MODES),
        "pilot_row": list(layout.rows),
        "arm_row": layout.arm_labels,
    }
    if len(layout.usage_rows):
        coords["usage_row"] = layout.usage_labels
    model = pm.Model(coords=coords)
    build_video_model(ps, model=model)
    with model:
        users = pm.Data("users", obs["users"], dims="pilot_row")
        share = pm.Data("adoption_share", obs["adoption_share"], dims="pilot_row")
        b = model["baseline"][layout.seg]
        q1 = pt.clip(b + model["uplift"][layout.seg, layout.mode], 0.0, CORE_CAP)
        rate = pt.clip(b + share * (q1 - b), _EPS, 1 - _EPS)
        pm.Binomial(
            "core",
            n=users,
            p=rate,
            observed=pm.Data("core_obs", obs["core_obs"], dims="pilot_row"),
            dims="pilot_row",
        )
        ai = layout.arm_rows
        arm_users = pm.Data("arm_users", obs["arm_users"], dims="arm_row")
        # The ``adoption`` Deterministic caps α·p at 1: a flat plateau of tiny likelihood on
        # which NUTS gets stuck (every step off it is a huge energy change, flagged divergent).
        # The potential makes α·p > 1 on a pilot arm impossible instead (no posterior mass
        # there anyway unless every user adopted); forward sampling keeps the cap.
        # α·p of each arm row: the one transform's multipliers [1, α] (taken on p = 1), by row
        mult, _ = standalone_multipliers(
            pt.ones((1, len(MODES))), pt.zeros((1, len(MODES))), model["alpha"], 1.0, cap=False
        )
        raw = model["p_adopt"][layout.seg[ai], layout.mode[ai]] * mult[0, layout.mode[ai]]
        pm.Potential("adoption_cap", pt.switch(pt.any(raw > 1.0), -np.inf, 0.0))
        p_arm = pt.clip(raw, _EPS, 1 - _EPS)
        pm.Binomial(
            "adopters",
            n=arm_users,
            p=p_arm,
            observed=pm.Data("adopters_obs", obs["adopters_obs"], dims="arm_row"),
            dims="arm_row",
        )
        if len(layout.usage_rows):
            u = layout.usage_rows
            n_adopt = pm.Data("usage_adopters", obs["usage_adopters"], dims="usage_row")
            lam = model["sessions"][layout.seg[u], layout.mode[u]]
            sessions_obs = pm.Data("sessions_obs", obs["sessions_obs"], dims="usage_row")
            pm.Poisson("sessions_7d", mu=n_adopt * lam, observed=sessions_obs, dims="usage_row")
            if layout.has_minutes:
                s2 = float(minutes_log_sd) ** 2
                mu_c = model["minutes"][layout.seg[u]]
                k = pt.cast(sessions_obs, "float64")
                second = k + k * (k - 1) / pt.maximum(pt.cast(n_adopt, "float64"), 1.0)
                pm.Normal(
                    "minutes_7d",
                    mu=mu_c * np.exp(s2 / 2) * k,
                    sigma=mu_c * pt.sqrt(np.expm1(s2) * np.exp(s2) * second) + 1e-6,
                    observed=pm.Data("minutes_obs", obs["minutes_obs"], dims="usage_row"),
                    dims="usage_row",
                )
    model.pilot_layout = layout
    return model


def set_pilot_data(model, pilot: pd.DataFrame) -> None:
    """Swap in the counts of another pilot with the same layout (no recompilation)."""
    import pymc as pm

    layout = pilot_layout(pilot)
    if layout.rows != model.pilot_layout.rows or list(layout.usage_rows) != list(
        model.pilot_layout.usage_rows
    ):
        raise ValueError("the new pilot has a different row layout; build a new model")
    obs = _observed(pilot, layout)
    names = [n for n in obs if n in model.named_vars]
    with model:
        pm.set_data({n: obs[n] for n in names})


def row_log_likelihood(log_lik, layout: PilotLayout):
    """Pointwise log-likelihood per pilot row: each row's Core count plus, on arm rows, its
    adopters and, on usage rows, its sessions and minutes (the row is the unit of the data).

    ``log_lik`` is the ``log_likelihood`` Dataset of the observed variables
    (``pm.compute_log_likelihood``); returns a DataArray with dims ``chain, draw, pilot_row``,
    so that ``az.loo`` leaves out one pilot row at a time.
    """
    total = log_lik["core"].copy()
    values = total.values
    for name, rows in (
        ("adopters", layout.arm_rows),
        ("sessions_7d", layout.usage_rows),
        ("minutes_7d", layout.usage_rows),
    ):
        if name in log_lik:
            values[:, :, rows] += log_lik[name].values
    total.values = values
    total.name = "pilot"
    return total
