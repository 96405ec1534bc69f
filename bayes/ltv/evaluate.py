"""Holdout evaluation (seed 004: "fit on calibration and evaluate on a holdout, MAPE/WMAPE") and
the seed's alternative survival/GLM path to LTV, compared with BG/NBD on the same holdout.

Metrics (one definition each, named in every output):

* customer level: ``mape_customer`` over customers with at least one holdout purchase (the
  percentage error is undefined at 0); ``wmape_customer = sum |actual - predicted| / sum
  actual`` over all customers;
* by calibration frequency (0 .. 7+, FHL05a Fig. 5): mean actual vs mean predicted per bin,
  ``mape_aggregate_bins`` and ``wmape_aggregate_bins`` across bins (on the bins' totals);
* ``ape_total``: absolute percentage error of the total holdout purchases.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from bayes.io import InputError

__all__ = [
    "GLM_FEATURES",
    "binned_holdout",
    "compare_holdout",
    "evaluate_holdout",
    "glm_holdout_predictions",
    "holdout_predictions",
]


def _mape_wmape(actual, pred):
    actual, pred = np.asarray(actual, float), np.asarray(pred, float)
    pos = actual > 0
    mape = float(np.mean(np.abs(actual[pos] - pred[pos]) / actual[pos])) if pos.any() else np.nan
    denom = actual.sum()
    wmape = float(np.abs(actual - pred).sum() / denom) if denom > 0 else np.nan
    return mape, wmape


def holdout_predictions(model, holdout: pd.DataFrame, *, draws: int | None = 1000) -> pd.DataFrame:
    """Expected holdout purchases per fitted customer (posterior mean and 90% interval of
    ``E[Y(duration)]``) beside the actual ones; ``duration`` from lifetimes'
    ``duration_holdout`` (in the model's time unit). Also ``total_draws``: the posterior draws
    of the expected total, in ``attrs``."""
    dur = float(np.asarray(holdout["duration_holdout"])[0])
    pred = model.predict(horizon=dur, months=(), draws=draws)["expected_purchases"]
    d = model.data_
    mean = pred.mean(("chain", "draw")).values
    lo, hi = np.quantile(pred.values.reshape(-1, pred.shape[-1]), [0.05, 0.95], axis=0)
    out = pd.DataFrame(
        {
            "frequency_cal": d["frequency"].to_numpy(),
            "actual": holdout["frequency_holdout"].reindex(d.index).to_numpy(float),
            "predicted": mean,
            "predicted_lower_90": lo,
            "predicted_upper_90": hi,
        },
        index=d.index,
    )
    out.attrs["total_draws"] = pred.sum("customer_id").values.ravel()
    out.attrs["duration"] = dur
    return out


def binned_holdout(pred: pd.DataFrame, max_bin: int = 7) -> pd.DataFrame:
    """Mean actual and predicted holdout purchases by calibration frequency (0..max_bin+)."""
    b = np.minimum(pred["frequency_cal"].to_numpy(int), max_bin)
    g = pred.assign(bin=b).groupby("bin")
    out = g[["actual", "predicted"]].mean()
    out["customers"] = g.size()
    out = out.reset_index()
    out["bin"] = [f"{i}+" if i == max_bin else str(i) for i in out["bin"]]
    return out.rename(columns={"bin": "frequency_cal"})


def evaluate_holdout(pred: pd.DataFrame, max_bin: int = 7) -> dict:
    """MAPE and WMAPE of holdout purchases (definitions in the module docstring).

    When ``pred.attrs["total_draws"]`` holds posterior draws of the expected total, the
    result adds ``ape_total_mc_se``: the Monte Carlo standard error of ``ape_total``.
    """
    mape_c, wmape_c = _mape_wmape(pred["actual"], pred["predicted"])
    bins = binned_holdout(pred, max_bin)
    mape_a, wmape_a = _mape_wmape(
        bins["actual"] * bins["customers"], bins["predicted"] * bins["customers"]
    )
    total_a, total_p = float(pred["actual"].sum()), float(pred["predicted"].sum())
    out = {
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
    draws = pred.attrs.get("total_draws")
    if draws is not None and len(draws) > 1 and total_a > 0:
        import arviz as az

        ess = float(az.ess(np.asarray(draws, float)[None, :]))
        out["ape_total_mc_se"] = float(np.std(draws, ddof=1) / np.sqrt(max(ess, 1.0)) / total_a)
    return out


# ------------------------------------------------------------------------ survival/GLM path

#: features of the survival/GLM path, all from the RFM summary
GLM_FEATURES: tuple[str, ...] = ("log1p_frequency", "recency_share", "log_T", "no_repeat")


def _features(summary: pd.DataFrame) -> pd.DataFrame:
    x = summary["frequency"].to_numpy(float)
    T = summary["T"].to_numpy(float)
    return pd.DataFrame(
        {
            "const": 1.0,
            "log1p_frequency": np.log1p(x),
            "recency_share": summary["recency"].to_numpy(float) / T,
            "log_T": np.log(T),
            "no_repeat": (x == 0).astype(float),
        },
        index=summary.index,
    )


def glm_holdout_predictions(
    transactions: pd.DataFrame,
    *,
    calibration_end,
    holdout_end=None,
    time_unit: str = "W",
) -> pd.DataFrame:
    """The seed's alternative path: a survival part and a GLM, fitted on the calibration
    period alone, predicting holdout purchases per customer.

    The calibration period is split once more, ``H`` (the holdout length) before its end:
    features at ``calibration_end - H`` (:data:`GLM_FEATURES`, from the RFM summary) and the
    purchases in the last ``H`` of calibration are the training pairs. Then

    * survival: a binomial GLM (logit) for P(the customer buys again within ``H``) — the
      discrete-time probability of still being active;
    * rate: a Poisson GLM (log link) for the purchases of those who do buy,
      ``E[Y | Y > 0]``;

    and the prediction at ``calibration_end`` is their product (statsmodels). Returns
    ``predicted`` per customer of the calibration summary.
    """
    import statsmodels.api as sm

    from bayes.ltv.data import rfm_summary

    tx = transactions
    end = pd.Timestamp(calibration_end)
    hold = pd.Timestamp(holdout_end) if holdout_end is not None else tx["date"].max()
    span = hold - end
    train_end = end - span
    if not (tx["date"] <= train_end).any():
        raise InputError(
            f"the survival/GLM path trains on the {span.days} days before {end.date()}, but the "
            f"log starts {tx['date'].min().date()}: the calibration period must be longer than "
            "the holdout",
            source=tx.attrs.get("source"),
        )
    train_x, train_y = rfm_summary(
        tx, calibration_end=train_end, holdout_end=end, time_unit=time_unit
    )
    X = _features(train_x)
    y = train_y["frequency_holdout"].reindex(X.index).to_numpy(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        alive = sm.GLM((y > 0).astype(float), X, family=sm.families.Binomial()).fit()
        buyers = y > 0
        rate = sm.GLM(y[buyers], X[buyers], family=sm.families.Poisson()).fit()
    cal, _ = rfm_summary(tx, calibration_end=end, holdout_end=hold, time_unit=time_unit)
    Xc = _features(cal)
    pred = np.asarray(alive.predict(Xc)) * np.asarray(rate.predict(Xc))
    out = pd.DataFrame({"predicted": pred}, index=cal.index)
    out.attrs["coefficients"] = {
        "survival_logit": alive.params.to_dict(),
        "rate_poisson": rate.params.to_dict(),
    }
    out.attrs["training_customers"] = int(len(X))
    return out


def compare_holdout(bgnbd: pd.DataFrame, glm: pd.DataFrame) -> pd.DataFrame:
    """BG/NBD and the survival/GLM path side by side on the same customers and holdout: one
    row per method with every metric of :func:`evaluate_holdout`."""
    rows = []
    glm_pred = bgnbd[["frequency_cal", "actual"]].assign(
        predicted=glm["predicted"].reindex(bgnbd.index).to_numpy(float)
    )
    for name, pred in (("BG/NBD + Bayes", bgnbd), ("survival/GLM", glm_pred)):
        clean = pred.copy()
        clean.attrs = {}
        rows.append({"method": name, **evaluate_holdout(clean)})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------ quoted evaluations

#: the holdout evaluations quoted in docs/ltv.md (tests/test_ltv_docs.py keeps them in step)
EVALUATIONS: dict[str, str] = {
    "cdnow-sample": "CDNOW 1/10 sample (lifetimes), 39 + 39 weeks (FHL05a's split)",
    "cdnow-master": "CDNOW master log (lifetimes), 39 + 39 weeks",
    "growth-60d": "generated growth data (20,000 users, seed 0), 60-day holdout",
}


def run_evaluation(name: str, *, sampler=None, draws: int = 1000) -> dict:
    """Fit on the calibration period of one of :data:`EVALUATIONS` and score the holdout:
    :func:`evaluate_holdout` of the posterior-mean predictions (with ``ape_total_mc_se``), plus
    the survival/GLM path's where the calibration is longer than the holdout."""
    import warnings

    from bayes.ltv import data as D
    from bayes.ltv.workflow import fit_ltv, prepare_rfm

    if name not in EVALUATIONS:
        raise ValueError(f"unknown evaluation {name!r}; one of {list(EVALUATIONS)}")
    split = {"calibration_end": "1997-09-30", "holdout_end": "1998-06-30"}
    if name == "cdnow-sample":
        tx = D.cdnow_transactions()
    elif name == "cdnow-master":
        tx = D.cdnow_master_transactions()
    else:
        from bayes.growth.data import generate_growth_data

        tx = D.load_transactions(generate_growth_data(20_000, seed=0).orders, source="generated")
        split = {"holdout_days": 60}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", D.MonetaryPolicyWarning)
        prepared = prepare_rfm(transactions=tx, time_unit="W", **split)
    model = fit_ltv(prepared.rfm, sampler=sampler)
    pred = holdout_predictions(model, prepared.holdout, draws=draws)
    out = {"name": name, "customers": len(pred), **evaluate_holdout(pred)}
    out["diagnostics_ok"] = model.diagnostics_.ok
    try:
        g = glm_holdout_predictions(
            prepared.transactions,
            calibration_end=prepared.calibration_end,
            holdout_end=prepared.holdout_end,
        )
    except InputError:
        out["survival_glm"] = None
    else:
        out["survival_glm"] = compare_holdout(pred, g).iloc[1].to_dict()
    return out


#: header of the evaluation table in docs/ltv.md (rows from :func:`evaluation_row`)
EVALUATION_HEADER = (
    "| evaluation | data and split | customers | total APE (± MC s.e.) | WMAPE by frequency bin "
    "| customer MAPE | customer WMAPE | survival/GLM path |\n"
    "| --- | --- | --- | --- | --- | --- | --- | --- |"
)


def evaluation_row(result: dict) -> str:
    """One row of the docs' evaluation table from :func:`run_evaluation`'s result."""
    g = result.get("survival_glm")
    glm = (
        f"total APE {100 * g['ape_total']:.1f}%, by bin {100 * g['wmape_aggregate_bins']:.1f}%, "
        f"customer MAPE {g['mape_customer']:.3f}, WMAPE {g['wmape_customer']:.3f}"
        if g
        else "not run: the calibration period is not longer than the holdout"
    )
    return (
        f"| `{result['name']}` | {EVALUATIONS[result['name']]} | {result['customers']:,} | "
        f"{100 * result['ape_total']:.1f}% ± {100 * result['ape_total_mc_se']:.2f} | "
        f"{100 * result['wmape_aggregate_bins']:.1f}% | {result['mape_customer']:.3f} | "
        f"{result['wmape_customer']:.3f} | {glm} |"
    )


if __name__ == "__main__":  # python -m bayes.ltv.evaluate: the table of docs/ltv.md
    import json
    import sys

    print(EVALUATION_HEADER, flush=True)
    for key in sys.argv[1:] or list(EVALUATIONS):
        res = run_evaluation(key)
        print(evaluation_row(res), flush=True)
        print(json.dumps(res, default=float), file=sys.stderr, flush=True)
