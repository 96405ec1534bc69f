"""Customer 360 signup probability (seed 003): the seed's empirical Bayes and the hierarchical
beta-binomial beside it. The §2 counting rules that turn event logs into the per-(email, topic)
counts these estimators see live in :mod:`bayes.signup.counting` (the data layer).

Layout
------
* §3 topic priors: :func:`topic_priors`; §4-§5 smoothing: :func:`eb_rate`, :func:`eb_scores`.
* Hierarchical beta-binomial: :func:`compress`, :func:`build_model`,
  :class:`HierarchicalSignupModel` (``fit`` / ``predict`` / ``expected_signups``), the closed-form
  per-recipient posterior :func:`posterior_rate_mean`, and the generative simulators
  :func:`simulate_recipients` and :func:`simulate_summaries` (the likelihood is a weighted
  ``pm.Potential`` on compressed rows, which has no generative form of its own).

Everything is vectorised over events, pairs and posterior draws; no per-row Python loops.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
from scipy import special

from priors.signup import STAGES, TOPIC_PARAMS, signup_priors, topic_rate_variables
from priors.spec import Prior

__all__ = [
    "DEFAULT_ALPHA",
    "PRIOR_CLAMP",
    "SIGNUP_LIKELIHOODS",
    "HierarchicalSignupModel",
    "build_model",
    "compress",
    "design_grid",
    "eb_rate",
    "eb_scores",
    "posterior_rate_mean",
    "sc_posterior_moment",
    "sample_sc_posterior",
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
    n_t = len(cats)
    sends = np.bincount(t, weights=pairs["sends"].to_numpy(float), minlength=n_t)
    clicks = np.bincount(t, weights=pairs["clicks"].to_numpy(float), minlength=n_t)
    signups = np.bincount(t, weights=pairs["signed_up"].to_numpy(float), minlength=n_t)
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
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    return (k + alpha * np.asarray(prior, dtype=float)) / (n + alpha)


def eb_scores(
    pairs: pd.DataFrame,
    priors: pd.DataFrame,
    *,
    alpha_c: float = DEFAULT_ALPHA,
    alpha_sc: float = DEFAULT_ALPHA,
) -> pd.DataFrame:
    """Seed §4-§5: ``p_click``, ``p_signup_given_click`` and ``p_signup = p_click * p_sc`` for
    every pair (a new frame; ``pairs`` is not modified)."""
    pr = priors.set_index("topic")
    p0c = pr["p0_click"].reindex(pairs["topic"].astype(object)).to_numpy()
    p0s = pr["p0_sc"].reindex(pairs["topic"].astype(object)).to_numpy()
    out = pairs.copy()
    out["p_click"] = eb_rate(pairs["clicks"].to_numpy(), pairs["sends"].to_numpy(), p0c, alpha_c)
    out["p_signup_given_click"] = eb_rate(
        pairs["signed_up"].to_numpy(), pairs["clicks"].to_numpy(), p0s, alpha_sc
    )
    out["p_signup"] = out["p_click"].to_numpy() * out["p_signup_given_click"].to_numpy()
    return out


# ----------------------------------------------------------------------------- hierarchical


def posterior_rate_mean(successes, trials, mu, kappa):
    """Posterior mean of a recipient's rate under ``p ~ Beta(mu*kappa, (1-mu)*kappa)`` after
    ``k`` successes in ``n`` trials: ``(k + kappa*mu) / (n + kappa)`` (conjugacy). Broadcasts,
    so ``mu``/``kappa`` may carry a leading draw axis."""
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    return (k + np.asarray(kappa) * np.asarray(mu)) / (n + np.asarray(kappa))


def consistent_counts(
    pairs: pd.DataFrame, signup_likelihood: str = "any"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts the likelihood can hold: ``S' = max(S, C')`` (a click without a logged send
    implies a send), and

    * ``"binomial"``: ``C' = max(C, Y)`` — a signup without a logged click implies a click;
    * ``"any"``: ``C' = C`` — a signup without any logged click cannot be "a signup among the
      clicks" (e.g. an organic owner in the signups table); it is left out of the signup-stage
      likelihood (:func:`compress` keeps ``C >= 1`` only) and its ``p_sc`` posterior is the
      topic's Beta.

    On consistent data (``S >= C >= Y``) this is the identity; the seed-exact EB path uses the
    raw counts.
    """
    _check_likelihood(signup_likelihood)
    y = pairs["signed_up"].to_numpy(np.int64)
    c = pairs["clicks"].to_numpy(np.int64)
    if signup_likelihood == "binomial":
        c = np.maximum(c, y)
    s = np.maximum(pairs["sends"].to_numpy(np.int64), c)
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
        "n_repaired": int(((c != p["clicks"].to_numpy()) | (s != p["sends"].to_numpy())).sum()),
        "n_signup_without_click": int(((c == 0) & (y == 1)).sum()),
        "signup_likelihood": signup_likelihood,
    }


def _betabinom_logp(k, n, a, b):
    """``log BetaBinomial(k | n, a, b)`` (pytensor), constant included."""
    import pytensor.tensor as pt

    return (
        pt.gammaln(n + 1)
        - pt.gammaln(k + 1)
        - pt.gammaln(n - k + 1)
        + pt.gammaln(k + a)
        + pt.gammaln(n - k + b)
        - pt.gammaln(n + a + b)
        - pt.gammaln(a)
        - pt.gammaln(b)
        + pt.gammaln(a + b)
    )


def _any_signup_logp(y, c, a, b):
    """``log P(Y = y | C = c)`` when ``Y = 1`` iff at least one of ``c`` clicks signs up and
    the recipient's rate is ``p ~ Beta(a, b)`` (pytensor).

    ``P(Y = 0 | C) = E[(1 - p)^C] = B(a, b + C) / B(a, b)`` (the Beta moment), so
    ``log P(Y = 0) = betaln(a, b + C) - betaln(a, b)`` and ``log P(Y = 1) =
    log1mexp(log P(Y = 0))`` (stable when ``P(Y = 0)`` is close to 1).
    """
    import pytensor.tensor as pt
    from pytensor.tensor.special import betaln

    log_p0 = betaln(a, b + c) - betaln(a, b)
    return pt.switch(pt.eq(y, 0), log_p0, pt.log1mexp(log_p0))


def _any_mask(c, y):
    return (np.asarray(y) >= 1) & (np.asarray(c) >= 1)


def _sc_beta(a, b, c, y, signup_likelihood: str):
    """``(a', b', mixture)``: the Beta posterior of :func:`sc_posterior_moment` and where it is
    not one. ``"binomial"``: ``Beta(a + Y, b + C - Y)`` everywhere; ``"any"``: ``Beta(a, b + C)``
    for ``Y = 0``, the prior ``Beta(a, b)`` for ``Y = 1, C = 0``, and for ``Y = 1, C >= 1``
    (``mixture``, :func:`_any_mask`) a placeholder the caller replaces."""
    if signup_likelihood == "binomial":
        return a + y, b + c - y, np.zeros(np.shape(a), bool)
    mixture = _any_mask(c, y)
    return a, np.where(mixture, b, b + c), mixture


def _log_beta_drop(a, b, c):
    """``log(B(a, b) - B(a, b + c))`` for ``c >= 1``, via ``expm1`` (stable when the two are
    close)."""
    return special.betaln(a, b) + np.log(-np.expm1(special.betaln(a, b + c) - special.betaln(a, b)))


def sc_posterior_moment(a, b, clicks, signed_up, k: int = 1, signup_likelihood: str = "any"):
    """``E[p^k | C, Y]`` of a recipient's signup-given-click rate with prior ``Beta(a, b)``.

    * ``"binomial"``: the posterior is ``Beta(a + Y, b + C - Y)`` (conjugacy);
    * ``"any"``: ``Y = 0`` gives ``Beta(a, b + C)`` exactly (likelihood ``(1 - p)^C``); ``Y = 1``
      gives the density ``∝ Beta(p; a, b) (1 - (1 - p)^C)``, whose moments are

      .. math:: E[p^k] = \frac{B(a + k, b) - B(a + k, b + C)}{B(a, b) - B(a, b + C)},

      evaluated in logs with ``expm1``; ``Y = 1, C = 0`` (a signup without a logged click)
      carries no information on ``p`` and gives the prior.

    All arguments broadcast (``a``, ``b`` may carry a leading draw axis).
    """
    _check_likelihood(signup_likelihood)
    a, b, c, y = np.broadcast_arrays(
        np.asarray(a, float), np.asarray(b, float), np.asarray(clicks, float), signed_up
    )
    y = np.asarray(y, float)
    aa, bb, any_ = _sc_beta(a, b, c, y, signup_likelihood)
    out = np.atleast_1d(np.exp(special.betaln(aa + k, bb) - special.betaln(aa, bb)))
    if any_.any():
        a1, b1, c1 = a[any_], b[any_], c[any_]
        out[np.atleast_1d(any_)] = np.exp(
            _log_beta_drop(a1 + k, b1, c1) - _log_beta_drop(a1, b1, c1)
        )
    return out.reshape(a.shape)


def _sample_any_signed(rng: np.random.Generator, a, b, c) -> np.ndarray:
    """Exact draws from ``∝ Beta(p; a, b) (1 - (1 - p)^C)``, ``C >= 1`` (1-d arrays).

    ``1 - (1 - p)^C = p sum_{j<C} (1 - p)^j`` ("the first signup happens at click ``j + 1``"),
    so the density is the **positive** mixture ``sum_{j<C} w_j Beta(p; a + 1, b + j)`` with
    ``w_j ∝ B(a + 1, b + j)``, i.e. ``w_0 = 1``, ``w_{j+1} = w_j (b + j) / (a + b + 1 + j)``.
    Pick ``j`` by inverse CDF (a loop over ``j < max C`` only, vectorised over elements), then
    draw the Beta: no rejection, no signed weights.
    """
    c = np.asarray(c, np.int64)
    n_j = int(c.max()) if c.size else 0
    w = np.ones_like(a)
    total = np.zeros_like(a)
    for j in range(n_j):
        total += np.where(j < c, w, 0.0)
        w = w * (b + j) / (a + b + 1 + j)
    u = rng.random(a.shape) * total
    w = np.ones_like(a)
    cum = np.zeros_like(a)
    pick = np.zeros(a.shape, np.int64)
    for j in range(n_j):
        cum += np.where(j < c, w, 0.0)
        pick += (cum < u) & (j < c - 1)
        w = w * (b + j) / (a + b + 1 + j)
    return rng.beta(a + 1, b + pick)


def sample_sc_posterior(
    rng: np.random.Generator, a, b, clicks, signed_up, signup_likelihood: str = "any"
) -> np.ndarray:
    """One draw per element of a recipient's signup-given-click rate given ``(C, Y)`` and the
    prior ``Beta(a, b)`` (the posteriors of :func:`sc_posterior_moment`). Broadcasts."""
    _check_likelihood(signup_likelihood)
    a, b, c, y = np.broadcast_arrays(
        np.asarray(a, float), np.asarray(b, float), np.asarray(clicks), np.asarray(signed_up)
    )
    aa, bb, any_ = _sc_beta(a, b, c, y, signup_likelihood)
    out = rng.beta(aa, bb)
    if any_.any():
        out[any_] = _sample_any_signed(rng, a[any_], b[any_], c[any_])
    return out


#: parameterisation per stage and latent: topic means are pinned down by many recipients
#: (centred is efficient); concentrations are identified only by between-recipient variation
#: and are weak, so they are non-centred (avoids the funnel and its divergences)
CENTERED: dict[str, dict] = {
    "click": {"logit_mu": True, "log_kappa": False},
    "sc": {"logit_mu": True, "log_kappa": False},
}


def build_model(
    stats: dict,
    priors: dict[str, Prior] | None = None,
    *,
    centered: dict | None = None,
    weights_as_data: bool = False,
):
    """The hierarchical model on compressed rows (weighted ``pm.Potential``).

    For stage ``click``: ``C_i | S_i ~ BetaBinomial(S_i, mu_t kappa_t, (1-mu_t) kappa_t)``;
    for stage ``sc`` with ``stats["signup_likelihood"]``:

    * ``"any"`` (default): ``P(Y_i = 0 | C_i) = B(a, b + C_i) / B(a, b)``, ``P(Y_i = 1 | C_i) =
      1 - that`` (:func:`_any_signup_logp`) — ``Y`` is "at least one signup among the clicks";
    * ``"binomial"``: ``Y_i | C_i ~ BetaBinomial(C_i, a, b)`` (the seed's convention, §4).

    The recipient-level rates are integrated out; ``a = mu_t kappa_t``, ``b = (1-mu_t)
    kappa_t``. Each unique row contributes ``weight * logp``. Per-topic ``mu``/``kappa`` come
    from :func:`priors.signup.topic_rate_variables`.

    ``weights_as_data=True`` holds the row weights in ``pm.Data`` (``click_weight``,
    ``sc_weight``, dims ``click_row``/``sc_row``) so that one compiled model takes another data
    set on the same rows (:func:`design_grid`, :func:`set_design_weights`; used by the
    simulation-based calibration).
    """
    import pymc as pm

    centered = {**CENTERED, **(centered or {})}
    topics = stats["topics"]
    coords = {"topic": list(map(str, topics))}
    if weights_as_data:
        coords.update({f"{st}_row": np.arange(len(stats[st])) for st in STAGES})
    with pm.Model(coords=coords) as model:
        for stage, (k_col, n_col) in zip(
            STAGES, (("clicks", "sends"), ("signed_up", "clicks")), strict=True
        ):
            rows = stats[stage]
            mu, kappa = topic_rate_variables(stage, priors, centered=centered[stage])
            if len(rows) == 0:
                continue
            t = rows["topic"].to_numpy(np.int64)
            a = (mu * kappa)[t]
            b = ((1 - mu) * kappa)[t]
            k = rows[k_col].to_numpy(float)
            n = rows[n_col].to_numpy(float)
            w = rows["weight"].to_numpy(float)
            if weights_as_data:
                w = pm.Data(f"{stage}_weight", w, dims=f"{stage}_row")
            if stage == "sc" and stats.get("signup_likelihood", "any") == "any":
                logp = _any_signup_logp(k, n, a, b)
            else:
                logp = _betabinom_logp(k, n, a, b)
            pm.Potential(f"{stage}_loglik", (w * logp).sum())
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


def _draws_from(ds, name: str) -> np.ndarray:
    """``(chain*draw, topic)`` array of a posterior/prior variable."""
    v = ds[name]
    return v.stack(sample=("chain", "draw")).transpose("sample", "topic").to_numpy()


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


def _betabinom_pmf_table(n_max: int, n: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``pmf[g, k] = BetaBinomial(k | n_g, a_g, b_g)`` for ``k = 0..n_max`` (0 beyond n_g)."""
    k = np.arange(n_max + 1)[None, :]
    n = n[:, None].astype(float)
    a, b = a[:, None], b[:, None]
    with np.errstate(invalid="ignore"):
        logp = (
            special.gammaln(n + 1)
            - special.gammaln(k + 1)
            - special.gammaln(np.maximum(n - k, 0) + 1)
            + special.betaln(k + a, np.maximum(n - k, 0) + b)
            - special.betaln(a, b)
        )
    pmf = np.where(k <= n, np.exp(logp), 0.0)
    return pmf / pmf.sum(axis=1, keepdims=True)


def simulate_summaries(
    rng: np.random.Generator, mu_c, kappa_c, mu_s, kappa_s, stats: dict
) -> dict[str, np.ndarray]:
    """Predictive per-topic summaries for the compressed design, one row per draw.

    ``mu_*``/``kappa_*`` are ``(draws, topic)``. For every unique ``(topic, S)`` group of ``n``
    recipients the click histogram is ``Multinomial(n, BetaBinomial(.|S))``; for every
    ``(topic, C)`` group the number of signed-up recipients is ``Binomial(m, 1 - BB(0|C))``.
    Returns ``total_clicks``, ``zero_click_share`` and ``signed_up`` with shape
    ``(draws, topic)`` — the quantities the observed data are compared with.
    """
    n_t = len(stats["topics"])
    click = stats["click"]
    grp = click.groupby(["topic", "sends"], sort=True)["weight"].sum().reset_index()
    g_t = grp["topic"].to_numpy(np.int64)
    g_s = grp["sends"].to_numpy(np.int64)
    g_n = grp["weight"].to_numpy(np.int64)
    sc = stats["sc"]
    h = sc.groupby(["topic", "clicks"], sort=True)["weight"].sum().reset_index()
    h_t = h["topic"].to_numpy(np.int64)
    h_c = h["clicks"].to_numpy(np.int64)
    h_n = h["weight"].to_numpy(np.int64)
    mu_c, kappa_c = np.atleast_2d(mu_c), np.atleast_2d(kappa_c)
    mu_s, kappa_s = np.atleast_2d(mu_s), np.atleast_2d(kappa_s)
    n_d = mu_c.shape[0]
    s_max = int(g_s.max()) if len(g_s) else 0
    total_clicks = np.zeros((n_d, n_t))
    zero = np.zeros((n_d, n_t))
    signed = np.zeros((n_d, n_t))
    recipients = np.bincount(g_t, weights=g_n, minlength=n_t)
    for d in range(n_d):  # loop over draws only; groups are vectorised
        a = mu_c[d, g_t] * kappa_c[d, g_t]
        b = (1 - mu_c[d, g_t]) * kappa_c[d, g_t]
        pmf = _betabinom_pmf_table(s_max, g_s, a, b)
        hist = rng.multinomial(g_n, pmf)
        total_clicks[d] = np.bincount(g_t, weights=hist @ np.arange(s_max + 1), minlength=n_t)
        zero[d] = np.bincount(g_t, weights=hist[:, 0], minlength=n_t)
        if len(h_t):
            a2 = mu_s[d, h_t] * kappa_s[d, h_t]
            b2 = (1 - mu_s[d, h_t]) * kappa_s[d, h_t]
            p0 = np.exp(special.betaln(a2, h_c + b2) - special.betaln(a2, b2))
            signed[d] = np.bincount(h_t, weights=rng.binomial(h_n, 1 - p0), minlength=n_t)
    with np.errstate(invalid="ignore", divide="ignore"):
        zero_share = zero / recipients
    return {"total_clicks": total_clicks, "zero_click_share": zero_share, "signed_up": signed}


def _observed_summaries(stats: dict) -> dict[str, np.ndarray]:
    n_t = len(stats["topics"])
    c, s = stats["click"], stats["sc"]
    t = c["topic"].to_numpy(np.int64)
    w = c["weight"].to_numpy(float)
    rec = np.bincount(t, weights=w, minlength=n_t)
    with np.errstate(invalid="ignore", divide="ignore"):
        zero = np.bincount(t, weights=w * (c["clicks"].to_numpy() == 0), minlength=n_t) / rec
    return {
        "total_clicks": np.bincount(t, weights=w * c["clicks"].to_numpy(), minlength=n_t),
        "zero_click_share": zero,
        "signed_up": np.bincount(
            s["topic"].to_numpy(np.int64),
            weights=s["weight"].to_numpy(float) * s["signed_up"].to_numpy(),
            minlength=n_t,
        ),
    }


class HierarchicalSignupModel:
    """Hierarchical beta-binomial for click-per-send and signup-given-click (design card).

    scikit-learn shaped: ``__init__`` stores settings, :meth:`fit` learns ``idata_``,
    ``topics_``, ``stats_``; :meth:`predict` returns per-recipient posterior means (closed form,
    averaged over draws) and central intervals for ``p_signup``.

    Parameters
    ----------
    priors : dict of Prior, optional
        Hyperpriors (default :data:`priors.signup.SIGNUP_PRIORS`).
    draws, tune, chains, cores, target_accept, random_seed : NUTS settings.
    predictive_draws : int
        Number of draws used for prior/posterior predictive summaries.
    signup_likelihood : {"any", "binomial"}
        Signup stage: ``"any"`` (default) models the seed's 0/1 ``Y`` as "at least one signup
        among the ``C`` clicks"; ``"binomial"`` counts ``Y`` successes out of ``C`` clicks (the
        seed's §4 convention, of which the EB estimator is the ``kappa = 2`` case).
    """

    def __init__(
        self,
        priors: dict[str, Prior] | None = None,
        *,
        draws: int = 1000,
        tune: int = 1000,
        chains: int = 2,
        cores: int = 1,
        target_accept: float = 0.9,
        random_seed: int = 0,
        predictive_draws: int = 200,
        progressbar: bool = False,
        signup_likelihood: str = "any",
    ):
        self.priors = priors
        self.draws = draws
        self.tune = tune
        self.chains = chains
        self.cores = cores
        self.target_accept = target_accept
        self.random_seed = random_seed
        self.predictive_draws = predictive_draws
        self.progressbar = progressbar
        self.signup_likelihood = _check_likelihood(signup_likelihood)

    def __repr__(self) -> str:
        return (
            f"HierarchicalSignupModel(draws={self.draws}, tune={self.tune}, chains={self.chains}, "
            f"target_accept={self.target_accept}, random_seed={self.random_seed}, "
            f"signup_likelihood={self.signup_likelihood!r})"
        )

    # ---------------------------------------------------------------- fit
    def fit(self, pairs: pd.DataFrame, topics: pd.Index | None = None) -> HierarchicalSignupModel:
        """NUTS on the compressed sufficient statistics of ``pairs`` (from :func:`count_pairs`)."""
        import arviz as az
        import pymc as pm
        import xarray as xr

        priors = signup_priors() if self.priors is None else self.priors
        stats = compress(pairs, topics, signup_likelihood=self.signup_likelihood)
        if stats["n_pairs"] == 0:
            raise ValueError("no (email, topic) pair with at least one send to fit on")
        model = build_model(stats, priors)
        with model, warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*Potential.*")
            idata = pm.sample(
                draws=self.draws,
                tune=self.tune,
                chains=self.chains,
                cores=self.cores,
                target_accept=self.target_accept,
                random_seed=self.random_seed,
                progressbar=self.progressbar,
                compute_convergence_checks=False,
            )
            prior = pm.sample_prior_predictive(
                draws=self.predictive_draws, random_seed=self.random_seed + 1
            )
        idata.extend(prior)
        rng = np.random.default_rng(self.random_seed + 2)
        coords = {"topic": list(map(str, stats["topics"]))}

        def summaries(arrays, n_max):
            n = arrays["click_mu"].shape[0]
            take = np.linspace(0, n - 1, min(n, n_max)).astype(int)
            sim = simulate_summaries(
                rng,
                arrays["click_mu"][take],
                arrays["click_kappa"][take],
                arrays["sc_mu"][take],
                arrays["sc_kappa"][take],
                stats,
            )
            return xr.Dataset(
                {k: (("chain", "draw", "topic"), v[None]) for k, v in sim.items()},
                coords={"chain": [0], "draw": np.arange(len(take)), **coords},
            )

        draws = {k: _draws_from(idata.posterior, k) for k in TOPIC_PARAMS}
        post_pred = summaries(draws, self.predictive_draws)
        prior_pred = summaries(
            {k: _draws_from(idata.prior, k) for k in TOPIC_PARAMS}, self.predictive_draws
        )
        obs = xr.Dataset(
            {k: (("topic",), v) for k, v in _observed_summaries(stats).items()}, coords=coords
        )
        idata.add_groups(
            posterior_predictive=post_pred, prior_predictive=prior_pred, observed_data=obs
        )
        idata.attrs.update(
            {
                "model": "hierarchical beta-binomial (seed 003 design card)",
                "signup_likelihood": self.signup_likelihood,
                "prior_spec": json.dumps({k: v.to_dict() for k, v in priors.items()}),
                "seed": int(self.random_seed),
                "n_pairs": stats["n_pairs"],
                "n_click_rows": len(stats["click"]),
                "n_sc_rows": len(stats["sc"]),
                "n_repaired": stats["n_repaired"],
                "n_signup_without_click": stats["n_signup_without_click"],
            }
        )
        self.idata_ = idata
        self.stats_ = stats
        self.topics_ = stats["topics"]
        self.draws_ = draws
        self.summary_ = az.summary(idata, var_names=list(TOPIC_PARAMS), hdi_prob=0.9)
        return self

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
            k: np.broadcast_to(np.asarray(v, dtype=float), (len(topics),)).copy()
            for k, v in zip(TOPIC_PARAMS, values, strict=True)
        }
        return cls.from_draws(topics, draws, signup_likelihood=signup_likelihood)

    @classmethod
    def from_draws(
        cls, topics, draws: dict[str, np.ndarray], *, signup_likelihood: str = "any"
    ) -> HierarchicalSignupModel:
        """A 'fitted' model from posterior draws ``{click_mu, click_kappa, sc_mu, sc_kappa}``,
        each ``(draws, topic)`` (e.g. a fit done elsewhere, as in the calibration study)."""
        self = cls(signup_likelihood=signup_likelihood)
        self.topics_ = pd.Index(list(topics), dtype=object)
        self.draws_ = {k: np.atleast_2d(np.asarray(draws[k], dtype=float)) for k in TOPIC_PARAMS}
        return self

    # ---------------------------------------------------------------- predict
    def _check_fitted(self):
        if not hasattr(self, "draws_"):
            raise RuntimeError("HierarchicalSignupModel is not fitted; call fit() first")

    def _beta_params(self, t, s, c, take):
        """Click posterior ``Beta(a_c, b_c)`` and the topic's signup-given-click prior
        ``Beta(a_s, b_s)`` per draw in ``take`` and combination."""
        d = self.draws_
        mc, kc = d["click_mu"][take][:, t], d["click_kappa"][take][:, t]
        ms, ks = d["sc_mu"][take][:, t], d["sc_kappa"][take][:, t]
        a_c = c + kc * mc
        b_c = (s - c) + kc * (1 - mc)
        return a_c, b_c, ks * ms, ks * (1 - ms)

    def _combos(self, pairs):
        t = _topic_codes(pairs, self.topics_)
        s, c, y = consistent_counts(pairs, self.signup_likelihood)
        key = ((t.astype(np.int64) * (s.max() + 1) + s) * (c.max() + 1) + c) * 2 + y
        inv, uniq_keys = pd.factorize(key)
        first = np.zeros(len(uniq_keys), dtype=np.int64)
        first[inv[::-1]] = np.arange(len(inv))[::-1]
        return inv, t[first], s[first], c[first], y[first]

    def predict(
        self, pairs: pd.DataFrame, *, prob: float = 0.9, max_draws: int = 1000, seed: int = 0
    ) -> pd.DataFrame:
        """Per-recipient posterior means and ``prob`` central intervals.

        ``p_click = mean_d (C + kappa mu)/(S + kappa)``; ``p_signup_given_click = mean_d
        E[p_sc | C, Y]`` (:func:`sc_posterior_moment`: ``Beta(a, b + C)`` for ``Y = 0``, the
        closed-form mean of the "any signup" posterior for ``Y = 1``); ``p_signup =
        mean_d[p_click_d * p_sc_d]`` (the two stages are independent given the topic parameters).
        The interval of ``p_signup`` comes from one draw of each stage's recipient posterior per
        posterior draw (at most ``max_draws``; :func:`sample_sc_posterior`), vectorised over the
        unique ``(topic, S, C, Y)`` combinations only and mapped back to recipients. Counts go
        through :func:`consistent_counts`.
        """
        self._check_fitted()
        inv, t, s, c, y = self._combos(pairs)
        n_d = self.draws_["click_mu"].shape[0]
        take = np.arange(n_d)
        a_c, b_c, a_s, b_s = self._beta_params(t, s, c, take)
        pc = a_c / (a_c + b_c)
        ps = sc_posterior_moment(a_s, b_s, c, y, 1, self.signup_likelihood)
        p_click = pc.mean(0)
        p_sc = ps.mean(0)
        p_signup = (pc * ps).mean(0)
        # ``max_draws`` samples: a subsample of the posterior draws, or the draws repeated when
        # there are fewer (a point posterior from :meth:`from_point` still gets real intervals)
        sub = np.linspace(0, n_d - 1, max_draws).round().astype(int)
        rng = np.random.default_rng(seed)
        sample = self._sample_p_signup(rng, a_c[sub], b_c[sub], a_s[sub], b_s[sub], c, y)
        lo, hi = np.quantile(sample, [(1 - prob) / 2, (1 + prob) / 2], axis=0)
        out = pairs.copy()
        out["p_click"] = p_click[inv]
        out["p_signup_given_click"] = p_sc[inv]
        out["p_signup"] = p_signup[inv]
        pct = round(prob * 100)
        out[f"p_signup_lower_{pct}"] = lo[inv]
        out[f"p_signup_upper_{pct}"] = hi[inv]
        return out

    def _sample_p_signup(self, rng, a_c, b_c, a_s, b_s, c, y):
        """One draw per element of ``p_click * p_sc`` from the two recipient posteriors."""
        return rng.beta(a_c, b_c) * sample_sc_posterior(rng, a_s, b_s, c, y, self.signup_likelihood)

    def sample_p_signup(self, pairs: pd.DataFrame, *, seed: int = 0) -> np.ndarray:
        """Posterior draws of every recipient's ``p_signup``, one per posterior draw:
        ``(draws, len(pairs))``. Draw ``d`` is ``p_click * p_sc`` from the recipient posteriors
        (Beta for clicks, :func:`sample_sc_posterior`) given draw ``d`` of the topic parameters
        — the joint posterior of the recipient's rate that :meth:`predict`'s intervals summarise.
        """
        self._check_fitted()
        inv, t, s, c, y = self._combos(pairs)
        take = np.arange(self.draws_["click_mu"].shape[0])
        a_c, b_c, a_s, b_s = self._beta_params(t, s, c, take)
        rng = np.random.default_rng(seed)
        return self._sample_p_signup(rng, a_c, b_c, a_s, b_s, c, y)[:, inv]

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
        independent recipient posteriors (Beta for clicks, :func:`sample_sc_posterior` for the
        signup stage). When ``members x draws <= exact_limit`` they are sampled
        exactly; beyond, the sum over members uses its exact conditional mean and variance with a
        normal term (central limit over many members), clipped at 0.
        """
        self._check_fitted()
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
                total += self._sample_p_signup(
                    rng, a_c[:, idx], b_c[:, idx], a_s[:, idx], b_s[:, idx], c[idx], y[idx]
                ).sum(1)
            return total
        n1 = a_c + b_c
        m1 = a_c / n1
        m2 = sc_posterior_moment(a_s, b_s, c, y, 1, lik)
        e1 = a_c * (a_c + 1) / (n1 * (n1 + 1))
        e2 = sc_posterior_moment(a_s, b_s, c, y, 2, lik)
        mean = (m1 * m2) @ n_k
        var = (e1 * e2 - (m1 * m2) ** 2) @ n_k
        return np.maximum(mean + np.sqrt(var) * rng.standard_normal(len(sub)), 0.0)
