"""The uplift page's library calls, gathered here so that tests reach them without Streamlit:
fit a learner and score the held-out customers (:func:`bayes.uplift.evaluate.fit_uplift`, as
``bayes uplift fit``), evaluate any scored file (``evaluate_scores``, as ``bayes uplift
evaluate``) and simulate targeting (``simulate_targeting``, as ``bayes uplift target``), with
each conversion valued by the mean order margin or by ``margin rate × 12-month LTV`` draws of
the LTV posterior (``ltv_draws``).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

__all__ = [
    "DEMO_COLUMNS",
    "TRUE_SCORE",
    "conversion_value",
    "demo_scores",
    "evaluate",
    "learners",
    "ltv_values",
    "margin_rate",
    "target",
]

#: the demo experiment's outcome and treatment columns (``bayes uplift generate``)
DEMO_COLUMNS = {"outcome": "converted", "treatment": "treatment_flag", "id": "user_id"}
#: the score column holding the generator's true uplift τ(x) (known on generated data only)
TRUE_SCORE = "true_uplift"


def learners() -> list[str]:
    """The learners ``bayes uplift fit --learner`` offers here (the causal forest only when
    econml, the optional extra, is installed)."""
    from models.uplift.learners import LEARNERS

    return [
        name
        for name in LEARNERS
        if name != "causal-forest" or importlib.util.find_spec("econml") is not None
    ]


def demo_scores(
    paths: dict[str, Path], learner: str, *, seed: int = 0, n_boot: int = 200, k: float = 0.3
):
    """Fit ``learner`` on the demo experiment and score the held-out customers, as ``bayes
    uplift fit`` does (:class:`~bayes.uplift.evaluate.FitResult`); the scores also carry the
    generator's true uplift (column :data:`TRUE_SCORE`) to rank by for comparison."""
    from bayes.io import read_table
    from bayes.uplift.data import FEATURES
    from bayes.uplift.evaluate import fit_uplift

    fit = fit_uplift(
        read_table(paths["experiment"]),
        outcome=DEMO_COLUMNS["outcome"],
        treatment=DEMO_COLUMNS["treatment"],
        features=FEATURES,
        learner=learner,
        k=k,
        n_boot=n_boot,
        seed=seed,
        source=str(paths["experiment"]),
    )
    truth = read_table(paths["truth"])[["user_id", TRUE_SCORE]]
    fit.scores = fit.scores.merge(truth, on="user_id", how="left", validate="one_to_one")
    return fit


def evaluate(
    scores: pd.DataFrame,
    *,
    outcome: str,
    treatment: str,
    score: str,
    k: float = 0.3,
    n_boot: int = 200,
    seed: int = 0,
    source: str | None = None,
):
    """Qini / uplift curves with bands, AUUC, Qini coefficient, uplift at k
    (:func:`bayes.uplift.evaluate.evaluate_scores`, as ``bayes uplift evaluate``)."""
    from bayes.uplift.evaluate import evaluate_scores

    return evaluate_scores(
        scores, outcome=outcome, treatment=treatment, score=score, k=k, n_boot=n_boot,
        seed=seed, source=source,
    )  # fmt: skip


def conversion_value(scores: pd.DataFrame, *, outcome: str, column: str = "margin") -> float:
    """The value of one conversion as ``bayes uplift target`` takes it by default: the mean of
    ``column`` (the order margin) over the converted users. Raises ``InputError`` when there
    is none."""
    from bayes.io import InputError

    if column not in scores.columns:
        raise InputError(f"no '{column}' column to value a conversion", column=column)
    conv = pd.to_numeric(scores[outcome], errors="coerce") > 0
    values = pd.to_numeric(scores.loc[conv, column], errors="coerce")
    if not values.notna().any():
        raise InputError(f"no conversion with a value in '{column}'", column=column)
    return float(values.mean())


def margin_rate(orders: Path) -> float:
    """Margin per unit of order amount in an orders file (``Σ margin / Σ amount``, as the
    demo's report values LTV)."""
    from bayes.io import read_table

    o = read_table(orders)
    return float(o["margin"].sum() / o["amount"].sum())


def ltv_values(orders: Path, customer_ids, *, months: int = 12, n_draws: int = 200, seed: int = 0):
    """``(draws, diagnostics)``: ``(sample, customer_id)`` draws of each customer's
    ``months``-month LTV from the BG/NBD + Gamma-Gamma posterior fitted on ``orders`` (the
    app's cached LTV fit, :func:`bayes.app.data.ltv_model`), through the uplift domain's one
    LTV adapter :func:`bayes.uplift.targeting.ltv_draws`; and the fit's diagnostics (a dict
    with ``ok`` and ``problems``)."""
    from bayes.app.data import ltv_model
    from bayes.uplift.targeting import ltv_draws

    fit, _ = ltv_model(orders, seed=seed)
    ids = pd.Series(customer_ids).astype(str)
    draws = ltv_draws(fit, ids, months=months, n_draws=n_draws, seed=seed)
    return draws, fit.diagnostics_.to_dict()


def target(
    scores: pd.DataFrame,
    *,
    score: str,
    value,
    promo_cost: float,
    contact_cost: float,
    outcome: str | None = None,
    treatment: str | None = None,
    p_treated: str | None = None,
    n_boot: int = 200,
    seed: int = 0,
):
    """Net revenue of targeting the top fraction by ``score``
    (:func:`bayes.uplift.targeting.simulate_targeting`, as ``bayes uplift target``): the
    observed estimator when outcome and treatment are given (each draw a stratified bootstrap
    replicate, paired with one value draw when ``value`` has draws), else the predicted one."""
    from bayes.uplift.targeting import Costs, simulate_targeting

    col = None if p_treated is None else scores[p_treated].to_numpy(float)
    return simulate_targeting(
        scores[score].to_numpy(float),
        value=value,
        costs=Costs(promo=promo_cost, contact=contact_cost),
        uplift=scores[score].to_numpy(float),
        p_treated=col,
        outcome=None if outcome is None else scores[outcome].to_numpy(float),
        treatment=None if treatment is None else scores[treatment].to_numpy(int),
        n_boot=n_boot,
        seed=seed,
        progress=False,
    )
