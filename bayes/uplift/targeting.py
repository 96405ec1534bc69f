"""The targeting simulator: net revenue of a policy, valued with a scalar margin or with the
LTV posterior, as a distribution.

Net revenue of targeting a set ``S`` of users (seed 004, "targeting simulator for net revenue
lift")::

    NR(S) = sum_{i in S} [ uplift_i * V_i  -  promo_cost * p_treated_i  -  contact_cost ]

``V_i`` is the value of a conversion: one number per conversion (by default the mean order
margin of the conversions), or — valued with the LTV posterior — ``margin_rate`` × customer
``i``'s 12-month LTV, one value per posterior draw, so ``NR`` is a distribution. The promotion
is paid on every treated conversion (sure things included: that is what makes them costly),
contact on every targeted user.

Policies rank users by their score (highest first) and target the top ``k``:
``top:F`` (a fraction ``F``), ``threshold:U`` (every user with score > ``U``) or
``budget:B`` (the most users whose expected cost ``contact + promo · p_treated`` stays within
``B``). Sweeping ``k`` gives the net revenue curve; in each draw the best ``k`` is where it
peaks, so the best fraction to target has an interval; the recommended fraction maximises the
posterior mean, and ``P(targeting beats not targeting)`` is the share of draws in which
targeting that fraction earns more than targeting nobody (``NR = 0``).

Two estimators of the curve:

* ``predicted`` — the formula above with the learner's ``uplift`` and ``p_treated`` (model
  based; works on any scored population; its spread is the value's uncertainty only);
* ``observed`` — from the experiment's outcomes among the top ``k`` (the value-weighted uplift
  curve): ``k · (mean_T[y V] − mean_C[y V]) − promo · k · mean_T[y] − contact · k``, each draw
  pairing one LTV draw with one bootstrap replicate stratified by arm, so the interval carries
  both the value's and the experiment's uncertainty. The default when the file has outcomes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from bayes.io import InputError
from priors.spec import interval_names

__all__ = [
    "Costs",
    "Policy",
    "TargetingResult",
    "ltv_draws",
    "parse_policy",
    "policy_regret",
    "simulate_targeting",
]


# ----------------------------------------------------------------------------- LTV adapter


def ltv_draws(
    posterior_path_or_fit,
    customer_ids,
    months: int = 12,
    *,
    rfm: pd.DataFrame | None = None,
    n_draws: int = 200,
    seed: int = 0,
    discount_rate: float = 0.01,
    chunk: int = 50_000,
) -> xr.DataArray:
    """Posterior draws of each customer's ``months``-month discounted LTV: ``(sample,
    customer_id)``.

    The one place the uplift domain touches the LTV model. ``posterior_path_or_fit`` is the
    ``posterior.nc`` of ``bayes ltv fit`` (the customers' RFM then comes from ``rfm`` or from
    the ``ltv.csv`` written beside it) or a fitted :class:`models.ltv.LTVModel`. The value
    is ``models.ltv.clv`` (Fader, Hardie & Lee 2005: Gamma-Gamma spend × discounted BG/NBD
    purchases) on ``n_draws`` posterior draws (a seeded subset). A posterior written by the
    LTV model on the contract (``idata.attrs["domain"] == "ltv"``), or a fitted
    :class:`models.ltv.LTVModel`, is predicted by the model itself (``predict``: its time
    unit, segments and monetary policy), the customers' RFM from the file.
    """
    import arviz as az

    from models.ltv import LTVModel

    model = posterior_path_or_fit if isinstance(posterior_path_or_fit, LTVModel) else None
    if model is None and isinstance(posterior_path_or_fit, (str, os.PathLike)):
        path = Path(posterior_path_or_fit)
        if path.is_file():
            try:
                domain = az.from_netcdf(path).attrs.get("domain")
            except Exception:  # noqa: BLE001 - reported below, as before
                domain = None
            if domain == "ltv":
                import bayes

                model = bayes.load(path)
    if model is not None:
        return _model_ltv_draws(model, customer_ids, months, rfm, n_draws, seed, discount_rate)

    from bayes.ltv.data import validate_rfm as validate_summary
    from models.ltv import clv
    from priors.ltv import BGNBD_PARAMS, GAMMA_GAMMA_PARAMS

    names = tuple(BGNBD_PARAMS) + tuple(GAMMA_GAMMA_PARAMS)
    if isinstance(posterior_path_or_fit, (str, os.PathLike)):
        path = Path(posterior_path_or_fit)
        if not path.is_file():
            raise InputError("LTV posterior not found", source=path)
        try:
            post = az.from_netcdf(path).posterior
        except Exception as exc:  # not a NetCDF / no posterior group
            raise InputError(f"cannot read an ArviZ posterior ({exc})", source=path) from exc
        missing = [k for k in names if k not in post]
        if missing:
            raise InputError(
                f"not a BG/NBD + Gamma-Gamma posterior: no {missing} (fit one with "
                "`bayes ltv fit` on a log with amounts)",
                source=path,
            )
        params = {k: post[k].values.reshape(-1) for k in names}
        if rfm is None:
            beside = path.parent / "ltv.csv"
            if not beside.is_file():
                raise InputError(
                    "the customers' RFM (customer_id, frequency, recency, T, monetary_value) "
                    "is needed: ltv.csv was not found beside the posterior; pass it",
                    source=path,
                )
            rfm = pd.read_csv(beside, dtype={"customer_id": str}).set_index("customer_id")
            src = str(beside)
        else:
            src = "<rfm>"
    else:
        fit = posterior_path_or_fit
        params = {k: np.asarray(fit.idata.posterior[k].values).reshape(-1) for k in names}
        rfm = fit.summary if rfm is None else rfm
        src = "<LTV fit summary>"
    rfm = rfm.copy()
    rfm.index = rfm.index.astype(str)
    rfm = validate_summary(rfm[["frequency", "recency", "T", "monetary_value"]], source=src)
    total = params["r"].size
    if n_draws < total:
        idx = np.sort(np.random.default_rng(seed).choice(total, n_draws, replace=False))
        params = {k: v[idx] for k, v in params.items()}
    ids = [str(c) for c in customer_ids]
    missing = ~pd.Index(ids).isin(rfm.index)
    if missing.any():
        shown = [ids[i] for i in np.flatnonzero(missing)]
        raise InputError(
            f"{int(missing.sum())} customer(s) have no LTV (not in the LTV fit's customers), "
            f"e.g. {shown[:5]}",
            source=src,
        )
    sub = rfm.loc[ids]
    x, t_x, T, m = (sub[c].to_numpy(float) for c in ("frequency", "recency", "T", "monetary_value"))
    bg = {k: params[k][:, None] for k in BGNBD_PARAMS}
    gg = {k: params[k][:, None] for k in GAMMA_GAMMA_PARAMS}
    out = np.empty((params["r"].size, len(ids)))
    with np.errstate(all="ignore"):
        for s in range(0, len(ids), chunk):
            sl = slice(s, s + chunk)
            out[:, sl] = clv(
                months,
                bg,
                gg,
                x[None, sl],
                t_x[None, sl],
                T[None, sl],
                m[None, sl],
                discount_rate=discount_rate,
            )
    if not np.isfinite(out).all():
        raise InputError("the LTV posterior gives non-finite LTV for some customers", source=src)
    return xr.DataArray(
        out,
        dims=("sample", "customer_id"),
        coords={"sample": np.arange(out.shape[0]), "customer_id": ids},
        name=f"ltv_{months}m",
        attrs={"months": months, "discount_rate_monthly": discount_rate, "unit": "currency"},
    )


def _model_ltv_draws(model, customer_ids, months, rfm, n_draws, seed, discount_rate):
    """:func:`ltv_draws` through ``LTVModel.predict``: ``(sample, customer_id)``."""
    ids = [str(c) for c in customer_ids]
    known = model.data_ if rfm is None else rfm.set_axis(rfm.index.astype(str))
    missing = ~pd.Index(ids).isin(known.index)
    if missing.any():
        shown = [ids[i] for i in np.flatnonzero(missing)]
        raise InputError(
            f"{int(missing.sum())} customer(s) have no LTV (not in the LTV fit's customers), "
            f"e.g. {shown[:5]}",
            source="<LTV model>",
        )
    pred = model.predict(
        known.loc[ids], months=(months,), discount_rate=discount_rate, draws=n_draws, seed=seed
    )[f"ltv_{months}m"]
    out = pred.stack(sample=("chain", "draw")).transpose("sample", "customer_id").values
    if not np.isfinite(out).all():
        raise InputError("the LTV posterior gives non-finite LTV for some customers")
    return xr.DataArray(
        out,
        dims=("sample", "customer_id"),
        coords={"sample": np.arange(out.shape[0]), "customer_id": ids},
        name=f"ltv_{months}m",
        attrs={"months": months, "discount_rate_monthly": discount_rate, "unit": "currency"},
    )


# ----------------------------------------------------------------------------- policies


@dataclass(frozen=True)
class Costs:
    """``promo``: paid per treated conversion (redemption); ``contact``: per targeted user."""

    promo: float = 0.0
    contact: float = 0.0


@dataclass(frozen=True)
class Policy:
    """``kind`` one of ``top``, ``threshold``, ``budget`` with its number (see module doc)."""

    kind: str
    value: float

    def __str__(self) -> str:
        return f"{self.kind}:{self.value:g}"


def parse_policy(text: str) -> Policy:
    """``"top:0.3"``, ``"threshold:0.02"``, ``"budget:5000"`` -> :class:`Policy`."""
    kind, _, num = str(text).partition(":")
    kind = kind.strip().lower()
    try:
        value = float(num)
    except ValueError:
        raise ValueError(f"expected top:F, threshold:U or budget:B, got {text!r}") from None
    if kind not in ("top", "threshold", "budget") or not np.isfinite(value):
        raise ValueError(f"expected top:F, threshold:U or budget:B, got {text!r}")
    if kind == "top" and not 0 <= value <= 1:
        raise ValueError(f"top:F needs a fraction F in [0, 1], got {value:g}")
    if kind == "budget" and value < 0:
        raise ValueError(f"budget:B needs B >= 0, got {value:g}")
    return Policy(kind, value)


def _policy_k(policy: Policy, score_sorted, p1_sorted, costs: Costs) -> int:
    n = score_sorted.size
    if policy.kind == "top":
        return int(np.floor(policy.value * n + 1e-9))
    if policy.kind == "threshold":
        return int((score_sorted > policy.value).sum())
    p1 = np.zeros(n) if p1_sorted is None else p1_sorted
    spend = np.cumsum(costs.contact + costs.promo * p1)
    return int(np.searchsorted(spend, policy.value + 1e-9, side="right"))


# ----------------------------------------------------------------------------- simulator


@dataclass
class TargetingResult:
    """Net revenue draws per cut point, and the decision summary."""

    fraction: np.ndarray
    users: np.ndarray
    draws: np.ndarray  # (draw, cut)
    summary: dict
    policies: list = field(default_factory=list)
    prob: float = 0.9

    def curve(self) -> pd.DataFrame:
        lo_name, hi_name = interval_names(self.prob, "net_revenue")
        lo, hi = np.quantile(self.draws, [(1 - self.prob) / 2, (1 + self.prob) / 2], axis=0)
        return pd.DataFrame(
            {
                "fraction": self.fraction,
                "users": self.users,
                "net_revenue_mean": self.draws.mean(axis=0),
                lo_name: lo,
                hi_name: hi,
                "p_positive": (self.draws > 0).mean(axis=0),
            }
        )


def _value_matrix(value, n: int) -> np.ndarray:
    """``(S, n)`` values per draw (S = 1 for a scalar or per-user value)."""
    if isinstance(value, xr.DataArray):
        value = value.transpose("sample", ...).values
    v = np.asarray(value, dtype=float)
    if v.ndim == 0:
        return np.full((1, n), float(v))
    if v.ndim == 1:
        if v.size != n:
            raise ValueError(f"value has {v.size} entries for {n} users")
        return v[None, :]
    if v.shape[1] != n:
        raise ValueError(f"value draws have {v.shape[1]} users, expected {n}")
    return v


def _ends(n: int, bins: int, extra) -> np.ndarray:
    grid = np.ceil(np.linspace(0, n, bins + 1)[1:]).astype(np.int64)
    ks = np.unique(np.r_[grid, np.asarray(list(extra), dtype=np.int64)])
    ks = ks[(ks >= 1) & (ks <= n)]
    return ks - 1


def simulate_targeting(
    score,
    *,
    value,
    costs: Costs = Costs(),
    uplift=None,
    p_treated=None,
    outcome=None,
    treatment=None,
    estimator: str | None = None,
    policies=(),
    n_boot: int = 200,
    bins: int = 200,
    prob: float = 0.9,
    seed: int = 0,
    progress: bool | None = None,
) -> TargetingResult:
    """Net revenue of targeting the top ``k`` users by ``score``, for every cut point (at most
    ``bins`` plus the policies'), as draws; see the module docstring.

    ``value`` is a scalar, one value per user, or draws ``(sample, user)`` (e.g.
    ``margin_rate * ltv_draws(...)``). ``estimator`` defaults to ``observed`` when
    ``outcome`` and ``treatment`` are given, else ``predicted`` (which needs ``uplift``, and
    ``p_treated`` when ``costs.promo > 0``).
    """
    s = np.asarray(score, dtype=float).ravel()
    n = s.size
    if n == 0:
        raise ValueError("no users to target")
    if not np.isfinite(s).all():
        raise ValueError("scores must be finite")
    order = np.argsort(s, kind="stable")[::-1]
    ss = s[order]
    p1s = None if p_treated is None else np.asarray(p_treated, float).ravel()[order]
    has_obs = outcome is not None and treatment is not None
    estimator = estimator or ("observed" if has_obs else "predicted")
    if estimator == "observed" and not has_obs:
        raise ValueError("the observed estimator needs the outcome and treatment columns")
    if estimator == "predicted" and uplift is None:
        raise ValueError("the predicted estimator needs the predicted uplift")
    if estimator == "predicted" and costs.promo > 0 and p1s is None:
        raise ValueError("a promotion cost needs p_treated (the conversion probability if treated)")
    pols = [p if isinstance(p, Policy) else parse_policy(p) for p in policies]
    pol_k = [_policy_k(p, ss, p1s, costs) for p in pols]
    ends = _ends(n, bins, pol_k)
    starts = np.r_[0, ends[:-1] + 1]
    V = _value_matrix(value, n)[:, order]
    rng = np.random.default_rng(seed)
    if estimator == "predicted":
        u = np.asarray(uplift, float).ravel()[order]
        net = u[None, :] * V - costs.contact - (0.0 if p1s is None else costs.promo * p1s[None, :])
        draws = np.cumsum(np.add.reduceat(net, starts, axis=1), axis=1)
    elif estimator == "observed":
        y = np.asarray(outcome, float).ravel()[order]
        t = np.asarray(treatment).ravel()[order].astype(bool)
        if t.all() or not t.any():
            raise ValueError("both arms are needed for the observed estimator")
        S = V.shape[0] if V.shape[0] > 1 else n_boot
        if S < 1:
            raise ValueError("the observed estimator needs n_boot >= 1 with a scalar value")
        block = np.searchsorted(ends, np.arange(n))
        K = ends.size
        draws = np.empty((S, K))
        k_users = (ends + 1).astype(float)
        arms = [np.flatnonzero(t), np.flatnonzero(~t)]
        from bayes.progress import progress as _progress

        for d in _progress(range(S), desc="net revenue draws", enabled=progress):
            v = V[d if V.shape[0] > 1 else 0]
            sums = []
            for idx in arms:  # stratified bootstrap: redraw each arm's users
                w = np.bincount(rng.integers(0, idx.size, idx.size), minlength=idx.size)
                b = block[idx]
                sums.append(
                    (
                        np.cumsum(np.bincount(b, weights=w, minlength=K)),
                        np.cumsum(np.bincount(b, weights=w * y[idx] * v[idx], minlength=K)),
                        np.cumsum(np.bincount(b, weights=w * y[idx], minlength=K)),
                    )
                )
            (nt, yvt, yt), (nc, yvc, _) = sums
            with np.errstate(divide="ignore", invalid="ignore"):
                rt = np.where(nt > 0, yvt / np.maximum(nt, 1), 0.0)
                rc = np.where(nc > 0, yvc / np.maximum(nc, 1), 0.0)
                redeem = np.where(nt > 0, yt / np.maximum(nt, 1), 0.0)
            draws[d] = k_users * (rt - rc - costs.promo * redeem - costs.contact)
    else:
        raise ValueError("estimator must be 'predicted' or 'observed'")
    draws = np.pad(draws, [(0, 0), (1, 0)])
    users = np.r_[0, ends + 1]
    fraction = users / n
    lo_name, hi_name = interval_names(prob)
    q = [(1 - prob) / 2, (1 + prob) / 2]
    mean = draws.mean(axis=0)
    best = int(np.argmax(mean))
    best_per_draw = fraction[np.argmax(draws, axis=1)]
    nr_best = draws[:, best]

    def interval(x):
        lo, hi = np.quantile(x, q)
        return float(lo), float(hi)

    bf_lo, bf_hi = interval(best_per_draw)
    nr_lo, nr_hi = interval(nr_best)
    all_lo, all_hi = interval(draws[:, -1])
    summary = {
        "estimator": estimator,
        "users": n,
        "draws": int(draws.shape[0]),
        "best_fraction": {
            "value": float(fraction[best]),
            "median": float(np.median(best_per_draw)),
            lo_name: bf_lo,
            hi_name: bf_hi,
            "definition": "value: the fraction that maximises the mean net revenue; interval: "
            "of the maximising fraction across draws",
        },
        "best_users": int(users[best]),
        "net_revenue_at_best": {"mean": float(nr_best.mean()), lo_name: nr_lo, hi_name: nr_hi},
        "p_targeting_beats_not_targeting": float((nr_best > 0).mean()),
        "net_revenue_target_all": {
            "mean": float(draws[:, -1].mean()),
            lo_name: all_lo,
            hi_name: all_hi,
        },
        "costs": {"promo_per_redemption": costs.promo, "contact_per_user": costs.contact},
        "interval": f"central {prob:.0%} over draws",
    }
    pol_rows = []
    for p, k in zip(pols, pol_k, strict=True):
        j = int(np.searchsorted(users, k))
        x = draws[:, j]
        lo, hi = interval(x)
        pol_rows.append(
            {
                "policy": str(p),
                "users": int(k),
                "fraction": k / n,
                "net_revenue_mean": float(x.mean()),
                lo_name: lo,
                hi_name: hi,
                "p_beats_not_targeting": float((x > 0).mean()),
            }
        )
    summary["policies"] = pol_rows
    return TargetingResult(
        fraction=fraction, users=users, draws=draws, summary=summary, policies=pol_rows, prob=prob
    )


# ----------------------------------------------------------------------------- regret


def policy_regret(
    *,
    predicted_uplift,
    predicted_p_treated,
    true_uplift,
    true_p_treated,
    value,
    promo_cost: float = 0.0,
    contact_cost: float = 0.0,
    fraction: float = 0.3,
) -> dict:
    """Regret of a learner's policy against the oracle, in true net revenue.

    True net value of targeting user ``i``: ``tau_i V_i − promo p1_i − contact`` with the
    true ``tau`` and ``p1``. The oracle targets every user whose true net value is positive;
    the learner every user whose *predicted* net value is positive. ``regret`` is the
    difference of their true net revenues (>= 0). ``regret_at_k``: the top ``fraction`` by
    predicted uplift against the best users of that number by true net value.
    """
    tau, p1 = np.asarray(true_uplift, float), np.asarray(true_p_treated, float)
    v = np.broadcast_to(np.asarray(value, float), tau.shape)
    true_net = tau * v - promo_cost * p1 - contact_cost
    pred_net = (
        np.asarray(predicted_uplift, float) * v
        - promo_cost * np.asarray(predicted_p_treated, float)
        - contact_cost
    )
    oracle = float(true_net[true_net > 0].sum())
    learner = float(true_net[pred_net > 0].sum())
    m = int(tau.size * fraction)
    top_pred = np.argsort(-np.asarray(predicted_uplift, float), kind="stable")[:m]
    best_m = np.sort(true_net)[::-1][:m].sum()
    return {
        "oracle_net_revenue": oracle,
        "policy_net_revenue": learner,
        "regret": oracle - learner,
        "regret_share": (oracle - learner) / oracle if oracle > 0 else float("nan"),
        "policy_users": int((pred_net > 0).sum()),
        "oracle_users": int((true_net > 0).sum()),
        "regret_at_k": float(best_m - true_net[top_pred].sum()),
    }
