"""LTV workflow (seed 004, "Methods: LTV"): transactions -> RFM -> Bayesian BG/NBD + Gamma-Gamma.

Steps, each a function a test also calls:

1. :func:`load_transactions` validates a transaction log (customer id, date, optional amount;
   the growth generator's ``orders`` file works as is).
2. :func:`rfm_summary` turns it into RFM with lifetimes' own utilities
   (``summary_data_from_transaction_data`` / ``calibration_and_holdout_data``), in weeks:
   daily periods (same-day purchases count once) with ``freq_multiplier=7``.
3. :func:`fit_ltv` samples the joint model of :mod:`models.ltv` (priors from
   :mod:`priors.ltv`) with NUTS and attaches diagnostics and a lifetimes MLE cross-check.
4. :func:`predict_customers` gives per-customer expected purchases, P(alive) and 6/12-month
   discounted LTV with credible intervals, vectorised over posterior draws x customers in
   chunks (the BG/NBD parts on unique ``(x, t_x, T)`` rows only).
5. :func:`evaluate_holdout` scores predictions on the holdout period (MAPE, WMAPE at customer
   and aggregate level) and :func:`plot_holdout` draws predicted vs actual.
6. :func:`run_ltv` does all of it and writes ``posterior.nc``, ``ltv.csv``, ``summary.json``.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from bayes import __version__
from bayes.io import (
    Column,
    InputError,
    data_hash,
    read_table,
    save_figure,
    validate_frame,
    write_json,
    write_netcdf,
    write_table,
)
from models import ltv as M
from models.sampling import default_cores
from priors.ltv import BGNBD_PARAMS, GAMMA_GAMMA_PARAMS, ltv_priors, priors_to_json

__all__ = [
    "PUBLISHED_CDNOW",
    "LTVFit",
    "cdnow_summary",
    "cdnow_transactions",
    "evaluate_holdout",
    "fit_ltv",
    "lifetimes_mle",
    "load_transactions",
    "parameter_table",
    "plot_holdout",
    "predict_customers",
    "rfm_summary",
    "run_ltv",
    "validate_summary",
]

#: Fader, Hardie & Lee (2005), Table 1 (CDNOW 1/10 sample, 2,357 customers, weeks).
PUBLISHED_CDNOW = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}

_ID_NAMES = ("customer_id", "user_id", "id")
_DATE_NAMES = ("date", "order_ts", "datetime", "timestamp")
_AMOUNT_NAMES = ("amount", "monetary_value", "value")


# ------------------------------------------------------------------------ inputs


def _pick(columns, names, what, source, required=True):
    for n in names:
        if n in columns:
            return n
    if required:
        raise InputError(
            f"no {what} column: expected one of {list(names)}; found {list(columns)}",
            source=source,
        )
    return None


def load_transactions(path_or_frame, *, source: str | None = None) -> pd.DataFrame:
    """A validated transaction log with columns ``customer_id``, ``date`` and ``amount``.

    Accepts ``customer_id``/``user_id``, ``date``/``order_ts`` and an optional ``amount``
    (missing -> no Gamma-Gamma). Dates become tz-naive UTC.
    """
    if isinstance(path_or_frame, pd.DataFrame):
        df, src = path_or_frame, source or "<transactions>"
    else:
        df, src = read_table(path_or_frame), str(path_or_frame)
    idc = _pick(df.columns, _ID_NAMES, "customer id", src)
    dc = _pick(df.columns, _DATE_NAMES, "date", src)
    ac = _pick(df.columns, _AMOUNT_NAMES, "amount", src, required=False)
    cols = [Column(idc, "str"), Column(dc, "datetime")]
    if ac:
        cols.append(Column(ac, "float", min=0))
    out = validate_frame(df[[c.name for c in cols]], cols, source=src)
    out = out.rename(columns={idc: "customer_id", dc: "date", **({ac: "amount"} if ac else {})})
    out["date"] = out["date"].dt.tz_convert("UTC").dt.tz_localize(None)
    return out.reset_index(drop=True)


def validate_summary(summary: pd.DataFrame, *, source: str = "<rfm summary>") -> pd.DataFrame:
    """Check an RFM summary; raise :class:`InputError` naming the bad rows.

    Rules: ``frequency`` a non-negative whole number; ``0 <= recency <= T``; ``T > 0``;
    ``recency == 0`` when ``frequency == 0``; ``monetary_value >= 0`` (if present).
    """
    cols = [
        Column("frequency", "int", min=0),
        Column("recency", "float", min=0),
        Column("T", "float", min=0),
        Column("monetary_value", "float", required=False, min=0),
    ]
    out = validate_frame(summary, cols, source=source)
    labels = out.index
    checks = [
        (
            out["recency"] > out["T"] + 1e-9,
            "recency",
            "recency exceeds T (last purchase after the end of observation)",
        ),
        (out["T"] <= 0, "T", "T must be positive"),
        (
            (out["frequency"] == 0) & (out["recency"] > 0),
            "recency",
            "recency must be 0 for customers with no repeat purchase",
        ),
    ]
    for mask, col, msg in checks:
        if mask.any():
            raise InputError(msg, source=source, column=col, rows=list(labels[mask.to_numpy()]))
    return out


def cdnow_summary() -> pd.DataFrame:
    """The CDNOW 1/10 sample as shipped by lifetimes (frequency, recency, T in weeks, monetary)."""
    from lifetimes.datasets import load_cdnow_summary_data_with_monetary_value

    df = load_cdnow_summary_data_with_monetary_value()
    df.index = df.index.astype(str).rename("customer_id")
    return df[["frequency", "recency", "T", "monetary_value"]]


def cdnow_transactions() -> pd.DataFrame:
    """The CDNOW 1/10 sample transaction log shipped by lifetimes (``CDNOW_sample.txt``).

    Columns ``customer_id`` (the sample's 1..2357 numbering, as in the shipped summary),
    ``date``, ``amount``; 1997-01-01 .. 1998-06-30. FHL05a calibrate on the
    first 39 weeks (to 1997-09-30) and hold out the remaining 39.
    """
    from lifetimes.datasets import load_dataset

    raw = load_dataset(
        "CDNOW_sample.txt",
        header=None,
        sep=r"\s+",
        names=["master_id", "customer_id", "date", "quantity", "amount"],
        dtype={"date": str},
    )
    raw["customer_id"] = raw["customer_id"].astype(int).astype(str)  # ids of the summary
    raw["date"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    return raw[["customer_id", "date", "amount"]]


def rfm_summary(
    transactions: pd.DataFrame,
    *,
    observation_end=None,
    calibration_end=None,
    holdout_end=None,
):
    """RFM in weeks with lifetimes' utilities; returns ``(summary, holdout)``.

    Without ``calibration_end`` the whole log is summarised up to ``observation_end`` (default:
    the last date) and ``holdout`` is ``None``. With it, lifetimes'
    ``calibration_and_holdout_data`` splits at ``calibration_end`` and ``holdout_end`` and
    ``holdout`` has ``frequency_holdout``, ``monetary_value_holdout``, ``duration_holdout``.
    """
    from lifetimes.utils import calibration_and_holdout_data, summary_data_from_transaction_data

    has_amount = "amount" in transactions.columns
    kw = {
        "customer_id_col": "customer_id",
        "datetime_col": "date",
        "freq": "D",
        "freq_multiplier": 7,
        "monetary_value_col": "amount" if has_amount else None,
    }
    tx = transactions
    if calibration_end is None:
        end = pd.Timestamp(observation_end) if observation_end is not None else tx["date"].max()
        s = summary_data_from_transaction_data(tx, observation_period_end=end, **kw)
        s.index = s.index.astype(str).rename("customer_id")
        return s, None
    cal = pd.Timestamp(calibration_end)
    hold = pd.Timestamp(holdout_end) if holdout_end is not None else tx["date"].max()
    if not hold > cal:
        raise InputError(f"holdout end {hold.date()} must be after calibration end {cal.date()}")
    if not (tx["date"] <= cal).any():
        raise InputError(f"no transactions on or before the calibration end {cal.date()}")
    ch = calibration_and_holdout_data(
        tx, calibration_period_end=cal, observation_period_end=hold, **kw
    )
    ch.index = ch.index.astype(str).rename("customer_id")
    summary = ch.rename(columns=lambda c: c[:-4] if c.endswith("_cal") else c)
    keep = ["frequency", "recency", "T"] + (["monetary_value"] if has_amount else [])
    hcols = [c for c in ch.columns if c.endswith("_holdout")]
    return summary[keep], ch[hcols]


# ------------------------------------------------------------------------ fit


@dataclass
class LTVFit:
    """A fitted LTV model: posterior (``idata``), diagnostics and the MLE cross-check."""

    idata: object
    summary: pd.DataFrame
    priors: dict
    diagnostics: dict
    mle: dict = field(default_factory=dict)
    seed: int = 0
    spend: bool = True

    @cached_property
    def rfm(self) -> M.CompressedRFM:
        """Unique ``(frequency, recency, T)`` rows of :attr:`summary`, computed once."""
        s = self.summary
        return M.compress_rfm(s["frequency"], s["recency"], s["T"])

    def draws(self, names, n: int | None = None, seed: int = 0) -> dict:
        """Posterior draws flattened over chains (optionally a random subset of ``n``)."""
        post = self.idata.posterior
        flat = {k: post[k].values.reshape(-1) for k in names}
        total = next(iter(flat.values())).size
        if n is not None and n < total:
            idx = np.sort(np.random.default_rng(seed).choice(total, n, replace=False))
            flat = {k: v[idx] for k, v in flat.items()}
        return flat


def lifetimes_mle(summary: pd.DataFrame) -> dict:
    """lifetimes' maximum-likelihood fits (``BetaGeoFitter``, ``GammaGammaFitter``)."""
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bgf = BetaGeoFitter().fit(summary["frequency"], summary["recency"], summary["T"])
        out.update({k: float(bgf.params_[k]) for k in BGNBD_PARAMS})
        if "monetary_value" in summary:
            rep = summary[summary["frequency"] > 0]
            try:
                ggf = GammaGammaFitter().fit(rep["frequency"], rep["monetary_value"])
                out.update({k: float(ggf.params_[k]) for k in GAMMA_GAMMA_PARAMS})
            except Exception:  # lifetimes may fail to converge; the cross-check is optional
                pass
    return out


def fit_ltv(
    summary: pd.DataFrame,
    *,
    priors: dict | None = None,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    seed: int = 0,
    spend: bool | None = None,
    progressbar: bool = False,
    mle: bool = True,
    prior_draws: int = 500,
) -> LTVFit:
    """Sample BG/NBD (+ Gamma-Gamma when monetary values exist) and check convergence."""
    import pymc as pm

    from bayes.diagnostics import check_fit

    summary = validate_summary(summary)
    spend = ("monetary_value" in summary) if spend is None else spend
    pri = ltv_priors()
    if priors:
        pri.update(priors)
    x, t_x, T = (summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    if spend:
        model = M.build_ltv_model(x, t_x, T, summary["monetary_value"].to_numpy(float), pri)
        names = BGNBD_PARAMS + GAMMA_GAMMA_PARAMS
    else:
        model = M.build_bgnbd_model(x, t_x, T, pri)
        names = BGNBD_PARAMS
    idata = M.sample_model(
        model,
        draws=draws,
        tune=tune,
        chains=chains,
        seed=seed,
        cores=default_cores(chains),
        progressbar=progressbar,
        target_accept=0.8,
    )
    with model, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        idata.extend(
            pm.sample_prior_predictive(prior_draws, var_names=list(names), random_seed=seed)
        )
    # posterior predictive: repeat-purchase histogram (0..7+) from the BG/NBD simulator
    _add_frequency_ppc(idata, T, x, seed)
    diag = check_fit(idata, "LTV posterior", var_names=list(names))
    idata.attrs.update(
        {
            "priors": priors_to_json({k: pri[k] for k in names}),
            "data_hash": data_hash(summary),
            "seed": seed,
            "version": __version__,
            "model": "BG/NBD" + (" + Gamma-Gamma" if spend else ""),
            "time_unit": "week",
        }
    )
    return LTVFit(
        idata=idata,
        summary=summary,
        priors={k: pri[k] for k in names},
        diagnostics=diag.to_dict(),
        mle=lifetimes_mle(summary) if mle else {},
        seed=seed,
        spend=spend,
    )


_FREQ_BINS = 8  # 0..6 and 7+


def _frequency_hist(x) -> np.ndarray:
    return np.bincount(np.minimum(np.asarray(x, int), _FREQ_BINS - 1), minlength=_FREQ_BINS)


def _add_frequency_ppc(idata, T, x_obs, seed, max_draws: int = 100, max_customers: int = 20_000):
    """Posterior predictive counts of customers by repeat purchases (FHL05a Fig. 2)."""
    import xarray as xr

    rng = np.random.default_rng(seed)
    post = idata.posterior
    nd = post.sizes["draw"]
    step = max(1, int(np.ceil(post.sizes["chain"] * nd / max_draws)))
    sel = post.isel(draw=slice(None, None, step))
    scale = 1.0
    if T.size > max_customers:
        idx = rng.choice(T.size, max_customers, replace=False)
        T, scale = T[idx], T.size / max_customers
    shape = (sel.sizes["chain"], sel.sizes["draw"])
    p = {k: sel[k].values.reshape(-1, 1) for k in BGNBD_PARAMS}
    xs, _ = M.simulate_bgnbd(rng, p["r"], p["alpha"], p["a"], p["b"], T[None, :])
    counts = np.stack([_frequency_hist(row) for row in xs]) * scale
    coords = {
        "chain": sel.chain.values,
        "draw": sel.draw.values,
        "frequency_bin": [str(i) for i in range(_FREQ_BINS - 1)] + [f"{_FREQ_BINS - 1}+"],
    }
    idata.add_groups(
        posterior_predictive=xr.Dataset(
            {
                "customers_by_frequency": (
                    ("chain", "draw", "frequency_bin"),
                    counts.reshape(*shape, _FREQ_BINS),
                )
            },
            coords=coords,
        ),
        observed_data=xr.Dataset(
            {"customers_by_frequency": (("frequency_bin",), _frequency_hist(x_obs).astype(float))},
            coords={"frequency_bin": coords["frequency_bin"]},
        ),
    )


def parameter_table(fit: LTVFit, prob: float = 0.9) -> pd.DataFrame:
    """Posterior mean, median, central interval, r-hat and ESS per parameter, with the MLE."""
    import arviz as az

    post = fit.idata.posterior
    names = list(fit.priors)
    rhat = az.rhat(post[names])
    ess = az.ess(post[names], method="bulk")
    lo, hi = (1 - prob) / 2, 1 - (1 - prob) / 2
    rows = []
    for k in names:
        v = post[k].values.ravel()
        rows.append(
            {
                "parameter": k,
                "mean": float(v.mean()),
                "median": float(np.median(v)),
                f"q{100 * lo:g}": float(np.quantile(v, lo)),
                f"q{100 * hi:g}": float(np.quantile(v, hi)),
                "r_hat": float(rhat[k]),
                "ess_bulk": float(ess[k]),
                "mle_lifetimes": fit.mle.get(k, np.nan),
                "prior": str(fit.priors[k]),
            }
        )
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------ predictions


def _interval(arr, prob, axis=0):
    lo, hi = (1 - prob) / 2, 1 - (1 - prob) / 2
    q = np.quantile(arr, [lo, hi], axis=axis)
    return np.nanmean(arr, axis=axis), q[0], q[1]


def predict_customers(
    fit: LTVFit,
    summary: pd.DataFrame | None = None,
    *,
    horizon_weeks: float = 26.0,
    months=(6, 12),
    discount_rate: float = 0.01,
    n_draws: int = 500,
    prob: float = 0.9,
    chunk: int = 20_000,
) -> pd.DataFrame:
    """Per-customer predictions with ``prob`` credible intervals from posterior draws.

    Columns: the RFM inputs; ``exp_purchases`` over ``horizon_weeks``; ``p_alive``;
    ``exp_spend`` (Gamma-Gamma); ``ltv_{m}m`` discounted at ``discount_rate`` per month — each
    as ``_mean``, ``_lo``, ``_hi``. BG/NBD quantities are computed once per unique
    ``(x, t_x, T)`` row; LTV (which also depends on the spend) per customer in chunks, so the
    memory stays ``n_draws x chunk``.
    """
    if summary is None:
        summary, comp = fit.summary, fit.rfm
    else:
        summary = validate_summary(summary)
        comp = M.compress_rfm(summary["frequency"], summary["recency"], summary["T"])
    th = fit.draws(BGNBD_PARAMS + (GAMMA_GAMMA_PARAMS if fit.spend else ()), n_draws, fit.seed)
    bg = {k: th[k][:, None] for k in BGNBD_PARAMS}
    U = comp.n_unique
    S = th["r"].size
    res = {k: np.empty((3, U)) for k in ("exp_purchases", "p_alive")}
    disc = {m: np.empty((S, U)) for m in months}
    with np.errstate(all="ignore"):
        for s in range(0, U, chunk):
            sl = slice(s, s + chunk)
            xu, tu, Tu = comp.x[None, sl], comp.t_x[None, sl], comp.T[None, sl]
            args = (*(bg[k] for k in BGNBD_PARAMS), xu, tu, Tu)
            res["exp_purchases"][:, sl] = _interval(
                M.expected_purchases(horizon_weeks, *args), prob
            )
            res["p_alive"][:, sl] = _interval(M.prob_alive(*args), prob)
            for m in months:
                disc[m][:, sl] = M.discounted_expected_purchases(
                    m, *args, discount_rate=discount_rate
                )
    out = summary.copy()
    inv = comp.inverse
    for k, v in res.items():
        for j, suffix in enumerate(("mean", "lo", "hi")):
            out[f"{k}_{suffix}"] = v[j][inv]
    if fit.spend:
        gg = {k: th[k][:, None] for k in GAMMA_GAMMA_PARAMS}
        x = summary["frequency"].to_numpy(float)
        mv = summary["monetary_value"].to_numpy(float)
        n = len(summary)
        cols = {
            f"{k}_{s}": np.empty(n)
            for k in ["exp_spend"] + [f"ltv_{m}m" for m in months]
            for s in ("mean", "lo", "hi")
        }
        with np.errstate(all="ignore"):
            for s in range(0, n, chunk):
                sl = slice(s, s + chunk)
                spend = M.expected_spend(gg["p"], gg["q"], gg["v"], x[None, sl], mv[None, sl])
                for j, suffix in enumerate(("mean", "lo", "hi")):
                    cols[f"exp_spend_{suffix}"][sl] = _interval(spend, prob)[j]
                for m in months:
                    val = spend * disc[m][:, inv[sl]]
                    for j, suffix in enumerate(("mean", "lo", "hi")):
                        cols[f"ltv_{m}m_{suffix}"][sl] = _interval(val, prob)[j]
        for k, v in cols.items():
            out[k] = v
    return out


# ------------------------------------------------------------------------ holdout


def _mape_wmape(actual, pred):
    actual, pred = np.asarray(actual, float), np.asarray(pred, float)
    pos = actual > 0
    mape = float(np.mean(np.abs(actual[pos] - pred[pos]) / actual[pos])) if pos.any() else np.nan
    denom = actual.sum()
    wmape = float(np.abs(actual - pred).sum() / denom) if denom > 0 else np.nan
    return mape, wmape


def holdout_predictions(fit: LTVFit, holdout: pd.DataFrame, n_draws: int = 500) -> pd.DataFrame:
    """Posterior-mean expected holdout purchases per customer beside the actual ones."""
    s = fit.summary
    th = fit.draws(BGNBD_PARAMS, n_draws, fit.seed)
    comp = fit.rfm
    dur = float(np.asarray(holdout["duration_holdout"])[0])
    with np.errstate(all="ignore"):
        e = M.expected_purchases(
            dur, *(th[k][:, None] for k in BGNBD_PARAMS), comp.x, comp.t_x, comp.T
        ).mean(axis=0)
    return pd.DataFrame(
        {
            "frequency_cal": s["frequency"].to_numpy(),
            "actual": holdout.loc[s.index, "frequency_holdout"].to_numpy(float),
            "predicted": e[comp.inverse],
        },
        index=s.index,
    )


def evaluate_holdout(pred: pd.DataFrame, max_bin: int = 7) -> dict:
    """MAPE and WMAPE of holdout purchases.

    * customer level: over customers; MAPE uses customers with at least one holdout purchase
      (it is undefined at 0), WMAPE = sum |actual - predicted| / sum actual uses all;
    * aggregate level: mean actual vs mean predicted per calibration-frequency bin
      (0 .. ``max_bin``+, as in FHL05a Fig. 5), MAPE and WMAPE across bins; and the absolute
      percentage error of the total.
    """
    mape_c, wmape_c = _mape_wmape(pred["actual"], pred["predicted"])
    bins = binned_holdout(pred, max_bin)
    mape_a, wmape_a = _mape_wmape(
        bins["actual"] * bins["customers"], bins["predicted"] * bins["customers"]
    )
    total_a, total_p = float(pred["actual"].sum()), float(pred["predicted"].sum())
    return {
        "customers": int(len(pred)),
        "customers_with_holdout_purchases": int((pred["actual"] > 0).sum()),
        "mape_customer": mape_c,
        "wmape_customer": wmape_c,
        "mape_aggregate_bins": mape_a,
        "wmape_aggregate_bins": wmape_a,
        "total_actual": total_a,
        "total_predicted": total_p,
        "ape_total": abs(total_p - total_a) / total_a if total_a > 0 else np.nan,
    }


def binned_holdout(pred: pd.DataFrame, max_bin: int = 7) -> pd.DataFrame:
    """Mean actual and predicted holdout purchases by calibration frequency (0..max_bin+)."""
    b = np.minimum(pred["frequency_cal"].to_numpy(int), max_bin)
    g = pred.assign(bin=b).groupby("bin")
    out = g[["actual", "predicted"]].mean()
    out["customers"] = g.size()
    out = out.reset_index()
    out["bin"] = [f"{i}+" if i == max_bin else str(i) for i in out["bin"]]
    return out.rename(columns={"bin": "frequency_cal"})


def plot_holdout(pred: pd.DataFrame, max_bin: int = 7):
    """Predicted vs actual holdout purchases by calibration frequency (cf. lifetimes'
    ``plot_calibration_purchases_vs_holdout_purchases``)."""
    import matplotlib.pyplot as plt

    b = binned_holdout(pred, max_bin)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(b["frequency_cal"], b["actual"], "o-", label="actual")
    ax.plot(b["frequency_cal"], b["predicted"], "s--", label="predicted (posterior mean)")
    ax.set_xlabel("repeat purchases in calibration")
    ax.set_ylabel("mean purchases in holdout")
    ax.set_title("holdout: predicted vs actual")
    ax.legend()
    return fig


def plot_frequency_ppc(fit: LTVFit):
    """Customers by repeat purchases: observed vs posterior predictive 90% band."""
    import matplotlib.pyplot as plt

    pp = fit.idata.posterior_predictive["customers_by_frequency"]
    obs = fit.idata.observed_data["customers_by_frequency"].values
    flat = pp.values.reshape(-1, pp.shape[-1])
    labels = list(pp.frequency_bin.values)
    pos = np.arange(len(labels))
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.bar(pos - 0.2, obs, 0.4, label="observed")
    lo, mid, hi = np.quantile(flat, [0.05, 0.5, 0.95], axis=0)
    ax.bar(pos + 0.2, mid, 0.4, yerr=[mid - lo, hi - mid], label="posterior predictive (90%)")
    ax.set_xticks(pos, labels)
    ax.set_xlabel("repeat purchases")
    ax.set_ylabel("customers")
    ax.legend()
    return fig


# ------------------------------------------------------------------------ end to end


def run_ltv(
    *,
    transactions: pd.DataFrame | None = None,
    summary: pd.DataFrame | None = None,
    calibration_end=None,
    holdout_end=None,
    out: str | os.PathLike | None = None,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    seed: int = 0,
    discount_rate: float = 0.01,
    horizon_weeks: float = 26.0,
    n_draws: int = 500,
    source: dict | None = None,
    progressbar: bool = False,
) -> dict:
    """Fit, predict, evaluate; write ``posterior.nc``, ``ltv.csv``, ``summary.json`` (+ plots)."""
    holdout = None
    if summary is None:
        if transactions is None:
            raise InputError("give transactions or an RFM summary")
        summary, holdout = rfm_summary(
            transactions, calibration_end=calibration_end, holdout_end=holdout_end
        )
    fit = fit_ltv(
        summary,
        draws=draws,
        tune=tune,
        chains=chains,
        seed=seed,
        progressbar=progressbar,
    )
    table = predict_customers(
        fit, horizon_weeks=horizon_weeks, discount_rate=discount_rate, n_draws=n_draws
    )
    params = parameter_table(fit)
    result = {
        "model": fit.idata.attrs["model"],
        "source": source or {},
        "customers": int(len(summary)),
        "unique_rfm_rows": fit.rfm.n_unique,
        "time_unit": "week",
        "seed": seed,
        "discount_rate_monthly": discount_rate,
        "horizon_weeks": horizon_weeks,
        "parameters": params.drop(columns=["prior"]).to_dict(orient="records"),
        "priors": json.loads(fit.idata.attrs["priors"]),
        "diagnostics": fit.diagnostics,
        "totals": {
            c: float(table[c].sum())
            for c in table.columns
            if c.endswith("_mean") and c.startswith(("ltv_", "exp_purchases"))
        },
        "data_hash": fit.idata.attrs["data_hash"],
        "version": __version__,
    }
    pred = None
    if holdout is not None:
        pred = holdout_predictions(fit, holdout, n_draws=n_draws)
        result["holdout"] = {
            "calibration_end": str(pd.Timestamp(calibration_end).date()),
            "holdout_end": str(pd.Timestamp(holdout_end).date()) if holdout_end else None,
            "duration_weeks": float(holdout["duration_holdout"].iloc[0]),
            **evaluate_holdout(pred),
        }
        table = table.join(
            pred[["actual", "predicted"]].rename(
                columns={"actual": "holdout_actual", "predicted": "holdout_predicted"}
            )
        )
    if out is not None:
        out = Path(out)
        write_netcdf(fit.idata, out / "posterior.nc")
        write_table(table.reset_index(), out / "ltv.csv")
        save_figure(plot_frequency_ppc(fit), out / "ppc_frequency.png")
        if pred is not None:
            save_figure(plot_holdout(pred), out / "holdout.png")
            write_table(binned_holdout(pred), out / "holdout_bins.csv")
        write_json(result, out / "summary.json")
        result["files"] = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    result["_fit"] = fit
    result["_table"] = table
    result["_holdout"] = pred
    return result
