"""Simulation-based calibration (Talts et al. 2018) of the hierarchical signup model.

Each replication draws hyperparameters and per-topic ``(mu, kappa)`` of both stages from the
model's own prior (``pm.sample_prior_predictive`` on the model built from
:mod:`priors.signup`, the one declaration), simulates recipients from the model's generative
process (:func:`models.signup.simulate_recipients`: ``p_click ~ Beta``, ``C ~ Binomial(S,
p_click)``, ``p_sc ~ Beta``, ``Y = 1`` iff at least one of the ``C`` clicks signs up), fits NUTS
and records the rank of each true value among ``L`` thinned posterior draws. For a correct
likelihood, posterior and sampler the ranks are uniform on ``0..L``.

One model is compiled for the whole study: the compressed rows live on a fixed grid
(:func:`models.signup.design_grid`, every ``(topic, S, C)`` and ``(topic, C, Y)`` with
``S <= s_max``) whose weights are ``pm.Data``, and one NUTS step object is reused (PyMC resets
its step size and mass matrix adaptation at the start of every ``pm.sample``).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from bayes.calibration import expected_interval_coverage, sbc_rank
from bayes.calibration import sbc_uniformity as _uniformity
from priors.signup import TOPIC_PARAMS

__all__ = ["SBC_QUANTITIES", "expected_interval_coverage", "sbc_ranks", "sbc_uniformity"]

#: scalar quantities ranked per replication: topic 0's four rates, three hyper-means, and the
#: ``p_signup`` of one recipient (picked from the data, see :func:`sbc_ranks`)
SBC_QUANTITIES: tuple[str, ...] = (
    "click_mu",
    "click_kappa",
    "sc_mu",
    "sc_kappa",
    "click_logit_mu_loc",
    "sc_logit_mu_loc",
    "sc_log_kappa_loc",
    "p_signup",
)
_HYPER_VARS = ("click_logit_mu_loc", "sc_logit_mu_loc", "sc_log_kappa_loc")


def _pick_recipient(clicks: np.ndarray, signed: np.ndarray, topic: np.ndarray) -> int:
    """A recipient of topic 0 chosen from the data: the first owner with ``C >= 2`` (where the
    "any signup" posterior is a mixture), else the first owner, else the first with a click,
    else the first. Any choice that is a function of the data keeps the ranks uniform."""
    t0 = topic == 0
    for mask in ((clicks >= 2) & (signed == 1), signed == 1, clicks >= 1, np.ones_like(t0)):
        hit = np.flatnonzero(t0 & mask)
        if len(hit):
            return int(hit[0])
    return 0


def sbc_ranks(
    reps: int = 20,
    *,
    n_topics: int = 3,
    recipients_per_topic: int = 1000,
    sends_mean: float = 4.0,
    s_max: int = 8,
    draws: int = 200,
    tune: int = 300,
    thin: int = 2,
    target_accept: float = 0.95,
    seed: int = 0,
    priors=None,
    progressbar: bool = False,
) -> pd.DataFrame:
    """SBC ranks of :data:`SBC_QUANTITIES` over ``reps`` replications.

    The design is fixed across replications: ``recipients_per_topic`` recipients in each of
    ``n_topics`` topics with ``S = min(1 + Poisson(sends_mean - 1), s_max)`` sends. Per
    replication one chain of ``tune + draws`` NUTS iterations; ranks among ``L = draws // thin``
    thinned draws (``0..L``). Also records the divergences and ``coverage_90``, the share of
    all recipients whose true ``p_signup`` lies in the 90% interval of
    :meth:`models.signup.HierarchicalSignupModel.pair_table` (with ``draws`` posterior draws its
    expectation is ``(q95 - q05 positions) / (draws + 1)``, slightly below 0.9: see
    :func:`expected_interval_coverage`).
    """
    import logging

    import pymc as pm

    from bayes.progress import progress
    from models.signup import (
        CENTERED,
        HierarchicalSignupModel,
        build_model,
        compress,
        design_grid,
        set_design_weights,
        simulate_recipients,
    )

    names = [f"T{t}" for t in range(n_topics)]
    grid = design_grid(names, s_max)
    model = build_model(grid, priors, centered=CENTERED, weights_as_data=True)
    rng = np.random.default_rng(seed)
    topic = np.repeat(np.arange(n_topics), recipients_per_topic)
    sends = np.minimum(1 + rng.poisson(sends_mean - 1, len(topic)), s_max)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prior = pm.sample_prior_predictive(
            draws=reps,
            model=model,
            var_names=[*TOPIC_PARAMS, *_HYPER_VARS],
            random_seed=seed,
            compile_kwargs={"mode": "FAST_COMPILE"},
        ).prior
        step = pm.NUTS(model=model, target_accept=target_accept)
    truth = {k: prior[k].to_numpy()[0] for k in (*TOPIC_PARAMS, *_HYPER_VARS)}
    cats = pd.Categorical.from_codes(topic, names)
    rows = []
    log = logging.getLogger("pymc")
    for r in progress(range(reps), total=reps, desc="SBC", enabled=progressbar):
        one = {k: v[r] for k, v in truth.items()}
        sim = simulate_recipients(
            rng, one["click_mu"], one["click_kappa"], one["sc_mu"], one["sc_kappa"], topic, sends
        )
        pairs = pd.DataFrame(
            {"topic": cats, "sends": sends, "clicks": sim["clicks"], "signed_up": sim["signed_up"]}
        )
        set_design_weights(model, grid, compress(pairs, grid["topics"]))
        level = log.level
        log.setLevel(logging.WARNING)  # else one "Sampling 1 chain ..." line per replication
        try:
            with model, warnings.catch_warnings():
                warnings.simplefilter("ignore")
                idata = pm.sample(
                    draws=draws,
                    tune=tune,
                    chains=1,
                    step=step,
                    random_seed=seed + 1000 + r,
                    progressbar=False,
                    compute_convergence_checks=False,
                )
        finally:
            log.setLevel(level)
        post = idata.posterior
        row = {"rep": r, "divergences": int(idata.sample_stats["diverging"].sum())}
        thinned = {}
        for k in TOPIC_PARAMS:
            thinned[k] = post[k].to_numpy()[0, ::thin]  # (L, topic)
            row[f"{k}_true"] = float(one[k][0])
            row[f"{k}_rank"] = sbc_rank(thinned[k][:, 0], one[k][0])
        for k in _HYPER_VARS:
            x = post[k].to_numpy()[0, ::thin]
            row[f"{k}_true"] = float(one[k])
            row[f"{k}_rank"] = sbc_rank(x, one[k])
        fitted = HierarchicalSignupModel.from_draws(names, thinned)
        i = _pick_recipient(sim["clicks"], sim["signed_up"], topic)
        p_true = sim["p_click"] * sim["p_sc"]
        x = fitted.predict(pairs.iloc[[i]], kind="sample", seed=seed + r)["p_signup"]
        x = x.values.reshape(-1)
        row.update(
            {
                "p_signup_true": float(p_true[i]),
                "p_signup_rank": sbc_rank(x, p_true[i]),
                "p_signup_clicks": int(sim["clicks"][i]),
                "p_signup_signed_up": int(sim["signed_up"][i]),
            }
        )
        full = HierarchicalSignupModel.from_draws(
            names, {k: post[k].to_numpy()[0] for k in TOPIC_PARAMS}
        )
        pred = full.pair_table(pairs, max_draws=draws, seed=seed + r)
        inside = (pred["p_signup_lower_90"].to_numpy() <= p_true) & (
            p_true <= pred["p_signup_upper_90"].to_numpy()
        )
        row["coverage_90"] = float(inside.mean())
        row["L"] = int(thinned["sc_mu"].shape[0])
        rows.append(row)
    return pd.DataFrame(rows)


def sbc_uniformity(ranks: pd.DataFrame, bins: int = 4) -> dict:
    """:func:`bayes.calibration.sbc_uniformity` over :data:`SBC_QUANTITIES`."""
    return _uniformity(ranks, SBC_QUANTITIES, bins)
