"""Power, sample size and minimum detectable effect (MDE) for two proportions and two means.

Give two of (users, effect, power) and the third is solved; ``ratio`` is the treatment's users
per control user (unequal allocation), ``alternative`` one of ``two-sided``, ``larger``
(treatment above control), ``smaller``. ``variance_factor`` multiplies every variance: CUPED
with a pre-period covariate of correlation ρ gives ``1 − ρ²`` (Deng et al. 2013).

Variance conventions — each result names the one it used (``PowerResult.convention``):

* proportions, ``convention="pooled"`` (default): the two-proportion z-test with the *pooled*
  proportion ``p̄ = (n_c p_c + n_t p_t) / (n_c + n_t)`` under the null and the unpooled
  variances under the alternative,
  ``power = Φ((δ − z·σ₀)/σ₁) + Φ((−δ − z·σ₀)/σ₁)`` (two-sided),
  ``σ₀² = p̄(1−p̄)(1/n_c + 1/n_t)``, ``σ₁² = p_c(1−p_c)/n_c + p_t(1−p_t)/n_t``. This is R's
  ``power.prop.test`` (which, unless ``strict=TRUE``, drops the second, far tail) and
  statsmodels' ``power_proportions_2indep``.
* proportions, ``convention="cohen_h"``: the normal test on Cohen's effect size
  ``h = 2 asin√p_t − 2 asin√p_c`` (variance-stabilised, no p-dependence): statsmodels'
  ``NormalIndPower`` with ``proportion_effectsize``.
* means, ``test="z"``: standardised effect ``d = δ/σ`` with a known common σ (``NormalIndPower``);
  ``test="t"``: the pooled two-sample t-test, ``df = n_c + n_t − 2``, non-central t
  (``TTestIndPower``).

Both tails are counted in two-sided power (as statsmodels does). A request with no solution —
power not above α, an effect that would need a rate outside (0, 1), a target that no sample
size reaches — raises :class:`PowerError` saying why, never a made-up number.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import optimize
from scipy import stats as st

__all__ = [
    "ALTERNATIVES",
    "PowerError",
    "PowerResult",
    "power_curve",
    "power_means",
    "power_proportions",
]

ALTERNATIVES: tuple[str, ...] = ("two-sided", "larger", "smaller")
PROPORTION_CONVENTIONS: tuple[str, ...] = ("pooled", "cohen_h")
MEAN_TESTS: tuple[str, ...] = ("z", "t")
_N_MAX = 1e13
_CONVENTION_TEXT = {
    "pooled": "two-proportion z-test, pooled variance under the null, unpooled under the "
    "alternative (R power.prop.test, statsmodels power_proportions_2indep)",
    "cohen_h": "normal test on Cohen's h = 2 asin(sqrt p_t) - 2 asin(sqrt p_c) "
    "(statsmodels NormalIndPower + proportion_effectsize)",
    "z": "z-test on d = effect / sd with a known common sd (statsmodels NormalIndPower)",
    "t": "pooled two-sample t-test, df = n_c + n_t - 2 (statsmodels TTestIndPower)",
}


class PowerError(ValueError):
    """A power question without an answer; the message says why and what would help."""


@dataclass(frozen=True)
class PowerResult:
    """One solved power question. ``n_control`` / ``n_treatment`` are the exact (fractional)
    solutions; :attr:`users_per_arm` rounds them up."""

    metric: str  # "proportion" or "mean"
    solved_for: str  # "n", "mde" or "power"
    convention: str
    alternative: str
    alpha: float
    power: float
    n_control: float
    n_treatment: float
    ratio: float
    baseline: float | None
    effect: float  # absolute, signed (treatment − control)
    relative_effect: float | None
    effect_size: float  # Cohen's h or d (before the variance factor)
    variance_factor: float
    sd: float | None = None

    @property
    def users_per_arm(self) -> tuple[int, int]:
        return math.ceil(self.n_control - 1e-9), math.ceil(self.n_treatment - 1e-9)

    @property
    def total_users(self) -> int:
        return sum(self.users_per_arm)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["convention_text"] = _CONVENTION_TEXT[self.convention]
        d["users_control"], d["users_treatment"] = self.users_per_arm
        d["total_users"] = self.total_users
        return d


# ---------------------------------------------------------------------------- checks


def _check_common(alpha, power, ratio, alternative, variance_factor):
    if alternative not in ALTERNATIVES:
        raise PowerError(f"alternative must be one of {ALTERNATIVES}, got {alternative!r}")
    if not 0 < alpha < 1:
        raise PowerError(f"alpha must lie in (0, 1), got {alpha!r}")
    if power is not None:
        if not 0 < power < 1:
            raise PowerError(f"power must lie in (0, 1), got {power!r}")
        if power <= alpha:
            raise PowerError(
                f"power {power:g} must exceed alpha {alpha:g}: a test at level alpha rejects "
                "with probability alpha even when there is no effect, so no sample size is "
                "needed for that power"
            )
    if not ratio > 0 or not math.isfinite(ratio):
        raise PowerError(f"ratio (treatment users per control user) must be > 0, got {ratio!r}")
    if not 0 < variance_factor <= 1:
        raise PowerError(
            f"variance_factor must lie in (0, 1] (CUPED: 1 - rho^2), got {variance_factor!r}"
        )


def _given(n, effect, power) -> str:
    missing = [k for k, v in (("n", n), ("mde", effect), ("power", power)) if v is None]
    if len(missing) != 1:
        raise PowerError(
            "give exactly two of: users per control arm (n), effect (mde), power; "
            f"{'none' if not missing else ' and '.join(missing)} left to solve"
        )
    return missing[0]


def _sign(effect: float | None, alternative: str) -> float:
    """Direction of the effect: set by a one-sided alternative (an effect given against it is
    refused), else by the effect's sign (increase when solving for the MDE)."""
    if alternative in ("smaller", "larger"):
        want = -1.0 if alternative == "smaller" else 1.0
        if effect is not None and effect != 0 and np.sign(effect) != want:
            raise PowerError(
                f"alternative {alternative!r} tests for {'a decrease' if want < 0 else 'an increase'}"
                f" but the effect {effect:g} goes the other way; no sample size can detect it"
            )
        return want
    return -1.0 if effect is not None and effect < 0 else 1.0


# ---------------------------------------------------------------------------- power functions


def _normal_power(nc, alpha, alternative):
    """Power of a z-test whose statistic is Normal(nc, 1) (statsmodels ``normal_power``)."""
    nc = np.asarray(nc, dtype=float)
    if alternative == "two-sided":
        z = st.norm.isf(alpha / 2)
        return st.norm.sf(z - nc) + st.norm.cdf(-z - nc)
    z = st.norm.isf(alpha)
    return st.norm.sf(z - nc) if alternative == "larger" else st.norm.cdf(-z - nc)


def _t_power(d, n1, n2, alpha, alternative):
    """Power of the pooled two-sample t-test (statsmodels ``ttest_power``)."""
    n1, n2 = np.asarray(n1, float), np.asarray(n2, float)
    df = n1 + n2 - 2
    nc = d * np.sqrt(1 / (1 / n1 + 1 / n2))
    a = alpha / 2 if alternative == "two-sided" else alpha
    out = 0.0
    # scipy's non-central t returns NaN deep in a tail (~1e-80); the normal limit is used there
    if alternative in ("two-sided", "larger"):
        c = st.t.isf(a, df)
        upper = st.nct.sf(c, df, nc)
        out = out + np.where(np.isnan(upper), st.norm.sf(c - nc), upper)
    if alternative in ("two-sided", "smaller"):
        c = st.t.ppf(a, df)
        lower = st.nct.cdf(c, df, nc)
        out = out + np.where(np.isnan(lower), st.norm.cdf(c - nc), lower)
    return np.asarray(out, dtype=float)


def _prop_power(p_c, p_t, n_c, ratio, alpha, alternative, convention, vf):
    n_c = np.asarray(n_c, dtype=float)
    n_t = n_c * ratio
    if convention == "cohen_h":
        h = 2 * np.arcsin(np.sqrt(p_t)) - 2 * np.arcsin(np.sqrt(p_c))
        return _normal_power(
            h / math.sqrt(vf) * np.sqrt(1 / (1 / n_c + 1 / n_t)), alpha, alternative
        )
    delta = p_t - p_c
    pbar = (n_c * p_c + n_t * p_t) / (n_c + n_t)
    s0 = np.sqrt(vf * pbar * (1 - pbar) * (1 / n_c + 1 / n_t))
    s1 = np.sqrt(vf * (p_c * (1 - p_c) / n_c + p_t * (1 - p_t) / n_t))
    if alternative == "two-sided":
        z = st.norm.isf(alpha / 2)
        return st.norm.cdf((delta - z * s0) / s1) + st.norm.cdf((-delta - z * s0) / s1)
    z = st.norm.isf(alpha)
    if alternative == "larger":
        return st.norm.cdf((delta - z * s0) / s1)
    return st.norm.cdf((-delta - z * s0) / s1)


def _solve_n(fn, target: float, what: str) -> float:
    """Smallest control-arm size with ``fn(n) = target`` (power increases with n)."""
    lo = 2.0
    if fn(lo) >= target:
        return lo
    hi = 4.0
    while not fn(hi) >= target:  # NaN-safe: bracket by doubling
        lo, hi = hi, hi * 2
        if hi > _N_MAX:
            raise PowerError(
                f"no sample size reaches power {target:g} for {what}: even "
                f"{_N_MAX:.0e} users per arm fall short (is the effect in the direction of "
                "the alternative?)"
            )
    return float(optimize.brentq(lambda n: fn(n) - target, lo, hi, xtol=1e-10, rtol=1e-14))


# ---------------------------------------------------------------------------- proportions


def power_proportions(
    baseline: float,
    *,
    mde: float | None = None,
    n: float | None = None,
    power: float | None = None,
    relative: bool = False,
    alpha: float = 0.05,
    alternative: str = "two-sided",
    ratio: float = 1.0,
    convention: str = "pooled",
    variance_factor: float = 1.0,
) -> PowerResult:
    """Power, users per control arm (``n``) or MDE for two conversion rates.

    ``baseline`` is the control rate; ``mde`` the change to detect, absolute (``0.02`` = two
    points) or, with ``relative=True``, a share of the baseline (``0.1`` = +10%). Leave exactly
    one of ``mde``, ``n``, ``power`` as ``None``. The MDE returned is absolute in
    ``effect`` and relative in ``relative_effect``.
    """
    _check_common(alpha, power, ratio, alternative, variance_factor)
    if convention not in PROPORTION_CONVENTIONS:
        raise PowerError(f"convention must be one of {PROPORTION_CONVENTIONS}, got {convention!r}")
    if not 0 < baseline < 1:
        raise PowerError(f"baseline conversion rate must lie in (0, 1), got {baseline!r}")
    solve = _given(n, mde, power)
    if n is not None and not n >= 2:
        raise PowerError(f"n (users per control arm) must be >= 2, got {n!r}")
    sign = _sign(mde, alternative)
    args = (alpha, alternative, convention, variance_factor)

    if solve == "mde":
        edge = (1.0 - baseline) if sign > 0 else baseline
        top = baseline + sign * edge * (1 - 1e-12)

        def fn(p_t):
            return float(_prop_power(baseline, p_t, n, ratio, *args))

        if fn(top) < power:
            direction = "increase" if sign > 0 else "decrease"
            raise PowerError(
                f"with {n:,.0f} users per control arm no {direction} from {baseline:g} (even to "
                f"{'1' if sign > 0 else '0'}) reaches power {power:g}: add users"
            )
        p_t = float(optimize.brentq(lambda p: fn(p) - power, baseline, top, xtol=1e-15, rtol=1e-15))
        effect = p_t - baseline
    else:
        effect = sign * abs(mde) * (baseline if relative else 1.0)
        p_t = baseline + effect
        if effect == 0:
            raise PowerError("the effect to detect is 0; no test has power beyond alpha there")
        if not 0 < p_t < 1:
            raise PowerError(
                f"baseline {baseline:g} {'+' if effect > 0 else '-'} effect {abs(effect):g} = "
                f"{p_t:g} is not a conversion rate in (0, 1)"
            )
        if solve == "n":
            n = _solve_n(
                lambda x: float(_prop_power(baseline, p_t, x, ratio, *args)),
                power,
                f"a change {baseline:g} -> {p_t:g}",
            )
        else:
            power = float(_prop_power(baseline, p_t, n, ratio, *args))
    h = 2 * math.asin(math.sqrt(p_t)) - 2 * math.asin(math.sqrt(baseline))
    return PowerResult(
        metric="proportion",
        solved_for=solve,
        convention=convention,
        alternative=alternative,
        alpha=alpha,
        power=float(power),
        n_control=float(n),
        n_treatment=float(n) * ratio,
        ratio=ratio,
        baseline=baseline,
        effect=float(effect),
        relative_effect=float(effect / baseline),
        effect_size=float(h),
        variance_factor=variance_factor,
    )


# ---------------------------------------------------------------------------- means


def power_means(
    *,
    sd: float = 1.0,
    mde: float | None = None,
    effect_size: float | None = None,
    baseline: float | None = None,
    relative: bool = False,
    n: float | None = None,
    power: float | None = None,
    alpha: float = 0.05,
    alternative: str = "two-sided",
    ratio: float = 1.0,
    test: str = "t",
    variance_factor: float = 1.0,
) -> PowerResult:
    """Power, users per control arm or MDE for two means with a common ``sd``.

    The effect is given in raw units (``mde``; with ``relative=True`` a share of ``baseline``,
    the control mean) or standardised (``effect_size`` = Cohen's d = effect / sd). The MDE is
    returned both ways: ``effect`` in raw units (``sd`` × d) and ``effect_size``. With
    ``variance_factor`` (CUPED 1 − ρ²) the detectable effect shrinks by its square root.
    """
    _check_common(alpha, power, ratio, alternative, variance_factor)
    if test not in MEAN_TESTS:
        raise PowerError(f"test must be one of {MEAN_TESTS}, got {test!r}")
    if not sd > 0 or not math.isfinite(sd):
        raise PowerError(f"sd must be a positive number, got {sd!r}")
    if mde is not None and effect_size is not None:
        raise PowerError("give the effect either in raw units (mde) or standardised (effect_size)")
    if relative and mde is not None and not baseline:
        raise PowerError("a relative mde needs the control mean (baseline)")
    d_given = None
    if effect_size is not None:
        d_given = float(effect_size)
    elif mde is not None:
        d_given = float(mde) * (abs(baseline) if relative else 1.0) / sd
    solve = _given(n, d_given, power)
    if n is not None and not n >= 2:
        raise PowerError(f"n (users per control arm) must be >= 2, got {n!r}")
    sign = _sign(d_given, alternative)
    scale = 1.0 / math.sqrt(variance_factor)

    def pw(d, n_c):
        if test == "z":
            nobs = 1 / (1 / n_c + 1 / (n_c * ratio))
            return float(_normal_power(d * scale * math.sqrt(nobs), alpha, alternative))
        return float(_t_power(d * scale, n_c, n_c * ratio, alpha, alternative))

    if solve == "mde":
        hi = 1.0
        while pw(sign * hi, n) < power:
            hi *= 2
            if hi > 1e6:
                raise PowerError(f"no effect reaches power {power:g} with n = {n:g}")
        d = sign * float(
            optimize.brentq(lambda x: pw(sign * x, n) - power, 0.0, hi, xtol=1e-14, rtol=1e-15)
        )
    else:
        d = sign * abs(d_given)
        if d == 0:
            raise PowerError("the effect to detect is 0; no test has power beyond alpha there")
        if solve == "n":
            n = _solve_n(lambda x: pw(d, x), power, f"a standardised effect {d:g}")
        else:
            power = pw(d, n)
    effect = d * sd
    return PowerResult(
        metric="mean",
        solved_for=solve,
        convention=test,
        alternative=alternative,
        alpha=alpha,
        power=float(power),
        n_control=float(n),
        n_treatment=float(n) * ratio,
        ratio=ratio,
        baseline=baseline,
        effect=float(effect),
        relative_effect=float(effect / baseline) if baseline else None,
        effect_size=float(d),
        variance_factor=variance_factor,
        sd=sd,
    )


def power_curve(result: PowerResult, n_grid=None):
    """Power at each control-arm size of ``n_grid`` for the effect and settings of
    ``result`` (default grid: 40 sizes from n/20 to 4n, log-spaced): a table
    ``n_control, n_treatment, power``."""
    import pandas as pd

    if n_grid is None:
        n0 = max(result.n_control, 2.0)
        n_grid = np.unique(np.geomspace(max(n0 / 20, 2.0), n0 * 4, 40))
    n_grid = np.asarray(n_grid, dtype=float)
    if result.metric == "proportion":
        p = _prop_power(
            result.baseline,
            result.baseline + result.effect,
            n_grid,
            result.ratio,
            result.alpha,
            result.alternative,
            result.convention,
            result.variance_factor,
        )
    else:
        d = result.effect_size / math.sqrt(result.variance_factor)
        if result.convention == "z":
            nobs = 1 / (1 / n_grid + 1 / (n_grid * result.ratio))
            p = _normal_power(d * np.sqrt(nobs), result.alpha, result.alternative)
        else:
            p = _t_power(d, n_grid, n_grid * result.ratio, result.alpha, result.alternative)
    return pd.DataFrame(
        {"n_control": n_grid, "n_treatment": n_grid * result.ratio, "power": np.asarray(p, float)}
    )
