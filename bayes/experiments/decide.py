"""The decision an experiment's readout supports, and the one sentence that says it.

Bayesian rule (expected loss, Stucchio 2015 / GrowthBook): ship the treatment when the expected
loss of shipping it is below the *loss tolerance* (relative, default 0.1% of the control's
mean) and it is more likely better than not; keep the control when the expected loss of
keeping it is below the tolerance; otherwise keep the experiment running. A sample-ratio
mismatch overrides everything: the data are not what the plan says, so no readout is trusted.

Frequentist rule (for ``--method cuped|regression``): ship when the whole confidence interval
of the lift is above 0, keep the control when it is below, otherwise inconclusive.

Chance to win is always said in words so that it is not read as a p-value (GrowthBook #2737).
"""

from __future__ import annotations

from priors.spec import interval_label, interval_names

__all__ = ["LOSS_TOLERANCE", "decide_bayes", "decide_frequentist", "headline"]

#: expected loss (relative to the control's mean) one accepts when shipping
LOSS_TOLERANCE = 0.001

_ACTION_TEXT = {
    "ship": "Ship the treatment",
    "keep_control": "Keep the control",
    "keep_running": "Keep the experiment running",
    "inconclusive": "No decision yet",
    "investigate": "Do not trust this readout",
}


def chance_in_words(chance: float) -> str:
    """``"a 97% chance that the treatment is better than the control, given the data and the
    prior (a probability of being better, not a p-value)"``."""
    if chance >= 0.9995:
        pct = "more than 99.9%"
    elif chance <= 0.0005:
        pct = "less than 0.1%"
    elif 0.99 < chance or chance < 0.01:
        pct = f"{chance:.1%}"
    else:
        pct = f"{chance:.0%}"
    return (
        f"a {pct} chance that the treatment is better than the control, given the data and "
        "the prior (a probability of being better, not a p-value)"
    )


def decide_bayes(
    readout: dict, *, srm: dict | None = None, tolerance: float = LOSS_TOLERANCE
) -> dict:
    """Action from a readout of :mod:`models.experiments.readout` (see the module docstring)."""
    if not tolerance > 0:
        raise ValueError(f"the loss tolerance must be > 0, got {tolerance}")
    loss = readout["expected_loss_relative"]
    chance = readout["chance_to_win"]
    if srm is not None and srm.get("mismatch"):
        action, why = "investigate", srm["message"]
    elif loss["choose_treatment"] <= tolerance and chance >= 0.5:
        action = "ship"
        why = (
            f"shipping risks an expected {loss['choose_treatment']:.3%} of the control's mean, "
            f"within the tolerance of {tolerance:.2%}"
        )
    elif loss["choose_control"] <= tolerance and chance < 0.5:
        action = "keep_control"
        why = (
            f"keeping the control risks an expected {loss['choose_control']:.3%}, within the "
            f"tolerance of {tolerance:.2%}"
        )
    else:
        action = "keep_running"
        why = (
            f"either choice still risks more than the tolerance of {tolerance:.2%} (shipping "
            f"{loss['choose_treatment']:.3%}, keeping the control {loss['choose_control']:.3%})"
        )
    return {
        "action": action,
        "rule": "expected loss",
        "tolerance": tolerance,
        "chance_to_win": chance,
        "reason": why,
        "chance_in_words": chance_in_words(chance),
    }


def decide_frequentist(estimate: dict, *, srm: dict | None = None, prob: float = 0.9) -> dict:
    """Action from an :meth:`~models.experiments.estimators.Estimate.to_dict` row."""
    lo, hi = interval_names(prob, "relative")
    if srm is not None and srm.get("mismatch"):
        action, why = "investigate", srm["message"]
    elif estimate[lo] > 0:
        action, why = "ship", f"the whole {interval_label(prob)}% confidence interval is above 0"
    elif estimate[hi] < 0:
        action, why = (
            "keep_control",
            f"the whole {interval_label(prob)}% confidence interval is below 0",
        )
    else:
        action, why = "inconclusive", f"the {interval_label(prob)}% confidence interval includes 0"
    return {"action": action, "rule": "confidence interval", "reason": why}


def _pct(x: float) -> str:
    return f"{x:+.1%}" if abs(x) >= 0.001 else f"{x:+.2%}"


def headline(
    decision: dict,
    *,
    metric: str,
    lift: dict,
    prob: float = 0.9,
    kind: str = "credible",
    extra: str = "",
) -> str:
    """One sentence: the decision, the number, its interval, and (Bayesian) the chance to win in
    words. ``lift`` holds ``mean``, ``lower_90`` and ``upper_90`` (for ``prob`` 0.9) of the
    *relative* lift."""
    lo, hi = interval_names(prob)
    value, lo_v, hi_v = lift["mean"], lift[lo], lift[hi]
    text = (
        f"{_ACTION_TEXT[decision['action']]}: {metric} {_pct(value)} "
        f"[{_pct(lo_v)}, {_pct(hi_v)}] ({interval_label(prob)}% {kind} interval)"
    )
    if "chance_in_words" in decision:
        text += f", {decision['chance_in_words']}"
    if decision["action"] == "investigate":
        text += f" — {decision['reason']}"
    return text + (f"; {extra}" if extra else "") + "."
