"""Frequentist readouts of a two-arm experiment, all from :class:`~.stats.ArmMoments`.

Every function returns an :class:`Estimate`: the two arms' (adjusted) means with their 2 × 2
covariance, from which the absolute difference, the relative lift (delta method), Student-t
intervals and p-values follow. Variance conventions are stated per function.

* :func:`difference_in_means` — the plain comparison (Welch).
* :func:`cuped` — CUPED with one covariate exactly as Deng, Xu, Kohavi & Walker (2013):
  ``Y_adj = Y − θ (X − X̄)`` with ``θ = cov(Y, X) / var(X)`` on the *pooled* data and ``X̄``
  the pooled mean of the pre-period covariate.
* :func:`regression_adjustment` — many covariates, Lin (2013): OLS of ``Y`` on the treatment,
  the covariates centred at their pooled means and their interactions; from sums it is one
  regression per arm, and the treatment coefficient is ``μ̂_t − μ̂_c`` with
  ``μ̂_a = ȳ_a − β̂_aᵀ(x̄_a − x̄)``. Its standard error from sums is the asymptotic robust one,
  ``√(s²_t/n_t + s²_c/n_c)`` with ``s²_a`` the arm's residual variance (Lin 2013, Thm 2:
  the limit of the Huber-White estimators).
* :func:`regression_hc` — the same regression on the rows with statsmodels and an HC
  covariance (HC2 by default, Lin's recommendation): the exact finite-sample robust SE.
* :func:`ratio_metric` — a ratio of sums (revenue per order...) by the delta method
  (Deng, Knoblich & Lu 2018).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import stats as st

from models.experiments.stats import ArmMoments

__all__ = [
    "Estimate",
    "EstimationError",
    "cuped",
    "difference_in_means",
    "ratio_metric",
    "regression_adjustment",
    "regression_hc",
]


class EstimationError(ValueError):
    """The data cannot give this estimate (a constant covariate, an empty arm...); the message
    names the column or arm."""


def _interval_names(prob: float, prefix: str = "") -> tuple[str, str]:
    from priors.spec import interval_names

    return interval_names(prob, prefix)


@dataclass(frozen=True)
class Estimate:
    """A two-arm comparison: means of control and treatment and their covariance.

    ``mean`` and ``cov`` are those of the (adjusted) arm means ``(μ̂_c, μ̂_t)``; ``df`` the
    degrees of freedom of the Student-t reference (``inf``: normal); ``unit_var`` the per-user
    variance of the (adjusted) metric in each arm where it exists (sequential intervals and
    power use it).
    """

    metric: str
    method: str
    arms: tuple[str, str]
    n: tuple[int, int]
    mean: tuple[float, float]
    cov: tuple[tuple[float, float], tuple[float, float]]
    df: float = float("inf")
    unit_var: tuple[float, float] | None = None
    details: dict = field(default_factory=dict)

    # ------------------------------------------------------------------ absolute
    @property
    def diff(self) -> float:
        """``μ̂_t − μ̂_c``."""
        return self.mean[1] - self.mean[0]

    @property
    def se(self) -> float:
        c = self.cov
        return float(np.sqrt(max(c[0][0] + c[1][1] - 2 * c[0][1], 0.0)))

    def _crit(self, prob: float) -> float:
        q = (1 + prob) / 2
        return float(st.norm.ppf(q) if not np.isfinite(self.df) else st.t.ppf(q, self.df))

    def interval(self, prob: float = 0.9) -> tuple[float, float]:
        """Central ``prob`` confidence interval of the difference."""
        h = self._crit(prob) * self.se
        return self.diff - h, self.diff + h

    @property
    def p_value(self) -> float:
        """Two-sided p-value of "no difference"."""
        if self.se == 0:
            return float("nan")
        t = self.diff / self.se
        ref = st.norm if not np.isfinite(self.df) else st.t(self.df)
        return float(2 * ref.sf(abs(t)))

    # ------------------------------------------------------------------ relative
    @property
    def relative(self) -> float:
        """``μ̂_t / μ̂_c − 1``."""
        return self.mean[1] / self.mean[0] - 1.0

    @property
    def se_relative(self) -> float:
        """Delta method: gradient ``(−μ̂_t/μ̂_c², 1/μ̂_c)`` through ``cov``."""
        mc, mt = self.mean
        g = np.array([-mt / mc**2, 1.0 / mc])
        return float(np.sqrt(max(g @ np.asarray(self.cov) @ g, 0.0)))

    def relative_interval(self, prob: float = 0.9) -> tuple[float, float]:
        h = self._crit(prob) * self.se_relative
        return self.relative - h, self.relative + h

    def to_dict(self, prob: float = 0.9) -> dict:
        lo, hi = _interval_names(prob)
        rlo, rhi = _interval_names(prob, "relative")
        a, b = self.interval(prob)
        ra, rb = self.relative_interval(prob) if self.mean[0] != 0 else (np.nan, np.nan)
        out = {
            "metric": self.metric,
            "method": self.method,
            "control": self.arms[0],
            "treatment": self.arms[1],
            "n_control": int(self.n[0]),
            "n_treatment": int(self.n[1]),
            "mean_control": float(self.mean[0]),
            "mean_treatment": float(self.mean[1]),
            "difference": float(self.diff),
            "se": self.se,
            lo: float(a),
            hi: float(b),
            "relative": float(self.relative) if self.mean[0] != 0 else float("nan"),
            "se_relative": self.se_relative if self.mean[0] != 0 else float("nan"),
            rlo: float(ra),
            rhi: float(rb),
            "p_value": self.p_value,
            "df": float(self.df),
        }
        for k, v in self.details.items():
            if isinstance(v, (int, float, str, bool, np.floating, np.integer)):
                out[k] = v.item() if hasattr(v, "item") else v
        return out


# ---------------------------------------------------------------------------- helpers


def _two(moments: ArmMoments) -> None:
    if len(moments.arms) != 2:
        raise EstimationError(f"an A/B readout needs two arms, got {list(moments.arms)}")
    empty = [a for a, n in zip(moments.arms, moments.n, strict=True) if n < 2]
    if empty:
        raise EstimationError(
            f"arm(s) {empty} have fewer than 2 users; a variance needs at least 2"
        )


def _welch_df(v: np.ndarray, n: np.ndarray, dof: np.ndarray) -> float:
    w = v / n
    den = np.sum(w**2 / np.maximum(dof, 1))
    return float(np.sum(w) ** 2 / den) if den > 0 else float("inf")


def _from_unit_var(metric, method, m: ArmMoments, means, unit_var, dof, details) -> Estimate:
    n = m.n.astype(float)
    unit_var = np.maximum(np.asarray(unit_var, dtype=float), 0.0)
    v = unit_var / n
    return Estimate(
        metric=metric,
        method=method,
        arms=(m.arms[0], m.arms[1]),
        n=(int(m.n[0]), int(m.n[1])),
        mean=(float(means[0]), float(means[1])),
        cov=((float(v[0]), 0.0), (0.0, float(v[1]))),
        df=_welch_df(unit_var, n, np.asarray(dof, dtype=float)),
        unit_var=(float(unit_var[0]), float(unit_var[1])),
        details=details,
    )


# ---------------------------------------------------------------------------- estimators


def difference_in_means(moments: ArmMoments, metric: str) -> Estimate:
    """Plain difference of arm means; per-arm sample variances (ddof = 1), Welch's df."""
    _two(moments)
    v = moments.var(metric, ddof=1)
    return _from_unit_var(
        metric, "difference", moments, moments.col_mean(metric), v, moments.n - 1, {}
    )


def cuped(moments: ArmMoments, metric: str, covariate: str) -> Estimate:
    """CUPED with one pre-period covariate (Deng, Xu, Kohavi & Walker 2013).

    ``θ = cov(Y, X) / var(X)`` on the pooled data of both arms; adjusted arm means
    ``ȳ_a − θ (x̄_a − X̄)`` with ``X̄`` the pooled mean, i.e. the means of
    ``Y_adj = Y − θ (X − X̄)``; per-arm variance of ``Y_adj`` (ddof = 1)
    ``var_a(Y) − 2θ cov_a(Y, X) + θ² var_a(X)``; Welch's df.

    ``details`` carries ``theta``, ``rho2`` (the pooled squared correlation: the expected
    variance factor is ``1 − ρ²``) and ``variance_reduction`` (achieved: one minus the
    variance of the adjusted difference over that of the plain one).
    """
    _two(moments)
    m = moments.subset([metric, covariate])
    pooled = m.pooled().scatter[0]
    if not pooled[1, 1] > 0:
        raise EstimationError(f"covariate {covariate!r} is constant, so it cannot reduce variance")
    theta = pooled[0, 1] / pooled[1, 1]
    xbar = m.pooled().mean[0, 1]
    means = m.mean[:, 0] - theta * (m.mean[:, 1] - xbar)
    s = m.scatter
    unit_var = (s[:, 0, 0] - 2 * theta * s[:, 0, 1] + theta**2 * s[:, 1, 1]) / (m.n - 1)
    plain = difference_in_means(moments, metric)
    rho2 = pooled[0, 1] ** 2 / (pooled[0, 0] * pooled[1, 1]) if pooled[0, 0] > 0 else 0.0
    est = _from_unit_var(
        metric,
        "cuped",
        m,
        means,
        unit_var,
        m.n - 1,
        {"covariate": covariate, "theta": float(theta), "rho2": float(rho2)},
    )
    red = 1.0 - est.se**2 / plain.se**2 if plain.se > 0 else 0.0
    est.details["variance_reduction"] = float(red)
    return est


def regression_adjustment(moments: ArmMoments, metric: str, covariates: Sequence[str]) -> Estimate:
    """Lin (2013) regression adjustment from sums (see the module docstring).

    Per arm, ``β̂_a = S_xx,a⁻¹ S_xy,a``; ``μ̂_a = ȳ_a − β̂_aᵀ(x̄_a − x̄)``; residual variance
    ``s²_a = (S_yy,a − S_xy,aᵀ β̂_a) / (n_a − k − 1)``; SE ``√(Σ_a s²_a / n_a)``; Welch's df
    with ``n_a − k − 1``. ``details``: ``covariates``, ``variance_reduction``.
    """
    _two(moments)
    covariates = list(covariates)
    if not covariates:
        return difference_in_means(moments, metric)
    k = len(covariates)
    m = moments.subset([metric, *covariates])
    xbar = m.pooled().mean[0, 1:]
    pooled_s = m.pooled().scatter[0]
    const = [c for i, c in enumerate(covariates) if not pooled_s[i + 1, i + 1] > 0]
    if const:
        raise EstimationError(f"covariate(s) {const} are constant, so they cannot adjust")
    means, unit_var = np.zeros(2), np.zeros(2)
    for a in range(2):
        if m.n[a] <= k + 1:
            raise EstimationError(
                f"arm {m.arms[a]!r} has {m.n[a]} users, too few for {k} covariates"
            )
        sxx = m.scatter[a, 1:, 1:]
        sxy = m.scatter[a, 1:, 0]
        try:
            beta = np.linalg.solve(sxx, sxy)
        except np.linalg.LinAlgError:
            raise EstimationError(
                f"covariates {covariates} are collinear (or constant) in arm {m.arms[a]!r}"
            ) from None
        if np.linalg.cond(sxx) > 1e12:
            raise EstimationError(
                f"covariates {covariates} are collinear (or constant) in arm {m.arms[a]!r}"
            )
        means[a] = m.mean[a, 0] - beta @ (m.mean[a, 1:] - xbar)
        unit_var[a] = (m.scatter[a, 0, 0] - sxy @ beta) / (m.n[a] - k - 1)
    plain = difference_in_means(moments, metric)
    est = _from_unit_var(
        metric,
        "regression",
        m,
        means,
        unit_var,
        m.n - k - 1,
        {"covariates": ",".join(covariates)},
    )
    est.details["variance_reduction"] = (
        float(1.0 - est.se**2 / plain.se**2) if plain.se > 0 else 0.0
    )
    return est


def regression_hc(
    y,
    treated,
    covariates=None,
    *,
    metric: str = "y",
    arms: tuple[str, str] = ("control", "treatment"),
    covariate_names: Sequence[str] | None = None,
    cov_type: str = "HC2",
) -> Estimate:
    """Lin's treatment-interacted OLS on the rows, with statsmodels' HC covariance.

    Design ``[1, T, Xc, T·Xc]`` with ``Xc = X − X̄`` (pooled means), so the intercept is the
    adjusted control mean and the ``T`` coefficient the adjusted difference. The interval and
    p-value use the normal reference, as statsmodels does for robust covariances.
    """
    import statsmodels.api as sm

    y = np.asarray(y, dtype=float)
    t = np.asarray(treated, dtype=float)
    if covariates is None:
        x = np.zeros((y.size, 0))
    else:
        x = np.asarray(covariates, dtype=float)
        x = x[:, None] if x.ndim == 1 else x
    names = list(covariate_names or [f"x{i}" for i in range(x.shape[1])])
    sd = x.std(axis=0) if x.shape[1] else np.zeros(0)
    const = [nm for nm, s in zip(names, sd, strict=True) if not s > 0]
    if const:
        raise EstimationError(f"covariate(s) {const} are constant, so they cannot adjust")
    xc = x - x.mean(axis=0)
    design = np.column_stack([np.ones_like(y), t, xc, t[:, None] * xc])
    res = sm.OLS(y, design).fit(cov_type=cov_type)
    a = np.zeros((2, design.shape[1]))
    a[0, 0] = 1.0
    a[1, :2] = 1.0
    mean = a @ res.params
    cov = a @ np.asarray(res.cov_params()) @ a.T
    n_t = int(t.sum())
    return Estimate(
        metric=metric,
        method=f"regression_{cov_type.lower()}",
        arms=arms,
        n=(int(y.size - n_t), n_t),
        mean=(float(mean[0]), float(mean[1])),
        cov=((float(cov[0, 0]), float(cov[0, 1])), (float(cov[1, 0]), float(cov[1, 1]))),
        df=float("inf"),
        details={"covariates": ",".join(names), "cov_type": cov_type},
    )


def ratio_metric(moments: ArmMoments, numerator: str, denominator: str) -> Estimate:
    """A ratio of sums per arm, ``R_a = Σ num / Σ den``, by the delta method.

    Per-user linearised variance ``(V_nn − 2 R V_nd + R² V_dd) / d̄²`` (sample covariances,
    ddof = 1), so ``var(R̂_a) ≈ that / n_a``; Welch's df.
    """
    _two(moments)
    m = moments.subset([numerator, denominator])
    dbar = m.mean[:, 1]
    if np.any(dbar == 0):
        bad = [a for a, d in zip(m.arms, dbar, strict=True) if d == 0]
        raise EstimationError(f"denominator {denominator!r} sums to 0 in arm(s) {bad}")
    r = m.mean[:, 0] / dbar
    c = m.cov(ddof=1)
    unit_var = (c[:, 0, 0] - 2 * r * c[:, 0, 1] + r**2 * c[:, 1, 1]) / dbar**2
    return _from_unit_var(
        f"{numerator}/{denominator}",
        "ratio",
        m,
        r,
        unit_var,
        m.n - 1,
        {"numerator": numerator, "denominator": denominator},
    )
