"""LTV end to end: data -> RFM -> :class:`~models.ltv.LTVModel` -> tables, holdout, files.

:func:`prepare_rfm` builds the RFM summary (monetary policy, time unit, optional holdout split,
segments); :func:`run_ltv` fits and derives every table from the posterior draws
(per-customer predictions are summaries of ``LTVModel.predict``, computed in chunks of
customers so the memory stays bounded); :func:`write_ltv` writes the files into a folder
(the CLI hands it an :class:`~bayes.outputs.OutputFolder`).
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bayes.io import InputError, save_figure, write_json, write_table
from bayes.ltv import data as D
from bayes.ltv.evaluate import (
    binned_holdout,
    compare_holdout,
    evaluate_holdout,
    glm_holdout_predictions,
    holdout_predictions,
)
from models.ltv import LTVModel
from models.ltv.units import canonical_unit
from models.summaries import draws_table, interval_dict
from priors.ltv import BGNBD_PARAMS, GAMMA_GAMMA_PARAMS

__all__ = [
    "PUBLISHED_CDNOW",
    "LTVRun",
    "customer_table",
    "lifetimes_mle",
    "parameter_table",
    "prepare_rfm",
    "run_ltv",
    "trajectories_text",
    "write_ltv",
]


#: Fader, Hardie & Lee (2005a), Table 1: the BG/NBD MLE on the CDNOW 1/10 sample (weeks).
PUBLISHED_CDNOW = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


def _naive(ts) -> pd.Timestamp:
    """A timestamp in naive UTC (the transaction log's convention)."""
    ts = pd.Timestamp(ts)
    return ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo else ts


@dataclass
class Prepared:
    """The RFM rows to fit, the holdout (if any) and what the monetary policy did."""

    rfm: pd.DataFrame
    holdout: pd.DataFrame | None = None
    policy: dict = field(default_factory=dict)
    transactions: pd.DataFrame | None = None
    calibration_end: pd.Timestamp | None = None
    holdout_end: pd.Timestamp | None = None


def prepare_rfm(
    *,
    transactions: pd.DataFrame | None = None,
    rfm: pd.DataFrame | None = None,
    time_unit: str | None = None,
    calibration_end=None,
    holdout_end=None,
    holdout_days: int | None = None,
    observation_end=None,
    segments: pd.Series | None = None,
) -> Prepared:
    """RFM from a transaction log (validated by :func:`bayes.ltv.data.load_transactions`) or
    an RFM frame (validated by :func:`bayes.ltv.data.validate_rfm`), with segments joined by
    customer. ``holdout_days`` holds out the last days of the log (the seed's 60-day holdout).

    ``transactions`` may also be a path: the log is then aggregated by the active engine
    (:func:`bayes.engines.growth.ltv_rfm`: the same checks, monetary policy, RFM and holdout,
    never loaded into memory); ``Prepared.transactions`` is then None."""
    if (transactions is None) == (rfm is None):
        raise InputError("give either a transaction log or an RFM summary")
    if rfm is not None:
        if calibration_end is not None or holdout_days is not None:
            raise InputError("a holdout split needs a transaction log, not an RFM summary")
        out = D.validate_rfm(rfm, source=rfm.attrs.get("source", "<rfm>"))
        out.attrs.update(rfm.attrs)
        stated = rfm.attrs.get("time_unit")
        if time_unit is None and stated is None:
            raise InputError("an RFM summary needs its time unit (D, W or M)")
        unit = canonical_unit(time_unit or stated)
        if stated is not None and canonical_unit(stated) != unit:
            raise InputError(f"this RFM summary is in {stated}s, not {unit}s")
        out.attrs["time_unit"] = unit
        prepared = Prepared(out)
    elif not isinstance(transactions, pd.DataFrame):
        # a path (file, glob, folder, data-lake URI): aggregated by the active engine
        # (bayes.engines, --engine duckdb|spark) without loading the log
        from bayes.engines.growth import ltv_rfm

        got = ltv_rfm(
            transactions,
            time_unit=time_unit or "W",
            observation_end=observation_end,
            calibration_end=calibration_end,
            holdout_end=holdout_end,
            holdout_days=holdout_days,
        )
        prepared = Prepared(
            got.summary, got.holdout, got.policy, None, got.calibration_end, got.holdout_end
        )
    else:
        time_unit = time_unit or "W"
        src = transactions.attrs.get("source", "<transactions>")
        tx, policy = D.apply_monetary_policy(transactions)
        last = tx["date"].max()
        if holdout_days is not None:
            if calibration_end is not None:
                raise InputError("give --calibration-end or --holdout-days, not both")
            calibration_end = last.floor("D") - pd.Timedelta(days=int(holdout_days))
            holdout_end = last
        if calibration_end is not None:
            cal = _naive(calibration_end)
            hold = _naive(holdout_end if holdout_end is not None else last)
            if cal >= last:
                raise InputError(
                    f"the calibration end {cal.date()} is on or after the last transaction "
                    f"{last.date()}: nothing is left to hold out",
                    source=src,
                )
            summary, holdout = D.rfm_summary(
                tx, calibration_end=cal, holdout_end=hold, time_unit=time_unit
            )
        else:
            cal = hold = None
            end = None if observation_end is None else _naive(observation_end)
            summary, holdout = D.rfm_summary(tx, observation_end=end, time_unit=time_unit)
        prepared = Prepared(summary, holdout, policy, tx, cal, hold)
    if segments is not None:
        seg = segments.reindex(prepared.rfm.index)
        missing = seg.isna().to_numpy()
        if missing.any():
            raise InputError(
                "customers of the data missing from the segment table",
                source=segments.attrs.get("source", "<customers>"),
                column=str(segments.name),
                rows=list(prepared.rfm.index[missing][:20]),
            )
        prepared.rfm[str(segments.name)] = seg.astype(str).to_numpy()
    return prepared


@dataclass
class LTVRun:
    """Everything a fit produced; :func:`write_ltv` turns it into files."""

    model: LTVModel
    prepared: Prepared
    table: pd.DataFrame
    parameters: pd.DataFrame
    summary: dict
    holdout: pd.DataFrame | None = None
    comparison: pd.DataFrame | None = None
    segments: pd.DataFrame | None = None


def lifetimes_mle(rfm: pd.DataFrame, spend: bool = True) -> dict:
    """lifetimes' maximum-likelihood fits (``BetaGeoFitter``, ``GammaGammaFitter`` on the
    customers with positive-value repeat purchases): the cross-check of a pooled fit."""
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            bgf = BetaGeoFitter().fit(rfm["frequency"], rfm["recency"], rfm["T"])
            out.update({k: float(bgf.params_[k]) for k in BGNBD_PARAMS})
        except Exception:  # noqa: BLE001 - lifetimes may fail to converge; optional check
            pass
        if spend and "monetary_value" in rfm:
            xs = rfm.get("spend_frequency", rfm["frequency"])
            rep = (xs > 0) & (rfm["monetary_value"] > 0)
            try:
                ggf = GammaGammaFitter().fit(xs[rep], rfm["monetary_value"][rep])
                out.update({k: float(ggf.params_[k]) for k in GAMMA_GAMMA_PARAMS})
            except Exception:  # noqa: BLE001
                pass
    return out


def parameter_table(model: LTVModel, mle: dict | None = None, prob: float = 0.9) -> pd.DataFrame:
    """The posterior summary (``variable, coords, mean, sd, median, lower_90, upper_90, ess_bulk,
    ess_tail, r_hat``) with lifetimes' MLE (pooled fits) and the prior of each parameter."""
    t = model.summary(prob=prob)
    if mle:
        t["mle_lifetimes"] = t["variable"].map(mle)
    pri = model.priors_in_unit()
    t["prior"] = t["variable"].map(lambda v: str(pri[v]) if v in pri else "")
    return t


def customer_table(
    model: LTVModel,
    *,
    draws: int = 500,
    chunk: int = 20_000,
    prob: float = 0.9,
    **predict_kw,
) -> tuple[pd.DataFrame, dict]:
    """Per-customer summaries of ``model.predict`` (``<var>_mean, _sd, _lower_90, _upper_90``)
    beside the RFM inputs, computed ``chunk`` customers at a time; also the posterior draws of
    the sum over customers of each variable (``{var: array}``), for totals with intervals."""
    data = model.data_
    parts, sums, seg_sums = [], {}, {}
    seg_col = model.segment
    for start in range(0, len(data), chunk):
        block = data.iloc[start : start + chunk]
        pred = model.predict(block, draws=draws, **predict_kw)
        parts.append(draws_table(pred, prob))
        for k, da in pred.data_vars.items():
            s = da.sum("customer_id").values.ravel()
            sums[k] = sums.get(k, 0.0) + s
            if seg_col:
                labels = block[seg_col].to_numpy()
                for lab in np.unique(labels):
                    sel = da.isel(customer_id=np.flatnonzero(labels == lab))
                    key = (lab, k)
                    seg_sums[key] = seg_sums.get(key, 0.0) + sel.sum("customer_id").values.ravel()
    table = data.join(pd.concat(parts))
    return table, {"total": sums, "segments": seg_sums}


def _segment_table(model: LTVModel, sums: dict, prob: float) -> pd.DataFrame:
    d = model.data_
    sizes = d[model.segment].value_counts()
    rows = []
    for lab in model.segments_:
        n = int(sizes.get(lab, 0))
        row = {"segment": lab, "customers": n}
        for (s, k), v in sums.items():
            if s == lab and n:
                st = interval_dict(np.asarray(v) / n, prob)
                row[f"{k}_mean"] = st["mean"]
                lo, hi = [c for c in st if c.startswith(("lower", "upper"))]
                row[f"{k}_{lo}"], row[f"{k}_{hi}"] = st[lo], st[hi]
        post = model.idata_.posterior
        for p in model._param_names():
            row[p] = float(post[p].sel(segment=lab).median())
        rows.append(row)
    return pd.DataFrame(rows)


def trajectories_text(summary: dict) -> str:
    """How a fit's NUTS trajectories ran, for people: on the exact likelihood, or on its
    expansion with the share of transitions the exact correction accepted."""
    t = summary.get("trajectories")
    if not isinstance(t, dict):
        return "on the exact likelihood"
    return (
        f"on each segment's quadratic likelihood expansion; {t['acceptance']:.1%} of the "
        "transitions accepted against the exact likelihood (exact draws)"
    )


def fit_ltv(
    rfm: pd.DataFrame,
    *,
    priors=None,
    sampler=None,
    time_unit: str | None = None,
    segment: str | None = None,
    pooling: str = "partial",
    surrogate: bool | None = None,
    source: str | None = None,
) -> LTVModel:
    """:class:`LTVModel` fitted on ``rfm`` (time unit from ``rfm.attrs`` unless given;
    ``surrogate`` as in :class:`LTVModel`)."""
    unit = time_unit or rfm.attrs.get("time_unit") or "W"
    model = LTVModel(
        priors, sampler, time_unit=unit, segment=segment, pooling=pooling, surrogate=surrogate
    )
    try:
        return model.fit(rfm, source=source)
    except ValueError as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(str(exc), source=source) from exc


def run_ltv(
    prepared: Prepared,
    *,
    priors=None,
    sampler=None,
    segment: str | None = None,
    pooling: str = "partial",
    surrogate: bool | None = None,
    discount_rate: float = 0.01,
    months=(6, 12),
    horizon: float | None = None,
    predict_draws: int = 500,
    source: dict | None = None,
    glm: bool = True,
    prob: float = 0.9,
) -> LTVRun:
    """Fit, predict per customer, evaluate on the holdout (and the survival/GLM path)."""
    from models.ltv.units import units_per_month

    rfm = prepared.rfm
    src = (source or {}).get("path") or (source or {}).get("dataset")
    model = fit_ltv(
        rfm,
        priors=priors,
        sampler=sampler,
        segment=segment,
        pooling=pooling,
        surrogate=surrogate,
        source=src,
    )
    unit = model.time_unit
    horizon = 6 * units_per_month(unit) if horizon is None else float(horizon)
    kw = {"months": tuple(months), "discount_rate": discount_rate, "horizon": horizon}
    table, sums = customer_table(model, draws=predict_draws, prob=prob, **kw)
    mle = lifetimes_mle(rfm, model.spend_) if not segment else {}
    params = parameter_table(model, mle, prob)
    n = len(rfm)
    per_customer = {k: interval_dict(np.asarray(v) / n, prob) for k, v in sums["total"].items()}
    totals = {k: interval_dict(np.asarray(v), prob) for k, v in sums["total"].items()}
    d = model.diagnostics_
    summary = {
        "model": model.idata_.attrs["ltv_model"],
        "source": source or {},
        "customers": n,
        "unique_rfm_rows": int(model.idata_.constant_data.sizes["rfm_row"]),
        "time_unit": unit,
        "segment": segment,
        "pooling": pooling if segment else None,
        "seed": model.sampler_.seed,
        "sampler": model.sampler_.to_dict(),
        "trajectories": json.loads(model.idata_.attrs.get("ltv_sampler", "null"))
        or "on the exact likelihood",
        "discount_rate_monthly": discount_rate,
        "horizon": horizon,
        "months": list(months),
        "monetary_policy": {**prepared.policy, "paid_share": model.paid_share_},
        "per_customer": per_customer,
        "totals": totals,
        "parameters": params.drop(columns=["prior"]).to_dict(orient="records"),
        "priors": model.priors_.to_dict(),
        "diagnostics": d.to_dict(),
        "data_hash": model.idata_.attrs["data_hash"],
        "log_likelihood": model.idata_.attrs.get("log_likelihood", ""),
    }
    if mle:
        summary["mle_lifetimes"] = mle
    run = LTVRun(model, prepared, table, params, summary)
    if segment:
        run.segments = _segment_table(model, sums["segments"], prob)
        summary["segments"] = run.segments.to_dict(orient="records")
    if prepared.holdout is not None:
        pred = holdout_predictions(model, prepared.holdout, draws=max(predict_draws, 1000))
        run.holdout = pred
        summary["holdout"] = {
            "calibration_end": str(prepared.calibration_end.date()),
            "holdout_end": str(pd.Timestamp(prepared.holdout_end).date()),
            "duration": pred.attrs["duration"],
            **evaluate_holdout(pred),
        }
        run.table = run.table.join(
            pred[["actual", "predicted"]].rename(
                columns={"actual": "holdout_actual", "predicted": "holdout_predicted"}
            )
        )
        if glm and prepared.transactions is None:
            summary["holdout"]["survival_glm"] = (
                "not run: the log was aggregated by an engine (the GLM needs its rows: "
                "--engine pandas)"
            )
        elif glm:
            try:
                g = glm_holdout_predictions(
                    prepared.transactions,
                    calibration_end=prepared.calibration_end,
                    holdout_end=prepared.holdout_end,
                    time_unit=unit,
                )
            except InputError as exc:
                summary["holdout"]["survival_glm"] = f"not run: {exc}"
            else:
                run.comparison = compare_holdout(pred, g)
                summary["holdout"]["comparison"] = run.comparison.to_dict(orient="records")
    return run


def headline(run: LTVRun, months: int = 12) -> str:
    """One sentence: the LTV of the customer base with its 90% interval, per customer, and
    the holdout (:func:`bayes.headlines.ltv_total`, the phrasing the report and app share)."""
    from bayes.headlines import ltv_total

    return ltv_total(run.summary, months)


def write_ltv(run: LTVRun, folder: str | os.PathLike) -> list[str]:
    """Write the run's files into ``folder``; returns their names."""
    from bayes.ltv.plots import (
        plot_frequency_ppc,
        plot_holdout,
        plot_ltv_by_segment,
        plot_p_alive_matrix,
    )

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    m = run.model
    m.save(out / "posterior.nc")
    write_table(run.table.reset_index(), out / "ltv.csv")
    write_table(run.parameters, out / "parameters.csv")
    write_table(m.priors_in_unit().table(), out / "priors.csv")
    save_figure(plot_frequency_ppc(m), out / "ppc_frequency.png")
    save_figure(plot_p_alive_matrix(m.p_alive_matrix(draws=400)), out / "p_alive_matrix.png")
    if run.segments is not None:
        write_table(run.segments, out / "segments.csv")
        if any(c.startswith("ltv_12m") for c in run.segments.columns):
            save_figure(plot_ltv_by_segment(run.segments), out / "ltv_by_segment.png")
    if run.holdout is not None:
        save_figure(plot_holdout(run.holdout), out / "holdout.png")
        write_table(binned_holdout(run.holdout), out / "holdout_bins.csv")
        if run.comparison is not None:
            write_table(run.comparison, out / "holdout_comparison.csv")
    write_json(run.summary, out / "summary.json")
    return sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
