"""Hierarchical beta-binomial: a general estimator for grouped binomial data.

Each unit ``i`` has ``k_i`` successes in ``n_i`` trials and its own rate
``p_i ~ Beta(mu_g kappa_g, (1 - mu_g) kappa_g)``; units optionally belong to groups ``g`` whose
means ``mu_g`` and concentrations ``kappa_g`` are partially pooled through the hyperpriors of
:mod:`priors.rates`. Two likelihoods:

* ``"binomial"`` (default): ``k_i | n_i ~ BetaBinomial(n_i, a, b)`` with ``a = mu kappa``,
  ``b = (1 - mu) kappa`` (the recipient-level rates integrated out);
* ``"any"``: only *whether at least one* of the ``n_i`` trials succeeded is recorded
  (``k_i`` in {0, 1}): ``P(k = 0 | n) = E[(1 - p)^n] = B(a, b + n) / B(a, b)``.

NUTS runs on compressed data — the unique ``(group, k, n)`` rows with their counts as weights
(a weighted ``pm.Potential``) — so the cost does not grow with the number of units. Per-unit
posteriors are closed form given a posterior draw (``Beta(a + k, b + n - k)`` for the binomial
likelihood; for ``"any"`` with ``k = 1`` a positive finite mixture of Betas) and are mixed over
the draws: the mean and sd exactly, the central interval by solving the mixture's CDF.

Layout: validation (:class:`CountsError`, :func:`check_counts`, :func:`units_from_frame`),
likelihood terms (:func:`betabinom_logp`, :func:`any_success_logp`,
:func:`add_rates_likelihood`), per-unit closed forms (:func:`posterior_beta`,
:func:`posterior_moment`, :func:`sample_posterior`, :func:`posterior_quantiles`), the
predictive simulator (:func:`simulate_totals`), the prior predictive
(:func:`prior_predictive`), and the estimator :class:`HierarchicalBetaBinomial` on the model
contract (:mod:`models.base`). The signup model (:mod:`models.signup`) composes the same
pieces for its two stages.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import xarray as xr
from scipy import special

from models.base import BayesianModel
from models.summaries import SAMPLE_DIMS
from priors.rates import HYPER_PARAMS, RATES_PRIORS, check_scales, group_rate_variables
from priors.spec import PriorSet, interval_names

__all__ = [
    "LIKELIHOODS",
    "LOGLIK_MAX_ELEMENTS",
    "CountsError",
    "HierarchicalBetaBinomial",
    "RatesData",
    "add_rates_likelihood",
    "any_success_logp",
    "betabinom_logp",
    "build_rates_model",
    "check_counts",
    "choose_centering",
    "compress_rows",
    "count_form_logp",
    "loglik",
    "posterior_beta",
    "posterior_moment",
    "posterior_quantiles",
    "prior_predictive",
    "sample_posterior",
    "simulate_totals",
    "units_from_frame",
]

#: ``"binomial"``: k successes of n trials; ``"any"``: k = 1 iff at least one of n succeeded
LIKELIHOODS: tuple[str, ...] = ("binomial", "any")
#: the ``log_likelihood`` group (for ``az.loo``) is stored when units x draws is at most this
LOGLIK_MAX_ELEMENTS = 4_000_000


def check_likelihood(likelihood: str) -> str:
    if likelihood not in LIKELIHOODS:
        raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")
    return likelihood


# ----------------------------------------------------------------------------- validation


class CountsError(ValueError):
    """Impossible counts. ``column`` names the column and ``rows`` the 0-based positions of
    the offending rows (the CLI turns them into file line numbers)."""

    def __init__(self, message: str, *, column: str | None = None, rows=None):
        self.reason = message
        self.column = column
        self.rows = [] if rows is None else [int(r) for r in rows]
        where = f"column '{column}': " if column else ""
        shown = ""
        if self.rows:
            more = len(self.rows) - 5
            shown = f" (rows {', '.join(map(str, self.rows[:5]))}" + (
                f" and {more} more)" if more > 0 else ")"
            )
        super().__init__(f"{where}{message}{shown}")


def _bad(mask, message, column):
    mask = np.asarray(mask, bool)
    if mask.any():
        raise CountsError(message, column=column, rows=np.flatnonzero(mask)[:50])


def check_counts(
    successes,
    trials,
    *,
    names: tuple[str, str] = ("successes", "trials"),
    likelihood: str = "binomial",
) -> tuple[np.ndarray, np.ndarray]:
    """Validate counts and return them as ``int64`` arrays.

    Refused, in this order, naming the column and the rows: values that are not numbers,
    missing (NaN), infinite, negative or non-integer values in either column, successes above
    trials, and (``likelihood="any"``) successes other than 0 or 1.
    """
    check_likelihood(likelihood)
    out = []
    for values, name in zip((successes, trials), names, strict=True):
        s = pd.Series(np.asarray(values) if not isinstance(values, pd.Series) else values)
        num = pd.to_numeric(s, errors="coerce")
        _bad(num.isna().to_numpy() & s.notna().to_numpy(), "not a number", name)
        x = num.to_numpy(dtype=float, na_value=np.nan)
        _bad(np.isnan(x), "missing value (NaN/empty)", name)
        _bad(np.isinf(x), "infinite value", name)
        _bad(x < 0, "negative count", name)
        _bad(x != np.floor(x), "not a whole number (counts are integers)", name)
        _bad(x >= 2**53, "count too large", name)
        out.append(x.astype(np.int64))
    k, n = out
    _bad(k > n, f"more {names[0]} than {names[1]} (k > n is impossible)", names[0])
    if likelihood == "any":
        _bad(k > 1, "the 'any' likelihood needs 0/1 (did any trial succeed?)", names[0])
    return k, n


@dataclass
class RatesData:
    """Validated units and their compression.

    ``groups`` and ``units`` are the labels; ``group_index``, ``successes``, ``trials`` run over
    units; ``rows`` are the unique ``(group, successes, trials)`` with ``weight`` (how many units
    share them) and ``row_index`` maps each unit to its row.
    """

    groups: pd.Index
    units: pd.Index
    group_index: np.ndarray
    successes: np.ndarray
    trials: np.ndarray
    likelihood: str = "binomial"

    def __post_init__(self):
        self.rows, self.row_index = compress_rows(self.group_index, self.successes, self.trials)

    @property
    def n_units(self) -> int:
        return len(self.units)

    def data_hash(self) -> str:
        h = hashlib.sha256()
        h.update(json.dumps([list(map(str, self.groups)), self.likelihood]).encode())
        h.update("\x1f".join(map(str, self.units)).encode())
        for a in (self.group_index, self.successes, self.trials):
            h.update(np.ascontiguousarray(a, dtype=np.int64).tobytes())
        return h.hexdigest()


def compress_rows(group_index, successes, trials) -> tuple[pd.DataFrame, np.ndarray]:
    """Unique ``(group, successes, trials)`` rows sorted, with ``weight`` = units sharing
    them, and the unit -> row index (sufficient statistics of the likelihood)."""
    g = np.asarray(group_index, np.int64)
    k = np.asarray(successes, np.int64)
    n = np.asarray(trials, np.int64)
    if len(g) == 0:
        empty = pd.DataFrame({c: np.zeros(0, np.int64) for c in ("group", "successes", "trials")})
        return empty.assign(weight=np.zeros(0, np.int64)), np.zeros(0, np.int64)
    key = np.stack([g, n, k], axis=1)
    uniq, inverse, counts = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    rows = pd.DataFrame(
        {"group": uniq[:, 0], "successes": uniq[:, 2], "trials": uniq[:, 1], "weight": counts}
    )
    return rows, np.asarray(inverse, np.int64).ravel()


def units_from_frame(
    df: pd.DataFrame,
    *,
    successes: str = "successes",
    trials: str = "trials",
    group: str | None = None,
    unit: str | None = None,
    likelihood: str = "binomial",
    groups: pd.Index | None = None,
) -> RatesData:
    """Validate a table of units and compress it (:class:`RatesData`).

    Missing columns, bad counts (:func:`check_counts`), missing group or unit labels and
    duplicated unit labels raise :class:`CountsError` naming the column and rows. Without
    ``group`` every unit is in one group ``"all"``; without ``unit`` units are labelled by
    their row position (0-based). ``groups`` fixes the group labels (predicting for a fitted
    model: unknown groups are refused).
    """
    cols = [successes, trials] + [c for c in (group, unit) if c]
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise CountsError(f"missing column(s) {missing}; found {list(df.columns)}")
    k, n = check_counts(df[successes], df[trials], names=(successes, trials), likelihood=likelihood)
    if group:
        gcol = df[group]
        _bad(gcol.isna().to_numpy(), "missing group label", group)
        labels = gcol.astype(str).to_numpy()
    else:
        labels = np.full(len(df), "all", dtype=object)
    if groups is None:
        gi, uniq = pd.factorize(labels, sort=True)
        groups = pd.Index(np.asarray(uniq, dtype=object).astype(str), dtype=object)
    else:
        gi = pd.Index(groups).get_indexer(labels)
        _bad(gi < 0, f"group(s) not in the fitted model {list(groups)[:10]}", group or "group")
    if unit:
        ucol = df[unit]
        _bad(ucol.isna().to_numpy(), "missing unit label", unit)
        ulab = ucol.astype(str)
        _bad(ulab.duplicated(keep=False).to_numpy(), "duplicated unit label", unit)
        units = pd.Index(ulab.to_numpy(dtype=object), dtype=object)
    else:
        units = pd.Index(np.arange(len(df)).astype(str), dtype=object)
    return RatesData(
        groups=pd.Index(groups, dtype=object),
        units=units,
        group_index=np.asarray(gi, np.int64),
        successes=k,
        trials=n,
        likelihood=likelihood,
    )


# ----------------------------------------------------------------------------- likelihood


def betabinom_logp(k, n, a, b):
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


def any_success_logp(y, n, a, b):
    """``log P(Y = y | n)`` when ``Y = 1`` iff at least one of ``n`` trials succeeds and the
    unit's rate is ``p ~ Beta(a, b)`` (pytensor).

    ``P(Y = 0 | n) = E[(1 - p)^n] = B(a, b + n) / B(a, b)`` (the Beta moment), so
    ``log P(Y = 0) = betaln(a, b + n) - betaln(a, b)`` and ``log P(Y = 1) =
    log1mexp(log P(Y = 0))`` (stable when ``P(Y = 0)`` is close to 1).
    """
    import pytensor.tensor as pt
    from pytensor.tensor.special import betaln

    log_p0 = betaln(a, b + n) - betaln(a, b)
    return pt.switch(pt.eq(y, 0), log_p0, pt.log1mexp(log_p0))


#: the count form of the likelihood (:func:`count_form_logp`) is used when it needs at most this
#: many log terms per compressed row (else the gamma-function form, one row at a time)
COUNT_FORM_TERMS_PER_ROW = 8
#: and at most this many terms in all (the count statistics are dense over ``j < max n``)
COUNT_FORM_MAX_TERMS = 2_000_000


def _tail_counts(g, v, w, n_groups: int) -> np.ndarray:
    """``T[g, j] = sum_r w_r [g_r = g, v_r > j]`` for ``j < max v`` (dense, groups x max v)."""
    vmax = int(v.max()) if len(v) else 0
    h = np.zeros((n_groups, vmax + 1))
    np.add.at(h, (g, v.astype(np.int64)), w)
    return np.cumsum(h[:, ::-1], axis=1)[:, ::-1][:, 1:]


def _count_form_size(g, k, n, likelihood: str) -> int:
    n_groups = int(g.max()) + 1 if len(g) else 0
    width = int(n.max()) if len(n) else 0
    return n_groups * width * (3 if likelihood == "binomial" else 1)


def count_form_logp(group_index, successes, trials, weight, a, b, likelihood: str = "binomial"):
    """``sum_r weight_r * logp(k_r | n_r, a_g, b_g)`` from count statistics (pytensor), equal to
    the row-by-row sum of :func:`betabinom_logp` / :func:`any_success_logp` (constant included).

    For integer counts the Beta functions are finite products:
    ``B(k + a, n - k + b) / B(a, b) = prod_{j<k} (a + j) prod_{j<n-k} (b + j) /
    prod_{j<n} (a + b + j)``, so the weighted sum over rows depends on the data only through
    ``A_gj = sum_r w_r [k_r > j]``, ``B_gj = sum_r w_r [n_r - k_r > j]`` and
    ``N_gj = sum_r w_r [n_r > j]`` per group:
    ``sum_j A_gj log(a_g + j) + B_gj log(b_g + j) - N_gj log(a_g + b_g + j)``. Its gradient
    needs reciprocals instead of digammas, and there are ``groups x max n`` terms instead of
    rows x 6 special functions: on the 1M signup pairs (1,415 rows) the gradient takes 0.17 ms
    instead of 0.59 ms (x3.4, ``tests/benchmarks/bench_signup.py``). For ``"any"``, ``log P(Y = 0 | n) = sum_{j<n} log((b + j) /
    (a + b + j))`` (a cumulative sum over ``j``) and the ``Y = 1`` rows take
    ``log1mexp`` of it row by row. ``weight`` is a NumPy array (the counts are built here)."""
    import pytensor.tensor as pt

    g = np.asarray(group_index, np.int64)
    k = np.asarray(successes, np.int64)
    n = np.asarray(trials, np.int64)
    w = np.asarray(weight, float)
    n_groups = int(g.max()) + 1 if len(g) else 0
    if likelihood == "binomial":
        const = float(
            np.sum(
                w * (special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1))
            )
        )
        total = pt.as_tensor_variable(const)
        for counts, shape in (
            (_tail_counts(g, k, w, n_groups), a),
            (_tail_counts(g, n - k, w, n_groups), b),
            (-_tail_counts(g, n, w, n_groups), a + b),
        ):
            gi, j = np.nonzero(counts)
            if len(gi):
                total = total + pt.sum(counts[gi, j] * pt.log(shape[gi] + j))
        return total
    width = int(n.max()) if len(n) else 0
    ab = a + b
    j = np.arange(width, dtype=float)
    d = pt.log(b[:n_groups, None] + j) - pt.log(ab[:n_groups, None] + j)  # log P(Y=0) steps
    total = pt.as_tensor_variable(0.0)
    zero, one = k == 0, k == 1
    z = _tail_counts(g[zero], n[zero], w[zero], n_groups)
    gi, jj = np.nonzero(z)
    if len(gi):  # flat indices: one-dimensional gathers are the cheap ones
        total = total + pt.sum(z[gi, jj] * d.ravel()[gi * width + jj])
    if np.any(one & (n == 0)):
        raise ValueError("a unit with a success in 0 trials is impossible")
    if np.any(one):
        cum = pt.cumsum(d, axis=1).ravel()  # cum[g, n - 1] = log P(Y = 0 | n)
        log_p0 = cum[g[one] * width + n[one] - 1]
        total = total + pt.sum(w[one] * pt.log1mexp(log_p0))
    return total


def add_rates_likelihood(
    name: str,
    group_index,
    successes,
    trials,
    weight,
    mu,
    kappa,
    likelihood: str = "binomial",
):
    """Add ``sum_r weight_r * logp(k_r | n_r, a_g, b_g)`` over compressed rows as the
    ``pm.Potential`` ``name`` of the current model (``weight`` may be ``pm.Data``).

    With NumPy weights and counts small enough (:data:`COUNT_FORM_TERMS_PER_ROW`,
    :data:`COUNT_FORM_MAX_TERMS`) the sum is built from count statistics
    (:func:`count_form_logp`, the same value, several times cheaper to differentiate);
    otherwise row by row."""
    import pymc as pm

    check_likelihood(likelihood)
    g = np.asarray(group_index, np.int64)
    a = mu * kappa
    b = (1 - mu) * kappa
    k = np.asarray(successes, float)
    n = np.asarray(trials, float)
    size = _count_form_size(g, k, n, likelihood)
    if isinstance(weight, np.ndarray) and size <= min(
        COUNT_FORM_MAX_TERMS, COUNT_FORM_TERMS_PER_ROW * max(len(g), 1)
    ):
        return pm.Potential(name, count_form_logp(g, k, n, weight, a, b, likelihood))
    ag, bg = a[g], b[g]
    logp = any_success_logp(k, n, ag, bg) if likelihood == "any" else betabinom_logp(k, n, ag, bg)
    return pm.Potential(name, (weight * logp).sum())


def choose_centering(
    rows: pd.DataFrame,
    n_groups: int,
    likelihood: str = "binomial",
    min_count: int = 20,
    min_extra_trials: int = 5000,
) -> dict:
    """Parameterisation of the group latents from the compressed rows (``group, successes,
    trials, weight``): centred where the data pin the latent down in every group, non-centred
    (``loc + scale * z``) where they may not (the funnel of weakly identified latents).

    * ``logit mu``: centred when every group has at least ``min_count`` successes and
      ``min_count`` failures;
    * ``log kappa``: identified only by the variation *between* units, which the trials beyond
      each unit's first carry: centred when every group has ``sum_i max(n_i - 1, 0) >=
      min_extra_trials`` and the likelihood is ``"binomial"`` (``"any"`` records one bit per
      unit, which barely informs ``kappa``: always non-centred).

    Measured: on the recovery data of ``tests/test_rates.py`` (300 units per group, n up to
    40: ~5,700 extra trials) centring ``log kappa`` took NUTS from 17 to 8 leapfrog steps per
    draw and tripled the bulk ESS; on 1M signup pairs (~150,000 per topic) from 49.7 to 20.8
    steps; on the quick demo (~1,100 per topic) it caused divergences, so it stays
    non-centred there."""
    g = rows["group"].to_numpy(np.int64)
    w = rows["weight"].to_numpy(float)
    k = rows["successes"].to_numpy(float)
    n = rows["trials"].to_numpy(float)
    succ = np.bincount(g, weights=w * k, minlength=n_groups)
    fail = np.bincount(g, weights=w * (n - k), minlength=n_groups)
    extra = np.bincount(g, weights=w * np.maximum(n - 1, 0), minlength=n_groups)
    return {
        "logit_mu": bool(n_groups and succ.min() >= min_count and fail.min() >= min_count),
        "log_kappa": bool(
            n_groups and likelihood == "binomial" and extra.min() >= min_extra_trials
        ),
    }


def build_rates_model(
    rows: pd.DataFrame,
    groups,
    priors: Mapping | None = None,
    likelihood: str = "binomial",
    *,
    centered: Mapping[str, bool] | None = None,
    weights_as_data: bool = False,
):
    """The PyMC model on compressed rows (``group, successes, trials, weight``): the declared
    hyperpriors, per-group ``mu``/``kappa`` (dims ``group``) and the weighted likelihood
    ``loglik``. ``centered`` defaults to :func:`choose_centering` on the data;
    ``weights_as_data=True`` holds the weights in ``pm.Data("weight", dims="row")`` so that one
    compiled model takes other data on the same rows (:func:`pm.set_data`; simulation-based
    calibration)."""
    import pymc as pm

    priors = RATES_PRIORS if priors is None else priors
    groups = [str(g) for g in groups]
    w = rows["weight"].to_numpy(float)
    if centered is None:
        centered = choose_centering(rows, len(groups), likelihood)
    coords = {"group": groups}
    if weights_as_data:
        coords["row"] = np.arange(len(rows))
    with pm.Model(coords=coords) as model:
        mu, kappa = group_rate_variables(
            priors, dim="group", n_groups=len(groups), centered=centered
        )
        weight = pm.Data("weight", w, dims="row") if weights_as_data else w
        add_rates_likelihood(
            "loglik",
            rows["group"],
            rows["successes"],
            rows["trials"],
            weight,
            mu,
            kappa,
            likelihood,
        )
    return model


# ----------------------------------------------------------------------------- closed forms


def posterior_beta(a, b, successes, trials, likelihood: str = "binomial"):
    """``(a', b', mixture)``: a unit's posterior given ``p ~ Beta(a, b)`` and its counts.

    ``"binomial"``: ``Beta(a + k, b + n - k)`` everywhere. ``"any"``: ``Beta(a, b + n)`` for
    ``k = 0``; the prior ``Beta(a, b)`` for ``k = 1, n = 0`` (no information); for ``k = 1,
    n >= 1`` (``mixture``) the density ``∝ Beta(p; a, b)(1 - (1 - p)^n)`` is not a Beta and the
    returned ``(a, b)`` are placeholders (see :func:`posterior_moment`)."""
    k = np.asarray(successes, float)
    n = np.asarray(trials, float)
    if likelihood == "binomial":
        return a + k, b + n - k, np.zeros(np.broadcast_shapes(np.shape(a), k.shape), bool)
    mixture = np.broadcast_to((k >= 1) & (n >= 1), np.broadcast_shapes(np.shape(a), k.shape))
    return a + 0 * k, np.where(mixture, b, b + n), mixture


def _log_beta_drop(a, b, n):
    """``log(B(a, b) - B(a, b + n))`` for ``n >= 1``, via ``expm1`` (stable when close)."""
    return special.betaln(a, b) + np.log(-np.expm1(special.betaln(a, b + n) - special.betaln(a, b)))


def _broadcast(a, b, successes, trials):
    a, b, k, n = np.broadcast_arrays(
        np.asarray(a, float), np.asarray(b, float), np.asarray(successes), np.asarray(trials)
    )
    return a, b, np.asarray(k, float), np.asarray(n, float)


def posterior_moment(a, b, successes, trials, order: int = 1, likelihood: str = "binomial"):
    """``E[p^order | k, n]`` of a unit's rate with prior ``Beta(a, b)``.

    Beta moments where the posterior is a Beta (:func:`posterior_beta`); for the ``"any"``
    likelihood with ``k = 1, n >= 1``

    .. math:: E[p^r] = \\frac{B(a + r, b) - B(a + r, b + n)}{B(a, b) - B(a, b + n)}

    in logs with ``expm1``. All arguments broadcast (``a``, ``b`` may carry a draw axis).
    """
    check_likelihood(likelihood)
    a, b, k, n = _broadcast(a, b, successes, trials)
    aa, bb, mix = posterior_beta(a, b, k, n, likelihood)
    out = np.atleast_1d(np.exp(special.betaln(aa + order, bb) - special.betaln(aa, bb)))
    if mix.any():
        a1, b1, n1 = a[mix], b[mix], n[mix]
        out[np.atleast_1d(mix)] = np.exp(
            _log_beta_drop(a1 + order, b1, n1) - _log_beta_drop(a1, b1, n1)
        )
    return out.reshape(a.shape)


def _any_weights(a, b, n):
    """Mixture weights of the ``k = 1`` posterior: ``1 - (1 - p)^n = p sum_{j<n} (1 - p)^j``
    ("first success at trial ``j + 1``"), so the density is ``sum_{j<n} w_j Beta(p; a + 1,
    b + j)`` with ``w_0 = 1``, ``w_{j+1} = w_j (b + j)/(a + b + 1 + j)`` (unnormalised).
    Yields ``(j, on, w)`` for ``j < max n``; ``on`` marks the elements with ``j < n``."""
    n = np.asarray(n)
    w = np.ones_like(a)
    for j in range(int(n.max()) if n.size else 0):
        yield j, j < n, w
        w = w * (b + j) / (a + b + 1 + j)


def sample_posterior(rng: np.random.Generator, a, b, successes, trials, likelihood="binomial"):
    """One exact draw per element of a unit's posterior rate (broadcasts).

    For the ``"any"`` mixture (:func:`_any_weights`) the component ``j`` is picked by inverse
    CDF, then its Beta drawn: no rejection (whose acceptance would be ``P(k = 1 | n)``, a few
    percent for rare successes), no signed weights."""
    check_likelihood(likelihood)
    a, b, k, n = _broadcast(a, b, successes, trials)
    aa, bb, mix = posterior_beta(a, b, k, n, likelihood)
    out = rng.beta(aa, bb)
    if mix.any():
        am, bm, nm = a[mix], b[mix], n[mix]
        total = np.zeros_like(am)
        for _, on, w in _any_weights(am, bm, nm):
            total += np.where(on, w, 0.0)
        u = rng.random(am.shape) * total
        cum = np.zeros_like(am)
        pick = np.zeros(am.shape, np.int64)
        for j, on, w in _any_weights(am, bm, nm):
            cum += np.where(on, w, 0.0)
            pick += (cum < u) & (j < nm - 1)
        out[mix] = rng.beta(am + 1, bm + pick)
    return out


def _cdf_pdf(x, a, b, k, n, likelihood):
    """Per-element posterior CDF and density at ``x`` (``x`` broadcasts against ``a``)."""
    a, b, k, n = _broadcast(a, b, k, n)
    aa, bb, mix = posterior_beta(a, b, k, n, likelihood)
    x = np.broadcast_to(x, aa.shape)
    cdf = special.betainc(aa, bb, x)
    with np.errstate(divide="ignore"):
        logpdf = (aa - 1) * np.log(x) + (bb - 1) * np.log1p(-x) - special.betaln(aa, bb)
    pdf = np.exp(logpdf)
    if mix.any():
        am, bm, nm, xm = a[mix], b[mix], n[mix], x[mix]
        c = np.zeros_like(am)
        d = np.zeros_like(am)
        tot = np.zeros_like(am)
        for j, on, w in _any_weights(am, bm, nm):
            ww = np.where(on, w, 0.0)
            tot += ww
            c += ww * special.betainc(am + 1, bm + j, xm)
            with np.errstate(divide="ignore"):
                d += ww * np.exp(
                    am * np.log(xm) + (bm + j - 1) * np.log1p(-xm) - special.betaln(am + 1, bm + j)
                )
        cdf[mix] = c / tot
        pdf[mix] = d / tot
    return cdf, pdf


def posterior_quantiles(a, b, successes, trials, probs, likelihood="binomial", tol=1e-9):
    """Quantiles of each unit's posterior **mixed over draws**: ``a``, ``b`` are ``(draws,
    units)`` prior parameters (one row per posterior draw), ``successes``/``trials``
    ``(units,)``; returns ``(len(probs), units)``.

    Solves ``mean_d F_d(x) = q`` (``F_d`` the closed-form posterior CDF given draw ``d``) by
    Newton steps on ``logit x`` kept inside a bracket (false position otherwise), to a relative precision ``tol``:
    exact, no sampling noise.
    """
    check_likelihood(likelihood)
    a = np.atleast_2d(np.asarray(a, float))
    b = np.atleast_2d(np.asarray(b, float))
    k = np.asarray(successes, float)
    n = np.asarray(trials, float)
    n_u = a.shape[1]
    out = np.empty((len(probs), n_u))
    m1 = posterior_moment(a, b, k, n, 1, likelihood)
    m2 = posterior_moment(a, b, k, n, 2, likelihood)
    mean = m1.mean(0)
    var = np.maximum(m2.mean(0) - mean**2, 1e-300)
    # start from the Beta with the mixture's mean and variance
    conc = np.maximum(mean * (1 - mean) / var - 1, 1e-3)
    alpha0, beta0 = mean * conc, (1 - mean) * conc
    for qi, q in enumerate(probs):
        # Newton on u = logit(x) (dF/du = f(x) x (1 - x)): well behaved near 0 and 1;
        # a step leaving the bracket [lo, hi] falls back to bisection
        lo, hi = np.full(n_u, -50.0), np.full(n_u, 50.0)
        f_lo, f_hi = np.full(n_u, -q), np.full(n_u, 1 - q)
        u = special.logit(np.clip(special.betaincinv(alpha0, beta0, q), 1e-12, 1 - 1e-12))
        todo = np.arange(n_u)
        for _ in range(200):
            if not len(todo):
                break
            ut = u[todo]
            x = special.expit(ut)
            cdf, pdf = _cdf_pdf(x, a[:, todo], b[:, todo], k[todo], n[todo], likelihood)
            f = cdf.mean(0) - q
            slope = pdf.mean(0) * x * (1 - x)
            below = f < 0
            lo[todo] = np.where(below, ut, lo[todo])
            f_lo[todo] = np.where(below, f, f_lo[todo])
            hi[todo] = np.where(below, hi[todo], ut)
            f_hi[todo] = np.where(below, f_hi[todo], f)
            lt, ht, fl, fh = lo[todo], hi[todo], f_lo[todo], f_hi[todo]
            with np.errstate(divide="ignore", invalid="ignore"):
                step = ut - f / slope
                secant = lt - fl * (ht - lt) / (fh - fl)
            ok = np.isfinite(step) & (step >= lt) & (step <= ht)
            inside = np.isfinite(secant) & (secant >= lt) & (secant <= ht)
            new = np.where(ok, step, np.where(inside, secant, 0.5 * (lt + ht)))
            done = (ok & (np.abs(step - ut) < tol)) | (ht - lt < tol) | (f == 0)
            u[todo] = new
            todo = todo[~done]
        out[qi] = special.expit(u)
    return out


def loglik(successes, trials, a, b, likelihood="binomial") -> np.ndarray:
    """Pointwise log-likelihood (NumPy) of compressed rows under per-draw ``a``, ``b``:
    the same terms as the fitted ``pm.Potential``, for ``az.loo``."""
    k = np.asarray(successes, float)
    n = np.asarray(trials, float)
    if likelihood == "any":
        log_p0 = special.betaln(a, b + n) - special.betaln(a, b)
        with np.errstate(divide="ignore"):
            return np.where(k == 0, log_p0, np.log(-np.expm1(log_p0)))
    return (
        special.gammaln(n + 1)
        - special.gammaln(k + 1)
        - special.gammaln(n - k + 1)
        + special.betaln(k + a, n - k + b)
        - special.betaln(a, b)
    )


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


def simulate_totals(
    rng: np.random.Generator, mu, kappa, rows: pd.DataFrame, n_groups: int, likelihood="binomial"
) -> dict[str, np.ndarray]:
    """Predictive per-group totals for the compressed design, one row per draw.

    ``mu``/``kappa`` are ``(draws, group)``; ``rows`` has ``group, trials, weight`` (and
    ``successes``, unused). For every ``(group, n)`` cell of ``m`` units: ``"binomial"`` draws
    the successes histogram ``Multinomial(m, BetaBinomial(. | n))``; ``"any"`` the number of
    units with a success, ``Binomial(m, 1 - B(a, b + n)/B(a, b))``. Returns ``successes``
    (total) and ``zero_share`` (share of units with ``k = 0``), each ``(draws, group)``.
    """
    cell = rows.groupby(["group", "trials"], sort=True)["weight"].sum().reset_index()
    g = cell["group"].to_numpy(np.int64)
    n = cell["trials"].to_numpy(np.int64)
    m = cell["weight"].to_numpy(np.int64)
    mu, kappa = np.atleast_2d(mu), np.atleast_2d(kappa)
    n_d = mu.shape[0]
    units = np.bincount(g, weights=m, minlength=n_groups)
    total = np.zeros((n_d, n_groups))
    zero = np.zeros((n_d, n_groups))
    n_max = int(n.max()) if len(n) else 0
    for d in range(n_d):  # loop over draws only; cells are vectorised
        a = mu[d, g] * kappa[d, g]
        b = (1 - mu[d, g]) * kappa[d, g]
        if likelihood == "any":
            p0 = np.exp(special.betaln(a, b + n) - special.betaln(a, b))
            hit = rng.binomial(m, 1 - p0)
            total[d] = np.bincount(g, weights=hit, minlength=n_groups)
            zero[d] = np.bincount(g, weights=m - hit, minlength=n_groups)
        else:
            hist = rng.multinomial(m, _betabinom_pmf_table(n_max, n, a, b))
            total[d] = np.bincount(g, weights=hist @ np.arange(n_max + 1), minlength=n_groups)
            zero[d] = np.bincount(g, weights=hist[:, 0], minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"successes": total, "zero_share": zero / units}


def observed_totals(rows: pd.DataFrame, n_groups: int) -> dict[str, np.ndarray]:
    """The observed counterparts of :func:`simulate_totals` (``(group,)`` arrays)."""
    g = rows["group"].to_numpy(np.int64)
    w = rows["weight"].to_numpy(float)
    k = rows["successes"].to_numpy(float)
    units = np.bincount(g, weights=w, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        zero = np.bincount(g, weights=w * (k == 0), minlength=n_groups) / units
    return {"successes": np.bincount(g, weights=w * k, minlength=n_groups), "zero_share": zero}


# ----------------------------------------------------------------------------- prior predictive


def prior_predictive(
    priors: Mapping, *, prefix: str = "", n_draws: int = 4000, seed: int = 0, n_groups: int = 2
) -> dict[str, np.ndarray]:
    """Draws of one hierarchy's headline quantities before any data (NumPy, no compile):
    a group's mean rate ``mu``, its concentration ``kappa`` and a unit's rate ``p`` (for the
    first group), from the declared hyperpriors. ``n_groups == 1`` uses the location priors
    directly (as :func:`priors.rates.group_rate_variables` does)."""
    rng = np.random.default_rng(seed)
    hyper = {
        p: np.asarray(priors[f"{prefix}{p}"].sample(rng, n_draws), float) for p in HYPER_PARAMS
    }
    if n_groups == 1:
        logit_mu, log_kappa = hyper["logit_mu_loc"], hyper["log_kappa_loc"]
    else:
        logit_mu = hyper["logit_mu_loc"] + hyper["logit_mu_scale"] * rng.standard_normal(n_draws)
        log_kappa = hyper["log_kappa_loc"] + hyper["log_kappa_scale"] * rng.standard_normal(n_draws)
    mu = special.expit(logit_mu)
    kappa = np.exp(np.clip(log_kappa, -30, 30))
    p = rng.beta(np.maximum(mu * kappa, 1e-300), np.maximum((1 - mu) * kappa, 1e-300))
    return {"mu": mu, "kappa": kappa, "p": p}


# ----------------------------------------------------------------------------- the estimator


class HierarchicalBetaBinomial(BayesianModel):
    """Hierarchical beta-binomial for grouped binomial data, on the model contract.

    Parameters
    ----------
    priors : PriorSet or mapping, optional
        Hyperpriors (default :data:`priors.rates.RATES_PRIORS`; a mapping overrides entries).
    sampler : SamplerConfig or dict, optional
        NUTS settings (:class:`models.sampling.SamplerConfig` defaults: 4 chains × 1000).
    likelihood : {"binomial", "any"}
        ``k`` successes of ``n`` trials, or ``k`` in {0, 1}: at least one success among ``n``.
    predictive_draws : int
        Draws used for the per-group prior/posterior predictive totals.

    ``fit(data, successes=..., trials=..., group=None, unit=None)`` takes a table with one row
    per unit; :meth:`predict` returns per-draw unit rates ``(chain, draw, unit)``;
    :meth:`unit_table` the exact per-unit posterior summary; :meth:`group_table` the group
    means and concentrations.

    >>> m = HierarchicalBetaBinomial(sampler={"draws": 200, "tune": 200, "chains": 2})
    >>> m  # doctest: +ELLIPSIS
    HierarchicalBetaBinomial(priors=PriorSet(rates: logit_mu_loc=Normal(mu=0, sigma=2), ...
    """

    domain: ClassVar[str] = "rates"
    entity: ClassVar[str] = "unit"

    def __init__(
        self,
        priors: PriorSet | Mapping | None = None,
        sampler=None,
        *,
        likelihood: str = "binomial",
        predictive_draws: int = 200,
    ):
        super().__init__(priors=priors, sampler=sampler)
        self.likelihood = likelihood
        self.predictive_draws = predictive_draws

    @classmethod
    def default_priors(cls) -> PriorSet:
        return RATES_PRIORS

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        data: pd.DataFrame | RatesData,
        *,
        successes: str = "successes",
        trials: str = "trials",
        group: str | None = None,
        unit: str | None = None,
        source=None,
    ):
        """Fit on a table with one row per unit (``successes`` of ``trials``, optional
        ``group`` and ``unit`` label columns) or on a :class:`RatesData`."""
        self.columns_ = {"successes": successes, "trials": trials, "group": group, "unit": unit}
        extra = {"likelihood": self.likelihood, "columns": json.dumps(self.columns_)}
        return super().fit(data, source=source, extra_attrs=extra)

    def _prepare(self, data) -> RatesData:
        check_likelihood(self.likelihood)
        check_scales(self.priors_)
        if isinstance(data, RatesData):
            prepared = data
        else:
            prepared = units_from_frame(data, likelihood=self.likelihood, **self.columns_)
        if prepared.likelihood != self.likelihood:
            raise ValueError(
                f"data prepared for the {prepared.likelihood!r} likelihood, model uses "
                f"{self.likelihood!r}"
            )
        if prepared.n_units == 0:
            raise CountsError("no units to fit on (the table has no rows)")
        return prepared

    def _data_hash(self, prepared: RatesData) -> str:
        return prepared.data_hash()

    def build_model(self, prepared: RatesData):
        return build_rates_model(prepared.rows, prepared.groups, self.priors_, self.likelihood)

    def _fit_idata(self, prepared):
        import warnings

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*Potential.*")
            return super()._fit_idata(prepared)

    def _add_groups(self, idata, model, prepared: RatesData) -> None:
        idata.attrs["free_vars"] = json.dumps(self._free_vars)
        rng = np.random.default_rng(self.sampler_.seed + 2)
        n_g = len(prepared.groups)
        coords = {"group": list(prepared.groups)}

        def totals(ds):
            mu, kappa = (_flat(ds[v], "group") for v in ("mu", "kappa"))
            take = np.linspace(0, len(mu) - 1, min(len(mu), self.predictive_draws)).astype(int)
            sim = simulate_totals(rng, mu[take], kappa[take], prepared.rows, n_g, self.likelihood)
            return xr.Dataset(
                {k: (("chain", "draw", "group"), v[None]) for k, v in sim.items()},
                coords={"chain": [0], "draw": np.arange(len(take)), **coords},
            )

        idata.add_groups(
            posterior_predictive=totals(idata.posterior),
            prior_predictive=totals(idata.prior),
        )
        n_s = idata.posterior.sizes["chain"] * idata.posterior.sizes["draw"]
        if prepared.n_units * n_s <= LOGLIK_MAX_ELEMENTS:
            a, b = self._ab(idata.posterior, prepared.rows["group"].to_numpy())
            ll = loglik(prepared.rows["successes"], prepared.rows["trials"], a, b, self.likelihood)
            ll = ll[:, prepared.row_index].reshape(
                idata.posterior.sizes["chain"], idata.posterior.sizes["draw"], -1
            )
            idata.add_groups(
                log_likelihood=xr.Dataset(
                    {"successes": (("chain", "draw", "unit"), ll)},
                    coords={
                        "chain": idata.posterior["chain"].values,
                        "draw": idata.posterior["draw"].values,
                        "unit": list(prepared.units),
                    },
                )
            )

    def _data_groups(self, prepared: RatesData) -> dict:
        coords = {"unit": list(prepared.units), "group": list(prepared.groups)}
        const = xr.Dataset(
            {
                "trials": ("unit", prepared.trials),
                "group_index": ("unit", prepared.group_index),
            },
            coords=coords,
        )
        obs_tot = observed_totals(prepared.rows, len(prepared.groups))
        obs = xr.Dataset(
            {
                "successes": ("unit", prepared.successes),
                **{f"group_{k}": ("group", v) for k, v in obs_tot.items()},
            },
            coords=coords,
        )
        return {"constant_data": const, "observed_data": obs}

    def _restore(self, idata) -> None:
        self.likelihood = str(idata.attrs.get("likelihood", self.likelihood))
        cols = idata.attrs.get("columns")
        self.columns_ = json.loads(cols) if isinstance(cols, str) else getattr(self, "columns_", {})
        const, obs = idata.constant_data, idata.observed_data
        self.data_ = RatesData(
            groups=pd.Index([str(g) for g in const["group"].values], dtype=object),
            units=pd.Index([str(u) for u in const["unit"].values], dtype=object),
            group_index=const["group_index"].values.astype(np.int64),
            successes=obs["successes"].values.astype(np.int64),
            trials=const["trials"].values.astype(np.int64),
            likelihood=self.likelihood,
        )
        self.groups_ = self.data_.groups

    def _diag_vars(self, idata) -> list[str] | None:
        """The sampled variables (recorded in the file's ``free_vars`` attr at fit time)."""
        free = getattr(self, "_free_vars", None)
        if free is None and "free_vars" in idata.attrs:
            free = json.loads(idata.attrs["free_vars"])
        return free

    @classmethod
    def from_draws(
        cls,
        groups,
        mu,
        kappa,
        *,
        likelihood: str = "binomial",
        columns: Mapping[str, str | None] | None = None,
    ) -> HierarchicalBetaBinomial:
        """A 'fitted' model from draws of the group parameters ``mu``, ``kappa`` (each
        ``(draws, groups)``; one draw is a point posterior): used to show that empirical Bayes
        ``(k + alpha p0)/(n + alpha)`` is the special case ``kappa = alpha``, ``mu = p0``, and
        for parameters fitted elsewhere. It predicts for given units (``columns`` name them:
        default ``successes``, ``trials``, ``group``); it holds no data, diagnostics or
        provenance."""
        import arviz as az

        groups = [str(g) for g in groups]
        post = {
            k: np.atleast_2d(np.asarray(v, float)) * np.ones((1, len(groups)))
            for k, v in (("mu", mu), ("kappa", kappa))
        }
        self = cls(likelihood=likelihood)
        self.idata_ = az.from_dict(
            posterior={k: v[None] for k, v in post.items()},
            coords={"group": groups},
            dims={"mu": ["group"], "kappa": ["group"]},
        )
        self.groups_ = pd.Index(groups, dtype=object)
        self.data_ = None
        self.columns_ = {"successes": "successes", "trials": "trials", "group": "group"}
        self.columns_.update(columns or {})
        self.columns_.setdefault("unit", None)
        return self

    # ------------------------------------------------------------------ predict
    def _ab(self, ds, group_index, take=None):
        """Per-draw prior ``(a, b)`` of units in groups ``group_index``: ``(draws, len)``."""
        mu, kappa = _flat(ds["mu"], "group"), _flat(ds["kappa"], "group")
        if take is not None:
            mu, kappa = mu[take], kappa[take]
        mu, kappa = mu[:, group_index], kappa[:, group_index]
        return mu * kappa, (1 - mu) * kappa

    def _units(self, data) -> RatesData:
        self.check_fitted()
        if data is None:
            if self.data_ is None:
                raise ValueError("this model holds no fitted units; pass the units to predict")
            return self.data_
        if isinstance(data, RatesData):
            return data
        cols = dict(self.columns_)
        return units_from_frame(data, likelihood=self.likelihood, groups=self.groups_, **cols)

    def predict(self, data=None, *, kind: str = "mean", seed: int = 0) -> xr.Dataset:
        """Per-draw unit rates, ``rate`` with dims ``(chain, draw, unit)``.

        ``kind="mean"``: the closed-form posterior mean of each unit's rate given the draw's
        group parameters (averaging over draws gives the exact posterior mean);
        ``kind="sample"``: one exact draw of each unit's rate per posterior draw (draws from
        its marginal posterior). ``data`` (same columns as the fit; known groups) predicts
        other units; default: the fitted ones. Memory is draws × units: for large tables use
        :meth:`unit_table`, which works on the unique rows.
        """
        units = self._units(data)
        rows = units.rows
        post = self.idata_.posterior
        a, b = self._ab(post, rows["group"].to_numpy())
        k, n = rows["successes"].to_numpy(), rows["trials"].to_numpy()
        if kind == "mean":
            r = posterior_moment(a, b, k, n, 1, self.likelihood)
        elif kind == "sample":
            r = sample_posterior(np.random.default_rng(seed), a, b, k, n, self.likelihood)
        else:
            raise ValueError(f"kind must be 'mean' or 'sample', got {kind!r}")
        r = r[:, units.row_index].reshape(post.sizes["chain"], post.sizes["draw"], -1)
        return xr.Dataset(
            {"rate": (("chain", "draw", "unit"), r)},
            coords={
                "chain": post["chain"].values,
                "draw": post["draw"].values,
                "unit": list(units.units),
            },
        )

    def unit_table(self, data=None, *, prob: float = 0.9) -> pd.DataFrame:
        """Per-unit posterior: ``unit, group, successes, trials, mean, sd, lower_90,
        upper_90`` (interval names follow ``prob``), exact mixtures over the posterior draws:
        ``mean = mean_d E[p | d]``, ``sd² = mean_d Var[p | d] + Var_d E[p | d]``, and the
        central interval from the mixture CDF (:func:`posterior_quantiles`). Computed on the
        unique ``(group, k, n)`` rows and mapped back to units."""
        units = self._units(data)
        rows = units.rows
        a, b = self._ab(self.idata_.posterior, rows["group"].to_numpy())
        k, n = rows["successes"].to_numpy(), rows["trials"].to_numpy()
        m1 = posterior_moment(a, b, k, n, 1, self.likelihood)
        m2 = posterior_moment(a, b, k, n, 2, self.likelihood)
        mean = m1.mean(0)
        sd = np.sqrt(np.maximum(m2.mean(0) - mean**2, 0.0))
        q = posterior_quantiles(a, b, k, n, [(1 - prob) / 2, (1 + prob) / 2], self.likelihood)
        lo_name, hi_name = interval_names(prob)
        idx = units.row_index
        return pd.DataFrame(
            {
                "unit": units.units,
                "group": units.groups[units.group_index],
                "successes": units.successes,
                "trials": units.trials,
                "mean": mean[idx],
                "sd": sd[idx],
                lo_name: q[0][idx],
                hi_name: q[1][idx],
            }
        )

    def group_table(self, prob: float = 0.9) -> pd.DataFrame:
        """Per group: units, successes, trials, and the posterior of ``mu`` and ``kappa``
        (``mu_mean, mu_sd, mu_lower_90, mu_upper_90``, same for ``kappa``)."""
        from models.summaries import draws_table

        self.check_fitted()
        d = self.data_
        post = self.idata_.posterior[["mu", "kappa"]]
        table = draws_table(post, prob).reset_index().rename(columns={"index": "group"})
        g = d.group_index
        n_g = len(d.groups)
        table.insert(1, "units", np.bincount(g, minlength=n_g))
        table.insert(2, "successes", np.bincount(g, weights=d.successes, minlength=n_g).astype(int))
        table.insert(3, "trials", np.bincount(g, weights=d.trials, minlength=n_g).astype(int))
        return table

    def summary(self, var_names=None, prob: float = 0.9) -> pd.DataFrame:
        """Parameter table (default: the hyperparameters and every group's ``mu`` and
        ``kappa``) with central intervals, bulk/tail ESS and r̂."""
        if var_names is None:
            post = self.idata_.posterior
            var_names = [n for n in (*HYPER_PARAMS, "mu", "kappa") if n in post]
        return super().summary(var_names, prob)

    def info(self) -> dict[str, Any]:
        """Sizes of the data and its compression."""
        self.check_fitted()
        d = self.data_
        return {
            "units": d.n_units,
            "groups": len(d.groups),
            "unique_rows": len(d.rows),
            "successes": int(d.successes.sum()),
            "trials": int(d.trials.sum()),
            "likelihood": self.likelihood,
        }


def _flat(da: xr.DataArray, dim: str) -> np.ndarray:
    """``(chain*draw, dim)`` array of a posterior/prior variable."""
    return da.stack(sample=SAMPLE_DIMS).transpose("sample", dim).to_numpy()
