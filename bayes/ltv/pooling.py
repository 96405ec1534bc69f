"""Does partial pooling pay? Segments drawn from a population, three fits, truth and holdout.

The claim of issue 14: for *small* segments, partial pooling (hierarchical priors across
segments) predicts better than one pooled model (which ignores that segments differ) and
than independent per-segment fits (which ignore that they are alike). The study tests it
where it should hold, and measures it three ways.

**Data** (:func:`simulate_segments`). A :class:`PoolingDesign` lists segment sizes — many
small ones (30-200 customers) beside a few large ones — and a population: each segment's
BG/NBD and Gamma-Gamma parameters are drawn as ``log theta_s = log theta_pop + spread * z_s``,
``z_s ~ Normal(0, 1)``, which is what partial pooling assumes (the spreads sit inside the
declared ``HalfNormal(0.5)`` prior). Customers of a segment are simulated from its truth
over a calibration period (``T`` uniform in ``[calibration_min, calibration_max]`` weeks)
and a holdout (:func:`~models.ltv.simulate_bgnbd_holdout`; spend with
:func:`~models.ltv.simulate_gamma_gamma`).

**Fits.** On the calibration data: ``partial`` (:class:`~models.ltv.LTVModel` by segment,
hierarchical), ``none`` (by segment, independent) and ``pooled`` (one model).

**Errors**, per segment and method (posterior means; ``*_mc_se`` the Monte Carlo standard
error of the posterior mean behind each):

* ``purchases_vs_truth``: |predicted - expected| / expected for the segment's holdout
  purchases, where *expected* is the truth's own conditional expectation given each
  customer's calibration data (FHL05a eq. 10 at the segment's true parameters):
  estimation error alone, free of the holdout's Poisson noise;
* ``new_customer_vs_truth``: parameter recovery through the quantity they imply, the
  expected repeat purchases of a new customer over ``recovery_weeks`` (FHL05a eq. 7);
* ``spend_vs_truth`` (``spend=True``): the segment's mean spend per purchase ``p v / (q - 1)``;
* ``holdout_ape``: |predicted - actual| / actual against the purchases that happened
  (includes the holdout's Poisson noise, which for 30 customers is large).

``holdout_ape_truth`` is the holdout APE of the true parameters themselves: the noise floor
of ``holdout_ape``.

:meth:`PoolingStudy.summary` averages each error by segment size (small/large, or the size
classes of :attr:`PoolingDesign.size_edges`) with two standard errors per figure — Monte
Carlo (the posterior draws) and between segments (other segments from the same population);
:meth:`PoolingStudy.comparison` pairs partial pooling with each alternative segment by
segment and counts its wins; :meth:`PoolingStudy.table` is the percent table of notebook 05.
Gamma-Gamma is off by default (``spend=True`` adds it and ``spend_vs_truth``): the claim is
about the purchase process, and the spend model doubles the hierarchical fit's cost.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bayes.growth.data import GrowthTruth
from models.ltv import (
    expected_purchases,
    expected_purchases_new,
    simulate_bgnbd_holdout,
    simulate_gamma_gamma,
)
from priors.ltv import BGNBD_PARAMS as BGNBD
from priors.ltv import GAMMA_GAMMA_PARAMS as GG

__all__ = [
    "METHODS",
    "METRICS",
    "PoolingDesign",
    "PoolingStudy",
    "pooling_study",
    "simulate_segments",
]

METHODS = ("partial", "none", "pooled")
#: error columns of :attr:`PoolingStudy.errors` (``spend_vs_truth`` only with spend)
METRICS = ("purchases_vs_truth", "new_customer_vs_truth", "spend_vs_truth", "holdout_ape")


@dataclass(frozen=True)
class PoolingDesign:
    """Segments and their population (weeks; spend in currency units)."""

    #: customers per segment: twelve small (<= ``small_max``) and two large by default
    sizes: tuple[int, ...] = (30, 30, 40, 50, 60, 80, 100, 120, 140, 160, 180, 200, 2500, 5000)
    #: population medians: the growth generator's CDNOW-like truth (:class:`GrowthTruth`)
    population: dict = field(
        default_factory=lambda: {k: getattr(GrowthTruth(), k) for k in BGNBD + GG}
    )
    #: sd of each log-parameter across segments
    spread: dict = field(
        default_factory=lambda: {
            "r": 0.4,
            "alpha": 0.3,
            "a": 0.3,
            "b": 0.3,
            "p": 0.2,
            "q": 0.15,
            "v": 0.3,
        }
    )
    calibration_min: float = 26.0
    calibration_max: float = 52.0
    holdout: float = 26.0
    recovery_weeks: float = 52.0
    #: segments up to this many customers are "small"
    small_max: int = 200
    #: upper edges of the size classes of the small segments (tables and plots by size)
    size_edges: tuple[int, ...] = (50, 100)

    def __post_init__(self):
        sizes = tuple(self.sizes)
        if len(sizes) < 2:
            raise ValueError(f"the study needs at least two segments, got sizes {sizes}")
        if any(isinstance(n, bool) or int(n) != n or n < 1 for n in sizes):
            raise ValueError(f"every segment size must be a whole number >= 1, got {sizes}")
        params = set(BGNBD + GG)
        if set(self.population) != params:
            raise ValueError(
                f"population must give exactly {BGNBD + GG}, got {sorted(self.population)}"
            )
        if set(self.spread) - params:
            raise ValueError(f"spread names unknown parameters {sorted(set(self.spread) - params)}")
        bad = [k for k, v in self.population.items() if not np.isfinite(v) or v <= 0]
        if bad:
            raise ValueError(f"population values must be finite and > 0: {bad}")
        bad = [k for k, v in self.spread.items() if not np.isfinite(v) or v < 0]
        if bad:
            raise ValueError(f"spreads (sd of log parameters) must be finite and >= 0: {bad}")
        if self.population["q"] <= 1:
            raise ValueError("population q must exceed 1 (finite mean spend p v / (q - 1))")
        if not 0 < self.calibration_min <= self.calibration_max:
            raise ValueError(
                "calibration period: need 0 < calibration_min <= calibration_max, got "
                f"{self.calibration_min}, {self.calibration_max}"
            )
        if self.holdout <= 0 or self.recovery_weeks <= 0:
            raise ValueError("holdout and recovery_weeks must be > 0")
        if list(self.size_edges) != sorted(set(self.size_edges)) or any(
            e >= self.small_max or e < 1 for e in self.size_edges
        ):
            raise ValueError(
                f"size_edges must increase strictly within [1, small_max={self.small_max}), "
                f"got {self.size_edges}"
            )

    def size_class(self, customers: int) -> str:
        """``"n <= 50"``, ``"51-100"``, ... ``"large (> small_max)"``: the class of a size."""
        lo = 1
        for hi in (*self.size_edges, self.small_max):
            if customers <= hi:
                return f"{lo}-{hi}"
            lo = hi + 1
        return f"> {self.small_max}"

    @property
    def size_classes(self) -> list[str]:
        """Every class label, smallest first."""
        edges = (*self.size_edges, self.small_max)
        return [self.size_class(e) for e in edges] + [self.size_class(self.small_max + 1)]


def _truths(design: PoolingDesign, rng) -> pd.DataFrame:
    n = len(design.sizes)
    z = rng.standard_normal((n, len(BGNBD + GG)))
    cols = {
        k: design.population[k] * np.exp(design.spread.get(k, 0.0) * z[:, i])
        for i, k in enumerate(BGNBD + GG)
    }
    width = len(str(n))
    index = pd.Index([f"s{i + 1:0{width}d}" for i in range(n)], name="segment")
    out = pd.DataFrame(cols, index=index)
    out.insert(0, "customers", [int(n) for n in design.sizes])
    out["size"] = np.where(out["customers"] <= design.small_max, "small", "large")
    out["size_class"] = [design.size_class(n) for n in out["customers"]]
    return out


def simulate_segments(
    design: PoolingDesign | None = None, seed: int = 0, *, time_grid: float | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(rfm, holdout, truth)``: calibration RFM rows (``frequency, recency, T,
    monetary_value, segment``; weeks), the holdout purchases per customer
    (``frequency_holdout``, ``duration_holdout``) and one row of truths per segment.

    ``time_grid`` (weeks, e.g. ``1 / 7`` or ``1``) gives the times a log recorded by day or
    week gives: ``T`` whole units (the period ends on the grid), ``recency`` the difference
    of the units of the first and the last purchase (the first at a uniform offset within its
    unit, so ``recency`` stays unbiased; repeat purchases within one unit are not merged).
    The rows then compress (:func:`models.ltv.compress_rfm`); ``None`` keeps continuous
    times."""
    if time_grid is not None and not (np.isfinite(time_grid) and time_grid > 0):
        raise ValueError(f"time_grid must be a positive number of weeks, got {time_grid!r}")
    design = design or PoolingDesign()
    rng = np.random.default_rng(seed)
    truth = _truths(design, rng)
    seg = np.repeat(np.arange(len(truth)), truth["customers"].to_numpy())
    par = {k: truth[k].to_numpy()[seg] for k in BGNBD + GG}
    T = rng.uniform(design.calibration_min, design.calibration_max, seg.size)
    if time_grid is not None:  # the period ends on the grid: whole units since the first day
        T = np.maximum(np.floor(T / time_grid), 1.0) * time_grid
    x, t_x, y, _ = simulate_bgnbd_holdout(rng, *(par[k] for k in BGNBD), T, design.holdout)
    m = simulate_gamma_gamma(rng, *(par[k] for k in GG), x)
    if time_grid is not None:  # the first purchase at a uniform offset within its unit
        offset = rng.uniform(0.0, time_grid, seg.size)
        t_x = np.where(x > 0, np.floor((offset + t_x) / time_grid) * time_grid, 0.0)
    ids = pd.Index([f"c{i:06d}" for i in range(seg.size)], name="customer_id")
    rfm = pd.DataFrame(
        {
            "frequency": x.astype(float),
            "recency": t_x,
            "T": T,
            "monetary_value": np.nan_to_num(m),
            "segment": truth.index.to_numpy()[seg],
        },
        index=ids,
    )
    holdout = pd.DataFrame(
        {"frequency_holdout": y.astype(float), "duration_holdout": design.holdout}, index=ids
    )
    return rfm, holdout, truth


@dataclass
class PoolingStudy:
    """The study's result: per (segment, method) errors, the truths, the fitted models.

    ``errors`` has one row per segment and method: the errors of :data:`METRICS`, each with
    its Monte Carlo standard error ``<metric>_mc_se`` (from the posterior draws' ESS), and
    ``holdout_ape_truth``, the holdout APE the true parameters themselves make (the Poisson
    noise floor of ``holdout_ape``).
    """

    errors: pd.DataFrame
    truth: pd.DataFrame
    models: dict
    design: PoolingDesign

    @property
    def metrics(self) -> list[str]:
        return [m for m in METRICS if m in self.errors]

    def summary(self, by: str = "size") -> pd.DataFrame:
        """Mean error per group (``by``: ``"size"`` small/large or ``"size_class"``) and
        method, with two standard errors per figure: ``<metric>_mc_se`` (Monte Carlo: the
        posterior draws; ``sqrt(sum mc_se_i^2) / n``) and ``<metric>_se`` (sampling: how much
        the mean moves between segments, ``sd / sqrt(n)``)."""
        rows = []
        for (group, method), g in self.errors.groupby([by, "method"], sort=False):
            row = {
                by: group,
                "method": method,
                "segments": len(g),
                "customers": int(g["customers"].sum()),
            }
            for m in [*self.metrics, "holdout_ape_truth"]:
                v = g[m].dropna()
                row[m] = float(v.mean())
                if f"{m}_mc_se" in g:
                    row[f"{m}_mc_se"] = float(np.sqrt((g.loc[v.index, f"{m}_mc_se"] ** 2).sum()))
                    row[f"{m}_mc_se"] /= max(len(v), 1)
                row[f"{m}_se"] = float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else np.nan
            rows.append(row)
        out = pd.DataFrame(rows)
        order = ["small", "large"] if by == "size" else self.design.size_classes
        out[by] = pd.Categorical(out[by], [o for o in order if o in set(out[by])], ordered=True)
        out["method"] = pd.Categorical(out["method"], METHODS, ordered=True)
        return out.sort_values([by, "method"]).reset_index(drop=True)

    def comparison(self, metric: str = "purchases_vs_truth", by: str = "size") -> pd.DataFrame:
        """Partial pooling against each alternative, segment by segment (paired): the mean
        of ``other - partial`` (> 0: partial pooling better), its sampling and Monte Carlo
        standard errors and the number of segments partial pooling wins."""
        e = self.errors
        part = e[e["method"] == "partial"].set_index("segment")
        rows = []
        for method in [m for m in METHODS if m != "partial" and m in set(e["method"])]:
            other = e[e["method"] == method].set_index("segment")
            for group, seg in part.groupby(by, sort=False).groups.items():
                d = (other.loc[seg, metric] - part.loc[seg, metric]).dropna()
                mc = np.sqrt(
                    (other.loc[d.index, f"{metric}_mc_se"] ** 2).sum()
                    + (part.loc[d.index, f"{metric}_mc_se"] ** 2).sum()
                ) / max(len(d), 1)
                rows.append(
                    {
                        by: group,
                        "versus": method,
                        "segments": len(d),
                        "partial": float(part.loc[d.index, metric].mean()),
                        "other": float(other.loc[d.index, metric].mean()),
                        "advantage": float(d.mean()),
                        "advantage_se": float(d.std(ddof=1) / np.sqrt(len(d)))
                        if len(d) > 1
                        else np.nan,
                        "advantage_mc_se": float(mc),
                        "partial_wins": int((d > 0).sum()),
                    }
                )
        return pd.DataFrame(rows)

    def winner(self, metric: str = "purchases_vs_truth", size: str = "small") -> str:
        """The method with the lowest mean ``metric`` over the ``size`` segments."""
        s = self.summary("size")
        return str(s[s["size"] == size].set_index("method")[metric].astype(float).idxmin())

    def table(self, metric: str = "purchases_vs_truth", by: str = "size_class") -> pd.DataFrame:
        """Mean ``metric`` in percent by ``by`` (rows) and method, each with its Monte Carlo
        (``mc_se``) and between-segment (``se``) standard errors; for ``holdout_ape`` also the
        error of the true parameters (``truth``: the holdout's own Poisson noise)."""
        s = self.summary(by)
        cols = {metric: "error %", f"{metric}_mc_se": "mc_se", f"{metric}_se": "se"}
        wide = s.pivot(index=by, columns="method", values=list(cols)).rename(columns=cols)
        wide = (wide * 100).swaplevel(axis=1)
        wide = wide.reindex(
            columns=pd.MultiIndex.from_product([list(METHODS), list(cols.values())])
        ).dropna(axis=1, how="all")
        seg = s.groupby(by, observed=True)[["segments"]].first()
        sizes = self.errors.groupby(by, observed=True)["customers"].agg(["min", "max"])
        sizes = sizes.reindex(seg.index.astype(str))
        seg["customers"] = [f"{a:,}-{b:,}" if a != b else f"{a:,}" for a, b in sizes.values]
        seg.columns = pd.MultiIndex.from_product([[""], seg.columns])
        parts = [seg, wide.round(2)]
        if metric == "holdout_ape":  # the Poisson noise floor: what the truth itself scores
            floor = s.groupby(by, observed=True)[["holdout_ape_truth", "holdout_ape_truth_se"]]
            floor = (floor.first() * 100).round(2)
            floor.columns = pd.MultiIndex.from_product([["truth"], ["error %", "se"]])
            parts.append(floor)
        return pd.concat(parts, axis=1)


def _mc_se(draws: np.ndarray) -> float:
    """Monte Carlo standard error of the mean of ``(chain, draw)`` draws (arviz's ESS)."""
    import arviz as az

    draws = np.asarray(draws, float)
    ess = float(az.ess(draws)) if draws.shape[-1] > 3 else float(draws.size)
    return float(np.std(draws, ddof=1) / np.sqrt(max(ess, 1.0)))


def _segment_params(model, segment: str) -> dict:
    """``(chain, draw)`` draws of every parameter for one segment (pooled: the only ones)."""
    post = model.idata_.posterior
    return {
        k: (post[k].sel(segment=segment) if "segment" in post[k].dims else post[k]).values
        for k in model._param_names()
    }


def _score(model, method, rfm, holdout, truth, design) -> list[dict]:
    pred = model.predict(horizon=design.holdout, months=())["expected_purchases"].values
    seg_of = rfm["segment"].to_numpy()
    x, t_x, T = (rfm[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    actual = holdout["frequency_holdout"].reindex(rfm.index).to_numpy(float)
    rows = []
    for s, tr in truth.iterrows():
        sel = seg_of == s
        bg = [tr[k] for k in BGNBD]
        expected = float(expected_purchases(design.holdout, *bg, x[sel], t_x[sel], T[sel]).sum())
        total = pred[..., sel].sum(-1)  # (chain, draw)
        th = _segment_params(model, s)
        new = expected_purchases_new(design.recovery_weeks, *(th[k] for k in BGNBD))
        new_true = float(expected_purchases_new(design.recovery_weeks, *bg))
        a = float(actual[sel].sum())
        row = {
            "segment": s,
            "customers": int(sel.sum()),
            "size": tr["size"],
            "size_class": tr["size_class"],
            "method": method,
            "expected_under_truth": expected,
            "predicted": float(total.mean()),
            "actual": a,
            "purchases_vs_truth": abs(total.mean() - expected) / expected,
            "purchases_vs_truth_mc_se": _mc_se(total) / expected,
            "new_customer_vs_truth": abs(float(new.mean()) - new_true) / new_true,
            "new_customer_vs_truth_mc_se": _mc_se(new) / new_true,
            "holdout_ape": abs(total.mean() - a) / a if a > 0 else np.nan,
            "holdout_ape_mc_se": _mc_se(total) / a if a > 0 else np.nan,
            "holdout_ape_truth": abs(expected - a) / a if a > 0 else np.nan,
        }
        if model.spend_:
            with np.errstate(all="ignore"):
                mean_spend = np.where(th["q"] > 1, th["p"] * th["v"] / (th["q"] - 1.0), np.nan)
            spend_true = tr["p"] * tr["v"] / (tr["q"] - 1.0)
            ok = np.isfinite(mean_spend)
            filled = np.where(ok, mean_spend, np.nanmean(mean_spend))
            row["spend_vs_truth"] = abs(float(mean_spend[ok].mean()) - spend_true) / spend_true
            row["spend_vs_truth_mc_se"] = _mc_se(filled) / spend_true
            row["spend_draws_infinite"] = float(1 - ok.mean())  # draws with q <= 1
        row["diagnostics_ok"] = bool(model.diagnostics_.ok)
        rows.append(row)
    return rows


def pooling_study(
    design: PoolingDesign | None = None,
    *,
    seed: int = 0,
    sampler=None,
    spend: bool = False,
    methods: tuple[str, ...] = METHODS,
) -> PoolingStudy:
    """Simulate (:func:`simulate_segments`), fit ``methods`` on the calibration data and
    score each segment (see the module docstring). ``spend=True`` also fits Gamma-Gamma and
    scores ``spend_vs_truth``."""
    from models.ltv import LTVModel

    design = design or PoolingDesign()
    unknown = set(methods) - set(METHODS)
    if unknown or not methods:
        raise ValueError(f"methods must be taken from {METHODS}, got {methods}")
    rfm, holdout, truth = simulate_segments(design, seed)
    data = rfm if spend else rfm.drop(columns="monetary_value")
    models, rows = {}, []
    for method in methods:
        if method == "pooled":
            model = LTVModel(sampler=sampler, spend=spend).fit(data.drop(columns="segment"))
        else:
            model = LTVModel(sampler=sampler, segment="segment", pooling=method, spend=spend)
            model.fit(data)
        models[method] = model
        rows += _score(model, method, rfm, holdout, truth, design)
    return PoolingStudy(pd.DataFrame(rows), truth, models, design)
