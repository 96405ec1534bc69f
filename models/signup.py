"""Customer 360 signup probability (seed 003): the seed's empirical Bayes and the hierarchical
beta-binomial beside it. The §2 counting rules that turn event logs into the per-(email, topic)
counts these estimators see live in :mod:`bayes.signup.counting` (the data layer).

Layout
------
* §3 topic priors: :func:`topic_priors`; §4-§5 smoothing: :func:`eb_rate`, :func:`eb_scores`.
* Hierarchical beta-binomial: two stages of the general grouped-binomial estimator
  (:mod:`models.rates`) over topics — click per send (binomial) and signup given click
  (``"any"``: at least one signup among the clicks, or ``"binomial"``) — composed by
  :func:`build_model` on the compressed rows of :func:`compress`, and the estimator
  :class:`HierarchicalSignupModel` on the model contract (``fit`` / ``predict`` /
  ``pair_table`` / ``expected_signups_draws`` / ``save`` / ``load``). Per-recipient posteriors
  are the closed forms of :mod:`models.rates`; :func:`simulate_recipients` and
  :func:`simulate_summaries` are the generative simulators (the likelihood is a weighted
  ``pm.Potential`` on compressed rows, which has no generative form of its own).

Everything is vectorised over events, pairs and posterior draws; no per-row Python loops.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import pandas as pd
import xarray as xr

from models.base import BayesianModel
from models.rates import (
    CountsError,
    add_rates_likelihood,
    check_counts,
    choose_centering,
    observed_totals,
    posterior_moment,
    prior_predictive,
    sample_posterior,
    simulate_totals,
)
from models.summaries import SAMPLE_DIMS
from priors.rates import HYPER_PARAMS, check_scales
from priors.signup import SIGNUP_PRIORS, STAGES, TOPIC_PARAMS, topic_rate_variables
from priors.spec import PriorSet, interval_names

__all__ = [
    "CENTERED",
    "DEFAULT_ALPHA",
    "PRIOR_CLAMP",
    "SIGNUP_LIKELIHOODS",
    "HierarchicalSignupModel",
    "build_model",
    "check_pair_counts",
    "compress",
    "consistent_counts",
    "design_grid",
    "eb_rate",
    "eb_scores",
    "posterior_rate_mean",
    "prior_predictive_table",
    "set_design_weights",
    "simulate_recipients",
    "simulate_summaries",
    "topic_priors",
]

#: seed §3/§7: topic priors are clamped to [1e-4, 0.9]
PRIOR_CLAMP: tuple[float, float] = (1e-4, 0.9)
#: seed §4/§7: alpha_C = alpha_SC = 2
DEFAULT_ALPHA: float = 2.0
#: signup-stage likelihoods of the hierarchical model: ``"any"`` (``Y = 1`` iff at least one of
#: the ``C`` clicks signed up — what ``Y`` means after the seed's 0/1 collapse; default) and
#: ``"binomial"`` (``Y`` successes out of ``C`` clicks — the seed's §4 convention)
SIGNUP_LIKELIHOODS: tuple[str, ...] = ("any", "binomial")


def _check_likelihood(signup_likelihood: str) -> str:
    if signup_likelihood not in SIGNUP_LIKELIHOODS:
        raise ValueError(
            f"signup_likelihood must be one of {SIGNUP_LIKELIHOODS}, got {signup_likelihood!r}"
        )
    return signup_likelihood


# ----------------------------------------------------------------------------- §3-§5 EB


def topic_priors(pairs: pd.DataFrame, *, clamp: tuple[float, float] = PRIOR_CLAMP) -> pd.DataFrame:
    """Seed §3: ``p0_click = unique clicks / unique sends`` and ``p0_sc = unique signups /
    unique clicks`` per topic, the signup numerator being the union over sources (each
    ``(email, topic)`` counted once), both clamped to ``[1e-4, 0.9]``.

    A topic with no sends (or no clicks) gets the lower clamp.
    """
    topic = pairs["topic"]
    cats = topic.cat.categories if hasattr(topic, "cat") else pd.Index(pd.unique(topic))
    t = topic.cat.codes.to_numpy() if hasattr(topic, "cat") else cats.get_indexer(topic)
    t = t.astype(np.intp, copy=False)  # (bincount would widen 8-bit codes on every call)
    n_t = len(cats)
    sends = np.bincount(t, weights=pairs["sends"].to_numpy(), minlength=n_t)
    clicks = np.bincount(t, weights=pairs["clicks"].to_numpy(), minlength=n_t)
    signups = np.bincount(t, weights=pairs["signed_up"].to_numpy(), minlength=n_t)
    lo, hi = clamp
    with np.errstate(divide="ignore", invalid="ignore"):
        p0c = np.where(sends > 0, clicks / np.maximum(sends, 1), 0.0)
        p0s = np.where(clicks > 0, signups / np.maximum(clicks, 1), 0.0)
    return pd.DataFrame(
        {
            "topic": cats,
            "recipients": np.bincount(t, minlength=n_t),
            "sends": sends.astype(np.int64),
            "clicks": clicks.astype(np.int64),
            "signups": signups.astype(np.int64),
            "p0_click": np.clip(p0c, lo, hi),
            "p0_sc": np.clip(p0s, lo, hi),
        }
    )


def eb_rate(successes, trials, prior, alpha: float = DEFAULT_ALPHA):
    """Seed §4: the empirical-Bayes shrinkage ``(k + alpha * p0) / (n + alpha)``.

    With ``k = C, n = S`` this is ``p_click``; with ``k = Y, n = C`` it is ``p_sc``. It is the
    posterior mean of a ``Beta(alpha * p0, alpha * (1 - p0))`` prior after ``k`` successes in
    ``n`` trials, i.e. :func:`posterior_rate_mean` with ``mu = p0``, ``kappa = alpha``.
    """
    k, n, p0 = np.asarray(successes), np.asarray(trials), np.asarray(prior, dtype=float)
    out = np.empty(np.broadcast_shapes(k.shape, n.shape, p0.shape))  # (in place: at 17M
    np.multiply(alpha, p0, out=out)  # pairs each temporary array costs ~0.1 s)
    out += k
    out /= np.add(n, alpha, dtype=float)
    return out if out.ndim else out[()]


#: rows per block of :func:`eb_scores`: a block's temporaries stay in the CPU cache
EB_BLOCK = 1 << 16


def eb_scores(
    pairs: pd.DataFrame,
    priors: pd.DataFrame,
    *,
    alpha_c: float = DEFAULT_ALPHA,
    alpha_sc: float = DEFAULT_ALPHA,
) -> pd.DataFrame:
    """Seed §4-§5: ``p_click``, ``p_signup_given_click`` and ``p_signup = p_click * p_sc`` for
    every pair: a new frame with the three columns added (``pairs`` is not modified; the new
    frame shares its columns' memory — 17M pairs at 100M events are ~0.7 GB).

    :func:`eb_rate` runs on blocks of :data:`EB_BLOCK` rows, the blocks on two threads (numpy
    leaves the GIL): whole columns would allocate a new array per temporary, whose first
    touch costs more than the arithmetic (17.3M pairs: 0.71 → 0.38 s); the values are the
    same."""
    from concurrent.futures import ThreadPoolExecutor

    pr = priors.set_index("topic")
    topic = pairs["topic"]
    if isinstance(topic.dtype, pd.CategoricalDtype):  # per category, then by code: no objects
        codes, cats = topic.cat.codes.to_numpy(), topic.cat.categories.astype(object)
    else:
        cats = pd.Index(pd.unique(topic.to_numpy(dtype=object)))
        codes = cats.get_indexer(topic.to_numpy(dtype=object))
    by_cat = pr.reindex(cats)  # (a topic without a prior, or a missing one: NaN, code -1)
    p0c = np.append(by_cat["p0_click"].to_numpy(float), np.nan)
    p0s = np.append(by_cat["p0_sc"].to_numpy(float), np.nan)
    sends, clicks, signed = (pairs[c].to_numpy() for c in ("sends", "clicks", "signed_up"))
    n = len(pairs)
    p_click, p_sc, p_signup = np.empty(n), np.empty(n), np.empty(n)

    def score(start: int) -> None:
        b = slice(start, start + EB_BLOCK)
        k = codes[b]
        p_click[b] = eb_rate(clicks[b], sends[b], p0c[k], alpha_c)
        p_sc[b] = eb_rate(signed[b], clicks[b], p0s[k], alpha_sc)
        np.multiply(p_click[b], p_sc[b], out=p_signup[b])

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(score, range(0, n, EB_BLOCK)))
    out = pairs.copy(deep=False)
    out["p_click"], out["p_signup_given_click"], out["p_signup"] = p_click, p_sc, p_signup
    return out


# ----------------------------------------------------------------------------- hierarchical


def posterior_rate_mean(successes, trials, mu, kappa):
    """Posterior mean of a recipient's rate under ``p ~ Beta(mu*kappa, (1-mu)*kappa)`` after
    ``k`` successes in ``n`` trials: ``(k + kappa*mu) / (n + kappa)`` (conjugacy). Broadcasts,
    so ``mu``/``kappa`` may carry a leading draw axis."""
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    return (k + np.asarray(kappa) * np.asarray(mu)) / (n + np.asarray(kappa))


def check_pair_counts(pairs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(sends, clicks, signed_up)`` as integer arrays, refusing impossible counts with
    :class:`models.rates.CountsError` naming the column and the rows: missing, negative or
    non-integer counts, ``clicks > sends`` (a click needs a send) and ``signed_up`` other than
    0/1. A signup without a click is possible (an owner from the signups table)."""
    c, s = check_counts(pairs["clicks"], pairs["sends"], names=("clicks", "sends"))
    y, _ = check_counts(pairs["signed_up"], pairs["signed_up"], names=("signed_up", "signed_up"))
    if (y > 1).any():
        raise CountsError(
            "signed_up must be 0 or 1", column="signed_up", rows=np.flatnonzero(y > 1)[:50]
        )
    return s, c, y


def consistent_counts(
    pairs: pd.DataFrame, signup_likelihood: str = "any"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated counts (:func:`check_pair_counts`) as the signup-stage likelihood sees them:

    * ``"binomial"``: ``C' = max(C, Y)`` — a signup without a logged click implies a click;
    * ``"any"``: ``C' = C`` — a signup without any logged click cannot be "a signup among the
      clicks" (e.g. an organic owner in the signups table); it is left out of the signup-stage
      likelihood (:func:`compress` keeps ``C >= 1`` only) and its ``p_sc`` posterior is the
      topic's Beta.

    The seed-exact EB path uses the raw counts.
    """
    _check_likelihood(signup_likelihood)
    s, c, y = check_pair_counts(pairs)
    if signup_likelihood == "binomial":
        c = np.maximum(c, y)
    return s, c, y


def _topic_codes(pairs: pd.DataFrame, topics: pd.Index) -> np.ndarray:
    t = topics.get_indexer(pairs["topic"].astype(object))
    if (t < 0).any():
        bad = pd.unique(pairs["topic"].astype(object)[t < 0])[:5]
        raise ValueError(f"topic(s) {list(bad)} not in the fitted model")
    return t


def compress(
    pairs: pd.DataFrame, topics: pd.Index | None = None, *, signup_likelihood: str = "any"
) -> dict:
    """Sufficient statistics of the two stages: unique ``(topic, S, C)`` rows with counts (pairs
    with ``S >= 1``) and unique ``(topic, C, Y)`` rows with counts (``C >= 1``), on
    :func:`consistent_counts` for ``signup_likelihood`` (recorded in the result)."""
    if topics is None:
        topics = pd.Index(pairs["topic"].cat.categories, dtype=object)
    keep = pairs["sends"].to_numpy() >= 1
    p = pairs[keep]
    t = _topic_codes(p, topics)
    s, c, y = consistent_counts(p, signup_likelihood)
    click = (
        pd.DataFrame({"topic": t, "sends": s, "clicks": c})
        .value_counts()
        .rename("weight")
        .reset_index()
        .sort_values(["topic", "sends", "clicks"], ignore_index=True)
    )
    has_click = c >= 1
    sc = (
        pd.DataFrame({"topic": t[has_click], "clicks": c[has_click], "signed_up": y[has_click]})
        .value_counts()
        .rename("weight")
        .reset_index()
        .sort_values(["topic", "clicks", "signed_up"], ignore_index=True)
    )
    return {
        "topics": topics,
        "click": click,
        "sc": sc,
        "n_pairs": int(keep.sum()),
        "n_repaired": int((c != p["clicks"].to_numpy()).sum()),
        "n_signup_without_click": int(((c == 0) & (y == 1)).sum()),
        "signup_likelihood": signup_likelihood,
    }


#: the stage columns ``(successes, trials)`` of the compressed rows
_STAGE_COLUMNS = {"click": ("clicks", "sends"), "sc": ("signed_up", "clicks")}

#: the parameterisation of the calibration study (:mod:`bayes.signup.calibration`, small
#: data on a fixed design): topic means centred, concentrations non-centred. Fits choose per
#: stage from the data (:func:`models.rates.choose_centering`)
CENTERED: dict[str, dict] = {
    "click": {"logit_mu": True, "log_kappa": False},
    "sc": {"logit_mu": True, "log_kappa": False},
}


def _stage_likelihood(stage: str, signup_likelihood: str) -> str:
    return "binomial" if stage == "click" else signup_likelihood


def build_model(
    stats: dict,
    priors: Mapping | None = None,
    *,
    centered: dict | None = None,
    weights_as_data: bool = False,
):
    """The hierarchical model on compressed rows: two hierarchies of the grouped-binomial
    estimator (:func:`priors.rates.group_rate_variables` and
    :func:`models.rates.add_rates_likelihood`) over ``topic``.

    Stage ``click``: ``C_i | S_i ~ BetaBinomial(S_i, mu_t kappa_t, (1-mu_t) kappa_t)``; stage
    ``sc`` with ``stats["signup_likelihood"]``:

    * ``"any"`` (default): ``P(Y_i = 0 | C_i) = B(a, b + C_i) / B(a, b)``, ``P(Y_i = 1 | C_i) =
      1 - that`` — ``Y`` is "at least one signup among the clicks";
    * ``"binomial"``: ``Y_i | C_i ~ BetaBinomial(C_i, a, b)`` (the seed's convention, §4).

    The recipient-level rates are integrated out; each unique row contributes
    ``weight * logp``. ``centered`` (``{stage: {"logit_mu": bool, "log_kappa": bool}}``) fixes
    the parameterisation; by default each stage's is chosen from its rows
    (:func:`models.rates.choose_centering`). ``weights_as_data=True`` holds the row weights in ``pm.Data``
    (``click_weight``, ``sc_weight``, dims ``click_row``/``sc_row``) so that one compiled model
    takes another data set on the same rows (:func:`design_grid`, :func:`set_design_weights`;
    used by the simulation-based calibration).
    """
    import pymc as pm

    priors = SIGNUP_PRIORS if priors is None else priors
    topics = stats["topics"]
    coords = {"topic": list(map(str, topics))}
    if weights_as_data:
        coords.update({f"{st}_row": np.arange(len(stats[st])) for st in STAGES})
    lik = stats.get("signup_likelihood", "any")
    with pm.Model(coords=coords) as model:
        for stage in STAGES:
            rows = stats[stage]
            stage_lik = _stage_likelihood(stage, lik)
            c = (centered or {}).get(stage) or choose_centering(
                _stage_rows(stats, stage), len(topics), stage_lik
            )
            mu, kappa = topic_rate_variables(stage, priors, centered=c, n_topics=len(topics))
            if len(rows) == 0:
                continue
            k_col, n_col = _STAGE_COLUMNS[stage]
            w = rows["weight"].to_numpy(float)
            if weights_as_data:
                w = pm.Data(f"{stage}_weight", w, dims=f"{stage}_row")
            add_rates_likelihood(
                f"{stage}_loglik",
                rows["topic"],
                rows[k_col],
                rows[n_col],
                w,
                mu,
                kappa,
                stage_lik,
            )
    return model


def design_grid(topics, s_max: int, signup_likelihood: str = "any") -> dict:
    """Every row the compressed statistics can have when ``1 <= S <= s_max``: ``(topic, S, C)``
    for ``0 <= C <= S`` and ``(topic, C, Y)`` for ``1 <= C <= s_max``, ``Y`` in {0, 1}, all with
    weight 0 — the fixed layout of a model built with ``weights_as_data=True``."""
    _check_likelihood(signup_likelihood)
    topics = pd.Index(list(topics), dtype=object)
    n_t = len(topics)
    s_c = np.array([(s, c) for s in range(1, s_max + 1) for c in range(s + 1)], np.int64)
    c_y = np.array([(c, y) for c in range(1, s_max + 1) for y in (0, 1)], np.int64)
    click = pd.DataFrame(
        {
            "topic": np.repeat(np.arange(n_t), len(s_c)),
            "sends": np.tile(s_c[:, 0], n_t),
            "clicks": np.tile(s_c[:, 1], n_t),
            "weight": 0,
        }
    )
    sc = pd.DataFrame(
        {
            "topic": np.repeat(np.arange(n_t), len(c_y)),
            "clicks": np.tile(c_y[:, 0], n_t),
            "signed_up": np.tile(c_y[:, 1], n_t),
            "weight": 0,
        }
    )
    return {
        "topics": topics,
        "click": click,
        "sc": sc,
        "n_pairs": 0,
        "n_repaired": 0,
        "n_signup_without_click": 0,
        "signup_likelihood": signup_likelihood,
        "s_max": int(s_max),
    }


def set_design_weights(model, grid: dict, stats: dict) -> None:
    """Put the weights of compressed ``stats`` (:func:`compress`) on the rows of ``grid``
    (:func:`design_grid`) into a model built on ``grid`` with ``weights_as_data=True``.

    Raises ``ValueError`` when ``stats`` has a row outside the grid (``S > s_max``)."""
    import pymc as pm

    keys = {"click": ["topic", "sends", "clicks"], "sc": ["topic", "clicks", "signed_up"]}
    new = {}
    for stage, cols in keys.items():
        g = grid[stage][cols].merge(stats[stage], on=cols, how="left", validate="one_to_one")
        w = g["weight"].fillna(0).to_numpy(float)
        if w.sum() != stats[stage]["weight"].sum():
            raise ValueError(f"{stage} rows outside the design grid (sends > {grid['s_max']})")
        new[f"{stage}_weight"] = w
    pm.set_data(new, model=model)


def simulate_recipients(
    rng: np.random.Generator,
    mu_c,
    kappa_c,
    mu_s,
    kappa_s,
    topic: np.ndarray,
    sends: np.ndarray,
) -> dict:
    """Generative form of the model, one recipient per row: ``p_click ~ Beta``, ``C ~
    Binomial(S, p_click)``, ``p_sc ~ Beta``, ``Y = 1[Binomial(C, p_sc) >= 1]``. ``mu_*``/``kappa_*``
    are per-topic arrays. Returns the true rates and the simulated counts."""
    topic = np.asarray(topic)
    sends = np.asarray(sends, dtype=np.int64)
    mc, kc = np.asarray(mu_c)[topic], np.asarray(kappa_c)[topic]
    ms, ks = np.asarray(mu_s)[topic], np.asarray(kappa_s)[topic]
    p_click = rng.beta(mc * kc, (1 - mc) * kc)
    p_sc = rng.beta(ms * ks, (1 - ms) * ks)
    clicks = rng.binomial(sends, p_click)
    signed = (rng.binomial(clicks, p_sc) >= 1).astype(np.int64)
    return {"p_click": p_click, "p_sc": p_sc, "clicks": clicks, "signed_up": signed}


def simulate_summaries(
    rng: np.random.Generator, mu_c, kappa_c, mu_s, kappa_s, stats: dict
) -> dict[str, np.ndarray]:
    """Predictive per-topic summaries for the compressed design, one row per draw.

    ``mu_*``/``kappa_*`` are ``(draws, topic)``. For every unique ``(topic, S)`` group of ``n``
    recipients the click histogram is ``Multinomial(n, BetaBinomial(.|S))``; for every
    ``(topic, C)`` group the number of signed-up recipients is ``Binomial(m, 1 - BB(0|C))``
    (:func:`models.rates.simulate_totals`). Returns ``total_clicks``, ``zero_click_share`` and
    ``signed_up`` with shape ``(draws, topic)`` — the quantities the observed data are compared
    with.
    """
    n_t = len(stats["topics"])
    click = simulate_totals(rng, mu_c, kappa_c, _stage_rows(stats, "click"), n_t, "binomial")
    sc = simulate_totals(rng, mu_s, kappa_s, _stage_rows(stats, "sc"), n_t, "any")
    return {
        "total_clicks": click["successes"],
        "zero_click_share": click["zero_share"],
        "signed_up": sc["successes"],
    }


def _stage_rows(stats: dict, stage: str) -> pd.DataFrame:
    """A stage's compressed rows with the generic ``group, successes, trials, weight`` names."""
    k_col, n_col = _STAGE_COLUMNS[stage]
    rows = stats[stage]
    return pd.DataFrame(
        {
            "group": rows["topic"].to_numpy(np.int64),
            "successes": rows[k_col].to_numpy(np.int64),
            "trials": rows[n_col].to_numpy(np.int64),
            "weight": rows["weight"].to_numpy(np.int64),
        }
    )


def _observed_summaries(stats: dict) -> dict[str, np.ndarray]:
    n_t = len(stats["topics"])
    click = observed_totals(_stage_rows(stats, "click"), n_t)
    sc = observed_totals(_stage_rows(stats, "sc"), n_t)
    return {
        "total_clicks": click["successes"],
        "zero_click_share": click["zero_share"],
        "signed_up": sc["successes"],
    }


def prior_predictive_table(
    priors: Mapping | None = None, *, n_draws: int = 4000, seed: int = 0, prob: float = 0.9
) -> pd.DataFrame:
    """The headline before any data: per topic, the click rate ``mu_click``, the signup rate
    given a click ``mu_sc``, their product — the **expected signups per send** of a topic —
    and one recipient's ``p_signup = p_click * p_sc``, drawn from the declared hyperpriors
    (NumPy; :func:`models.rates.prior_predictive`). Columns ``quantity, mean, median,
    lower_90, upper_90``."""
    from models.summaries import interval_dict

    priors = SIGNUP_PRIORS if priors is None else priors
    click = prior_predictive(priors, prefix="click_", n_draws=n_draws, seed=seed)
    sc = prior_predictive(priors, prefix="sc_", n_draws=n_draws, seed=seed + 1)
    draws = {
        "click rate of a topic (mu_click)": click["mu"],
        "signup rate given a click of a topic (mu_sc)": sc["mu"],
        "expected signups per send of a topic (mu_click * mu_sc)": click["mu"] * sc["mu"],
        "a recipient's p_signup (p_click * p_sc)": click["p"] * sc["p"],
        "concentration of clicks (kappa_click)": click["kappa"],
        "concentration of signups (kappa_sc)": sc["kappa"],
    }
    return pd.DataFrame([{"quantity": k, **interval_dict(v, prob)} for k, v in draws.items()]).drop(
        columns="sd"
    )


class HierarchicalSignupModel(BayesianModel):
    """Hierarchical beta-binomial for click-per-send and signup-given-click (design card), on
    the model contract (:mod:`models.base`).

    Parameters
    ----------
    priors : PriorSet or mapping, optional
        Hyperpriors (default :data:`priors.signup.SIGNUP_PRIORS`; a mapping overrides entries).
    sampler : SamplerConfig or dict, optional
        NUTS settings (:class:`models.sampling.SamplerConfig`: 4 chains × 1000 by default).
    signup_likelihood : {"any", "binomial"}
        Signup stage: ``"any"`` (default) models the seed's 0/1 ``Y`` as "at least one signup
        among the ``C`` clicks"; ``"binomial"`` counts ``Y`` successes out of ``C`` clicks (the
        seed's §4 convention, of which the EB estimator is the ``kappa = 2`` case).
    predictive_draws : int
        Draws used for the prior/posterior predictive per-topic summaries.

    ``fit(pairs)`` takes the per-(email, topic) counts (``topic, sends, clicks, signed_up``);
    :meth:`predict` returns per-draw rates ``(chain, draw, pair)``; :meth:`pair_table` the
    per-recipient table (exact posterior means, 90% intervals of ``p_signup``).
    """

    domain: ClassVar[str] = "signup"
    entity: ClassVar[str] = "pair"

    def __init__(
        self,
        priors: PriorSet | Mapping | None = None,
        sampler=None,
        *,
        signup_likelihood: str = "any",
        predictive_draws: int = 200,
    ):
        super().__init__(priors=priors, sampler=sampler)
        self.signup_likelihood = signup_likelihood
        self.predictive_draws = predictive_draws

    @classmethod
    def default_priors(cls) -> PriorSet:
        return SIGNUP_PRIORS

    # ---------------------------------------------------------------- fit
    def fit(self, pairs: pd.DataFrame, *, source=None):
        """NUTS on the compressed sufficient statistics of ``pairs`` (from
        :func:`bayes.signup.counting.count_pairs`); impossible counts raise
        :class:`models.rates.CountsError` naming the rows."""
        extra = {"signup_likelihood": self.signup_likelihood}
        return super().fit(pairs, source=source, extra_attrs=extra)

    def _prepare(self, pairs: pd.DataFrame) -> dict:
        _check_likelihood(self.signup_likelihood)
        for stage in STAGES:
            check_scales(self.priors_, f"{stage}_")
        if "topic" not in pairs.columns:
            raise CountsError(f"missing column(s) ['topic']; found {list(pairs.columns)}")
        topic = pairs["topic"].astype(str).astype("category")
        topics = pd.Index(list(topic.cat.categories), dtype=object)
        stats = compress(
            pairs.assign(topic=topic), topics, signup_likelihood=self.signup_likelihood
        )
        if stats["n_pairs"] == 0:
            raise CountsError("no (email, topic) pair with at least one send to fit on")
        s, c, y = check_pair_counts(pairs)
        stats["pairs"] = {
            "topic": topic.cat.codes.to_numpy(np.int32),
            "sends": s.astype(np.int32),
            "clicks": c.astype(np.int32),
            "signed_up": y.astype(np.int8),
        }
        return stats

    def _data_hash(self, stats: dict) -> str:
        h = hashlib.sha256()
        h.update(json.dumps([list(map(str, stats["topics"])), self.signup_likelihood]).encode())
        for v in stats["pairs"].values():
            h.update(np.ascontiguousarray(v).tobytes())
        return h.hexdigest()

    def build_model(self, stats: dict):
        return build_model(stats, self.priors_)

    def _fit_idata(self, stats):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*Potential.*")
            return super()._fit_idata(stats)

    def _add_groups(self, idata, model, stats) -> None:
        idata.attrs["free_vars"] = json.dumps(self._free_vars)
        rng = np.random.default_rng(self.sampler_.seed + 2)
        coords = {"topic": list(map(str, stats["topics"]))}

        def summaries(ds):
            arrays = {k: _draws_from(ds, k) for k in TOPIC_PARAMS}
            n = arrays["click_mu"].shape[0]
            take = np.linspace(0, n - 1, min(n, self.predictive_draws)).astype(int)
            sim = simulate_summaries(rng, *(arrays[k][take] for k in TOPIC_PARAMS), stats)
            return xr.Dataset(
                {k: (("chain", "draw", "topic"), v[None]) for k, v in sim.items()},
                coords={"chain": [0], "draw": np.arange(len(take)), **coords},
            )

        idata.add_groups(
            posterior_predictive=summaries(idata.posterior),
            prior_predictive=summaries(idata.prior),
        )
        idata.attrs.update(
            {
                "model": "hierarchical beta-binomial (seed 003 design card)",
                "n_pairs": stats["n_pairs"],
                "n_click_rows": len(stats["click"]),
                "n_sc_rows": len(stats["sc"]),
                "n_repaired": stats["n_repaired"],
                "n_signup_without_click": stats["n_signup_without_click"],
            }
        )

    def _data_groups(self, stats: dict) -> dict:
        topics = list(map(str, stats["topics"]))
        p = stats["pairs"]
        n = len(p["topic"])
        const = xr.Dataset(
            {f"pair_{k}": ("pair", v) for k, v in p.items()},
            coords={"pair": np.arange(n), "topic": topics},
        )
        obs = xr.Dataset(
            {k: ("topic", v) for k, v in _observed_summaries(stats).items()},
            coords={"topic": topics},
        )
        return {"constant_data": const, "observed_data": obs}

    def _restore(self, idata) -> None:
        self.signup_likelihood = str(idata.attrs.get("signup_likelihood", self.signup_likelihood))
        post = idata.posterior
        self.topics_ = pd.Index([str(t) for t in post["topic"].values], dtype=object)
        self.draws_ = {k: _draws_from(post, k) for k in TOPIC_PARAMS}
        self.pairs_ = None
        if "constant_data" in idata.groups() and "pair_topic" in idata.constant_data:
            c = idata.constant_data
            self.pairs_ = pd.DataFrame(
                {
                    "topic": pd.Categorical.from_codes(
                        c["pair_topic"].values.astype(np.int64), self.topics_
                    ),
                    "sends": c["pair_sends"].values.astype(np.int64),
                    "clicks": c["pair_clicks"].values.astype(np.int64),
                    "signed_up": c["pair_signed_up"].values.astype(np.int64),
                }
            )
        self.info_ = {
            k: int(idata.attrs[k])
            for k in (
                "n_pairs",
                "n_click_rows",
                "n_sc_rows",
                "n_repaired",
                "n_signup_without_click",
            )
            if k in idata.attrs
        }

    def _diag_vars(self, idata) -> list[str] | None:
        free = getattr(self, "_free_vars", None)
        if free is None and "free_vars" in idata.attrs:
            free = json.loads(idata.attrs["free_vars"])
        return free

    def summary(self, var_names=None, prob: float = 0.9):
        """Parameter table (default: the hyperparameters and every topic's ``mu``/``kappa``
        of both stages)."""
        if var_names is None:
            post = self.idata_.posterior
            hyper = [f"{st}_{p}" for st in STAGES for p in HYPER_PARAMS]
            var_names = [n for n in (*hyper, *TOPIC_PARAMS) if n in post]
        return super().summary(var_names, prob)

    @classmethod
    def from_point(
        cls, topics, mu_click, kappa_click, mu_sc, kappa_sc, *, signup_likelihood: str = "any"
    ) -> HierarchicalSignupModel:
        """A 'fitted' model whose posterior is a point mass (one draw): used to show that the
        seed's EB estimator is the special case ``kappa = 2``, ``mu = p0`` of the
        ``"binomial"`` signup likelihood."""
        topics = pd.Index(list(topics), dtype=object)
        values = (mu_click, kappa_click, mu_sc, kappa_sc)
        draws = {
            k: np.broadcast_to(np.asarray(v, dtype=float), (1, len(topics))).copy()
            for k, v in zip(TOPIC_PARAMS, values, strict=True)
        }
        return cls.from_draws(topics, draws, signup_likelihood=signup_likelihood)

    @classmethod
    def from_draws(
        cls, topics, draws: dict[str, np.ndarray], *, signup_likelihood: str = "any"
    ) -> HierarchicalSignupModel:
        """A 'fitted' model from posterior draws ``{click_mu, click_kappa, sc_mu, sc_kappa}``,
        each ``(draws, topic)`` (a fit done elsewhere, as in the calibration study; one
        chain). It predicts for given pairs; it has no data, diagnostics or provenance."""
        import arviz as az

        topics = [str(t) for t in topics]
        arr = {k: np.atleast_2d(np.asarray(draws[k], dtype=float))[None] for k in TOPIC_PARAMS}
        self = cls(signup_likelihood=signup_likelihood)
        idata = az.from_dict(
            posterior=arr, coords={"topic": topics}, dims={k: ["topic"] for k in TOPIC_PARAMS}
        )
        idata.attrs["signup_likelihood"] = signup_likelihood
        self.idata_ = idata
        self._restore(idata)
        return self

    # ---------------------------------------------------------------- predict
    def _beta_params(self, t, s, c, take):
        """Click posterior ``Beta(a_c, b_c)`` and the topic's signup-given-click prior
        ``Beta(a_s, b_s)`` per draw in ``take`` and combination."""
        d = self.draws_
        mc, kc = d["click_mu"][take][:, t], d["click_kappa"][take][:, t]
        ms, ks = d["sc_mu"][take][:, t], d["sc_kappa"][take][:, t]
        a_c = c + kc * mc
        b_c = (s - c) + kc * (1 - mc)
        return a_c, b_c, ks * ms, ks * (1 - ms)

    def _pairs(self, pairs):
        self.check_fitted()
        if pairs is not None:
            return pairs
        if self.pairs_ is None:
            raise ValueError("this model holds no fitted pairs; pass pairs to predict for")
        return self.pairs_

    def _combos(self, pairs):
        """Unique ``(topic, S, C, Y)`` combinations: ``(inverse, t, s, c, y)``."""
        t = _topic_codes(pairs, self.topics_)
        s, c, y = consistent_counts(pairs, self.signup_likelihood)
        key = ((t.astype(np.int64) * (s.max() + 1) + s) * (c.max() + 1) + c) * 2 + y
        inv, uniq_keys = pd.factorize(key)
        first = np.zeros(len(uniq_keys), dtype=np.int64)
        first[inv[::-1]] = np.arange(len(inv))[::-1]
        return inv, t[first], s[first], c[first], y[first]

    def _stage_draws(self, rng, a_c, b_c, a_s, b_s, c, y, kind: str):
        """Per draw and combination: ``(p_click, p_signup_given_click)`` — the closed-form
        posterior means given the draw (``kind="mean"``) or one draw from each recipient
        posterior (``kind="sample"``; :func:`models.rates.sample_posterior`)."""
        lik = self.signup_likelihood
        if kind == "mean":
            return a_c / (a_c + b_c), posterior_moment(a_s, b_s, y, c, 1, lik)
        if kind == "sample":
            return rng.beta(a_c, b_c), sample_posterior(rng, a_s, b_s, y, c, lik)
        raise ValueError(f"kind must be 'mean' or 'sample', got {kind!r}")

    def predict(
        self, pairs: pd.DataFrame | None = None, *, kind: str = "mean", seed: int = 0
    ) -> xr.Dataset:
        """Per-draw recipient rates ``p_click``, ``p_signup_given_click`` and ``p_signup``, each
        with dims ``(chain, draw, pair)``.

        ``kind="mean"``: given each posterior draw of the topic parameters, the closed-form
        posterior means — ``(C + kappa mu)/(S + kappa)`` for clicks, ``E[p_sc | C, Y]``
        (:func:`models.rates.posterior_moment`) for signups, their product for ``p_signup``
        (the stages are independent given the topic parameters); averaging over draws gives
        the exact posterior means. ``kind="sample"``: one draw from each recipient's posterior
        per posterior draw (draws of the rates themselves, whose quantiles are the intervals).
        ``pairs`` default: the fitted ones (``pair`` = their row number). Computed on the unique
        ``(topic, S, C, Y)`` combinations; memory is draws × pairs (see :meth:`pair_table` for
        large audiences).
        """
        pairs = self._pairs(pairs)
        inv, t, s, c, y = self._combos(pairs)
        post = self.idata_.posterior
        take = np.arange(self.draws_["click_mu"].shape[0])
        pc, ps = self._stage_draws(
            np.random.default_rng(seed), *self._beta_params(t, s, c, take), c, y, kind
        )
        shape = (post.sizes["chain"], post.sizes["draw"], len(inv))
        dims = ("chain", "draw", "pair")
        return xr.Dataset(
            {
                "p_click": (dims, pc[:, inv].reshape(shape)),
                "p_signup_given_click": (dims, ps[:, inv].reshape(shape)),
                "p_signup": (dims, (pc * ps)[:, inv].reshape(shape)),
            },
            coords={
                "chain": post["chain"].values,
                "draw": post["draw"].values,
                "pair": np.arange(len(inv)),
            },
        )

    def pair_table(
        self,
        pairs: pd.DataFrame | None = None,
        *,
        prob: float = 0.9,
        max_draws: int = 1000,
        seed: int = 0,
    ) -> pd.DataFrame:
        """``pairs`` with the per-recipient posterior: ``p_click``, ``p_signup_given_click``,
        ``p_signup`` (exact posterior means: :meth:`predict` ``kind="mean"`` averaged over all
        draws) and ``p_signup_lower_90`` / ``p_signup_upper_90`` (quantiles of ``max_draws``
        draws of :meth:`predict` ``kind="sample"``; a subsample of the posterior draws, or the
        draws repeated when there are fewer, so a point posterior still gets real intervals).
        Works on the unique combinations and maps back to recipients."""
        pairs = self._pairs(pairs)
        inv, t, s, c, y = self._combos(pairs)
        n_d = self.draws_["click_mu"].shape[0]
        rng = np.random.default_rng(seed)
        a_c, b_c, a_s, b_s = self._beta_params(t, s, c, np.arange(n_d))
        pc, ps = self._stage_draws(rng, a_c, b_c, a_s, b_s, c, y, "mean")
        sub = np.linspace(0, n_d - 1, max_draws).round().astype(int)
        xc, xs = self._stage_draws(rng, a_c[sub], b_c[sub], a_s[sub], b_s[sub], c, y, "sample")
        lo, hi = np.quantile(xc * xs, [(1 - prob) / 2, (1 + prob) / 2], axis=0)
        out = pairs.copy()
        out["p_click"] = pc.mean(0)[inv]
        out["p_signup_given_click"] = ps.mean(0)[inv]
        out["p_signup"] = (pc * ps).mean(0)[inv]
        lo_name, hi_name = interval_names(prob, "p_signup")
        out[lo_name] = lo[inv]
        out[hi_name] = hi[inv]
        return out

    def expected_signups_draws(
        self,
        members: pd.DataFrame,
        *,
        max_draws: int = 1000,
        seed: int = 0,
        exact_limit: float = 2e7,
    ) -> np.ndarray:
        """Posterior draws of an audience's expected signups ``sum_i p_signup_i``.

        Per posterior draw of the topic parameters, each member's ``p_signup`` is a product of
        independent recipient posteriors (Beta for clicks, the signup-stage posterior of
        :func:`models.rates.sample_posterior`). When ``members x draws <= exact_limit`` they
        are sampled exactly; beyond, the sum over members uses its exact conditional mean and
        variance with a normal term (central limit over many members), clipped at 0.
        """
        self.check_fitted()
        n_d = self.draws_["click_mu"].shape[0]
        sub = np.linspace(0, n_d - 1, min(n_d, max_draws)).astype(int)
        rng = np.random.default_rng(seed)
        if len(members) == 0:
            return np.zeros(len(sub))
        inv, t, s, c, y = self._combos(members)
        a_c, b_c, a_s, b_s = self._beta_params(t, s, c, sub)
        n_k = np.bincount(inv, minlength=len(t)).astype(float)
        lik = self.signup_likelihood
        if len(members) * len(sub) <= exact_limit:
            total = np.zeros(len(sub))
            for start in range(0, len(inv), 200_000):
                idx = inv[start : start + 200_000]
                xc, xs = self._stage_draws(
                    rng,
                    a_c[:, idx],
                    b_c[:, idx],
                    a_s[:, idx],
                    b_s[:, idx],
                    c[idx],
                    y[idx],
                    "sample",
                )
                total += (xc * xs).sum(1)
            return total
        n1 = a_c + b_c
        m1 = a_c / n1
        m2 = posterior_moment(a_s, b_s, y, c, 1, lik)
        e1 = a_c * (a_c + 1) / (n1 * (n1 + 1))
        e2 = posterior_moment(a_s, b_s, y, c, 2, lik)
        mean = (m1 * m2) @ n_k
        var = (e1 * e2 - (m1 * m2) ** 2) @ n_k
        return np.maximum(mean + np.sqrt(var) * rng.standard_normal(len(sub)), 0.0)


def _draws_from(ds, name: str) -> np.ndarray:
    """``(chain*draw, topic)`` array of a posterior/prior variable."""
    return ds[name].stack(sample=SAMPLE_DIMS).transpose("sample", "topic").to_numpy()
