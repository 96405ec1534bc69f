"""Does partial pooling pay? Segments with known truths, three fits, one holdout.

The growth generator draws each country's customers from its own BG/NBD + Gamma-Gamma truth
(:data:`SEGMENT_TRUTH`, country shares :data:`COUNTRY_SHARES`: US and MX large, CA in
between, GB and DE small). On the same calibration period three models are fitted:

* ``partial`` — :class:`~models.ltv.LTVModel` by country with hierarchical priors;
* ``none`` — by country, independent (each country its own fit);
* ``pooled`` — one model, countries ignored.

Each predicts every customer's holdout purchases (posterior mean). Two errors per country:

* ``error_vs_truth``: |predicted - expected| / expected for the country's total, where
  *expected* is the truth's own conditional expectation given each customer's calibration
  data (FHL05a eq. 10 at the country's true parameters) — estimation error alone, free of the
  holdout's Poisson noise;
* ``holdout_ape``: |predicted - actual| / actual against the purchases that happened.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.ltv import expected_purchases

__all__ = ["COUNTRY_SHARES", "SEGMENT_TRUTH", "PoolingStudy", "pooling_study"]

#: per-country truths (weeks; others keep GrowthTruth's r 0.25, alpha 4, a 0.8, b 2.5, p 6,
#: q 4, v 15): log r spread ~0.35 across countries, as the segment-spread prior expects
SEGMENT_TRUTH = {
    "country": {
        "US": {},
        "MX": {"r": 0.35, "v": 12.0},
        "CA": {"r": 0.2, "alpha": 3.2},
        "GB": {"r": 0.4, "alpha": 5.0, "v": 18.0},
        "DE": {"r": 0.15, "alpha": 3.0, "v": 20.0},
    }
}
#: country shares (US, MX, CA, GB, DE): GB and DE are the small segments (< 8% of users)
COUNTRY_SHARES = (0.55, 0.25, 0.10, 0.06, 0.04)
METHODS = ("partial", "none", "pooled")


@dataclass
class PoolingStudy:
    """Per (country, method): customers, predicted / expected / actual holdout purchases and
    the two errors; ``summary`` averages the errors over the small and the large countries."""

    errors: pd.DataFrame
    summary: pd.DataFrame
    models: dict
    holdout_days: int

    def winner_small(self, metric: str = "error_vs_truth") -> str:
        s = self.summary[self.summary["size"] == "small"].set_index("method")[metric]
        return str(s.idxmin())


def _truth_params(truth, countries: np.ndarray) -> dict:
    bg, _ = truth.customer_params({"country": countries})
    return {k: np.broadcast_to(v, countries.shape) for k, v in bg.items()}


def pooling_study(
    n_users: int = 20_000,
    *,
    seed: int = 0,
    holdout_days: int = 120,
    sampler=None,
    small_share: float = 0.08,
) -> PoolingStudy:
    """Generate, fit the three models and compare them country by country (see the module
    docstring). Countries below ``small_share`` of the users count as small."""
    from bayes.growth.data import GrowthTruth, generate_growth_data
    from bayes.ltv.data import load_segments, load_transactions
    from bayes.ltv.evaluate import holdout_predictions
    from bayes.ltv.workflow import fit_ltv, prepare_rfm

    truth = GrowthTruth(segment_truth=SEGMENT_TRUTH, country_probs=COUNTRY_SHARES)
    data = generate_growth_data(n_users, seed=seed, truth=truth)
    tx = load_transactions(data.orders, source="generated orders")
    seg = load_segments(data.users, "country", source="generated users")
    prepared = prepare_rfm(transactions=tx, holdout_days=holdout_days, segments=seg)
    rfm, holdout = prepared.rfm, prepared.holdout
    models = {
        "partial": fit_ltv(rfm, sampler=sampler, segment="country", pooling="partial"),
        "none": fit_ltv(rfm, sampler=sampler, segment="country", pooling="none"),
        "pooled": fit_ltv(rfm.drop(columns="country"), sampler=sampler),
    }
    dur = float(holdout["duration_holdout"].iloc[0])
    countries = rfm["country"].to_numpy()
    tp = _truth_params(truth, countries)
    expected = expected_purchases(
        dur,
        *(tp[k] for k in ("r", "alpha", "a", "b")),
        rfm["frequency"].to_numpy(float),
        rfm["recency"].to_numpy(float),
        rfm["T"].to_numpy(float),
    )
    actual = holdout["frequency_holdout"].reindex(rfm.index).to_numpy(float)
    shares = data.users["country"].value_counts(normalize=True)
    rows = []
    for method, model in models.items():
        pred = holdout_predictions(model, holdout, draws=1000)["predicted"].to_numpy()
        for c in sorted(set(countries)):
            sel = countries == c
            p, e, a = pred[sel].sum(), expected[sel].sum(), actual[sel].sum()
            rows.append(
                {
                    "segment": c,
                    "customers": int(sel.sum()),
                    "size": "small" if shares[c] < small_share else "large",
                    "method": method,
                    "predicted": p,
                    "expected_under_truth": e,
                    "actual": a,
                    "error_vs_truth": abs(p - e) / e,
                    "holdout_ape": abs(p - a) / a if a > 0 else np.nan,
                    "diagnostics_ok": model.diagnostics_.ok,
                }
            )
    errors = pd.DataFrame(rows)
    summary = (
        errors.groupby(["size", "method"])[["error_vs_truth", "holdout_ape"]]
        .mean()
        .reset_index()
        .sort_values(["size", "error_vs_truth"])
    )
    return PoolingStudy(errors, summary, models, holdout_days)
