"""Uplift evaluation: Qini and uplift curves, AUUC, Qini coefficient, uplift at k, bootstrap
bands and calibration by decile — sort once, cumulative sums, nothing per user in Python.

Definitions (written out in ``docs/uplift.md``; every number names its normalisation)
-----------------------------------------------------------------------------------------
Users are ranked by the score, highest first (ties: a stable ascending sort reversed, as
scikit-uplift does). For the top ``n`` users let ``n_t(n), n_c(n)`` be the treated and control
users among them and ``y_t(n), y_c(n)`` the sums of their outcomes. The curves are evaluated at
the end of every block of tied scores and start at ``(0, 0)``:

* **uplift curve** ``U(n) = (y_t/n_t − y_c/n_c) · n`` (a ratio with an empty arm counts 0):
  incremental responders if the top ``n`` were treated, estimated from the arms' rates;
* **Qini curve** ``Q(n) = y_t − y_c · n_t/n_c``: treated responders in excess of the control
  responders scaled to the treated count (Radcliffe 2007).

Areas are trapezoid areas over ``n = 0 .. N`` (users on x). ``random`` is the straight line to
the last point, ``perfect`` the curve of the best possible ranking of the observed outcomes
(scikit-uplift's ``perfect_uplift_curve`` / ``perfect_qini_curve(negative_effect=True)``),
both in closed form from the four counts of (arm, outcome). The normalised scores are
``(area − random area) / (perfect area − random area)``: ``uplift_auc_score`` and
``qini_coefficient`` (scikit-uplift's ``uplift_auc_score`` and ``qini_auc_score``).
``auuc_per_user`` = area / N² is the mean, over targeted fractions ``f ∈ [0, 1]``, of the
incremental responders per user of the population.

**Uplift at k** (fraction ``k``): ``overall`` takes the top ``floor(k N)`` users and subtracts
the control response rate among them from the treated one; ``by_group`` takes the top
``floor(k n_T)`` treated and the top ``floor(k n_C)`` control users separately (scikit-uplift's
``uplift_at_k`` strategies ``overall`` and ``by_group``).

Bands: a bootstrap over users stratified by arm (each replicate redraws ``n_T`` treated and
``n_C`` control users with replacement). The curve is cut into at most ``bins`` blocks at
score-tie boundaries; within a block users are exchangeable for every quantity above, so a
replicate is a multinomial draw of (block, outcome) counts per arm — exact for binary outcomes
and O(replicates × bins) after the one sort. Other outcomes are resampled user by user.
Bands are pointwise central intervals at the fixed cut points of the observed ranking.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from priors.spec import interval_names

__all__ = [
    "NORMALISATION",
    "SortedUplift",
    "auuc",
    "bootstrap_metrics",
    "calibration_by_decile",
    "perfect_curve",
    "qini_area",
    "qini_auc_score",
    "qini_curve",
    "sort_by_score",
    "uplift_at_k",
    "uplift_auc_score",
    "uplift_curve",
    "uplift_metrics",
]

#: The normalisation of every number :func:`uplift_metrics` returns, in words.
NORMALISATION = {
    "auuc": "none: trapezoid area under the uplift curve, x = users targeted (0..N), "
    "y = incremental responders (scikit-uplift auc(*uplift_curve))",
    "auuc_per_user": "area under the uplift curve divided by N^2: mean over targeted fractions "
    "0..1 of incremental responders per user of the population",
    "auuc_random": "area under the random (straight-line) uplift curve, same units as auuc",
    "auuc_perfect": "area under the perfect uplift curve, same units as auuc",
    "uplift_auc_score": "(auuc - random) / (perfect - random): scikit-uplift uplift_auc_score; "
    "1 = perfect ranking, 0 = random, < 0 worse than random",
    "qini_area": "none: trapezoid area under the Qini curve, x = users targeted (0..N), "
    "y = incremental responders (scikit-uplift auc(*qini_curve))",
    "qini_random": "area under the random (straight-line) Qini curve, same units as qini_area",
    "qini_perfect": "area under the perfect Qini curve with negative effects, same units",
    "qini_coefficient": "(qini_area - random) / (perfect - random), perfect with negative "
    "effects: scikit-uplift qini_auc_score(negative_effect=True)",
    "uplift_at_k_overall": "none: treated minus control response rate among the top k of all "
    "users (scikit-uplift uplift_at_k, strategy='overall')",
    "uplift_at_k_by_group": "none: treated response rate among the top k of treated users minus "
    "control rate among the top k of control users (uplift_at_k, strategy='by_group')",
    "ate": "none: treated minus control response rate over all users",
}


# ----------------------------------------------------------------------------- the one sort


@dataclass(frozen=True)
class SortedUplift:
    """Outcomes and arms in descending score order, with the tie-block ends.

    ``order`` maps sorted positions to input rows; ``ends`` are the (0-based) positions of the
    last user of each block of tied scores.
    """

    y: np.ndarray
    t: np.ndarray
    score: np.ndarray
    order: np.ndarray
    ends: np.ndarray
    binary: bool = field(default=True)

    @property
    def n(self) -> int:
        return int(self.y.size)

    @property
    def n_treated(self) -> int:
        return int(self.t.sum())

    @property
    def n_control(self) -> int:
        return self.n - self.n_treated


def _as_arrays(y, treatment, score):
    y = np.asarray(y, dtype=float).ravel()
    t = np.asarray(treatment).ravel()
    s = np.asarray(score, dtype=float).ravel()
    if not (y.size == t.size == s.size):
        raise ValueError(
            f"outcome, treatment and score differ in length ({y.size}, {t.size}, {s.size})"
        )
    if y.size == 0:
        raise ValueError("no users")
    if not np.isin(t, (0, 1)).all():
        raise ValueError("treatment must be 0/1")
    t = t.astype(bool)
    if t.all() or not t.any():
        raise ValueError("both arms need at least one user (treated and control)")
    if not np.isfinite(s).all():
        raise ValueError("scores must be finite (no NaN/inf)")
    if not np.isfinite(y).all():
        raise ValueError("outcomes must be finite (no NaN/inf)")
    return y, t, s


def sort_by_score(y, treatment, score) -> SortedUplift:
    """Sort once by descending score (scikit-uplift's order: ``argsort(score, 'stable')[::-1]``)."""
    y, t, s = _as_arrays(y, treatment, score)
    order = np.argsort(s, kind="stable")[::-1]
    ss = s[order]
    ends = np.r_[np.flatnonzero(ss[1:] != ss[:-1]), ss.size - 1]
    binary = bool(np.isin(y, (0.0, 1.0)).all())
    return SortedUplift(y=y[order], t=t[order], score=ss, order=order, ends=ends, binary=binary)


def _sorted(y, treatment, score) -> SortedUplift:
    if isinstance(y, SortedUplift):
        return y
    return sort_by_score(y, treatment, score)


# ----------------------------------------------------------------------------- curves


def _block_sums(su: SortedUplift, ends: np.ndarray) -> np.ndarray:
    """Per-block ``(n_t, n_c, y_t, y_c)`` for blocks ending at ``ends``: shape ``(4, K)``."""
    yt = su.y * su.t
    cum = np.stack([np.cumsum(su.t, dtype=np.float64), np.cumsum(yt), np.cumsum(su.y)])[:, ends]
    n = ends + 1.0
    nt, ytc, ysum = cum
    tot = np.stack([nt, n - nt, ytc, ysum - ytc])
    return np.diff(tot, axis=1, prepend=0.0)


def _curves_from_blocks(blocks: np.ndarray):
    """Uplift and Qini curves from per-block sums ``(..., 4, K)``: returns ``x, uplift, qini``
    each ``(..., K + 1)`` with the leading ``(0, 0)``."""
    cum = np.cumsum(blocks, axis=-1)
    nt, nc, yt, yc = (cum[..., i, :] for i in range(4))
    n = nt + nc
    with np.errstate(divide="ignore", invalid="ignore"):
        rt = np.where(nt > 0, yt / np.where(nt > 0, nt, 1.0), 0.0)
        rc = np.where(nc > 0, yc / np.where(nc > 0, nc, 1.0), 0.0)
        ratio = np.where(nc > 0, nt / np.where(nc > 0, nc, 1.0), 0.0)
    up = (rt - rc) * n
    qi = yt - yc * ratio
    pad = [(0, 0)] * (n.ndim - 1) + [(1, 0)]
    return np.pad(n, pad), np.pad(up, pad), np.pad(qi, pad)


def _trapz(x, y):
    return np.sum(np.diff(x, axis=-1) * (y[..., 1:] + y[..., :-1]) / 2.0, axis=-1)


def uplift_curve(y, treatment=None, score=None):
    """Points ``(n, U(n))`` of the uplift curve (scikit-uplift's ``uplift_curve``)."""
    su = _sorted(y, treatment, score)
    x, up, _ = _curves_from_blocks(_block_sums(su, su.ends))
    return x, up


def qini_curve(y, treatment=None, score=None):
    """Points ``(n, Q(n))`` of the Qini curve (scikit-uplift's ``qini_curve``)."""
    su = _sorted(y, treatment, score)
    x, _, qi = _curves_from_blocks(_block_sums(su, su.ends))
    return x, qi


def _arm_outcome_counts(blocks: np.ndarray):
    """Treated responders, treated non-responders, control responders, control
    non-responders from per-block sums ``(..., 4, K)`` of a binary outcome."""
    tot = blocks.sum(axis=-1)
    nt, nc, yt, yc = (tot[..., i] for i in range(4))
    return yt, nt - yt, yc, nc - yc


def perfect_curve(kind: str, t1, t0, c1, c0):
    """The perfect uplift or Qini curve from the counts of treated responders ``t1``,
    treated non-responders ``t0``, control responders ``c1`` and control non-responders
    ``c0`` (scalars or arrays of bootstrap replicates): ``x, curve`` shaped ``(..., 5)``.

    * ``"qini"`` — scikit-uplift's ``perfect_qini_curve(negative_effect=True)``: rank by
      ``y·t − y·(1 − t)``: treated responders, then every non-responder, then control
      responders.
    * ``"uplift"`` — ``perfect_uplift_curve``: rank by ``2·[y = t] + (y if c1 > t0 else t)``:
      treated responders, control non-responders, then control responders before treated
      non-responders when ``c1 > t0`` (else the other way round).
    """
    t1, t0, c1, c0 = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (t1, t0, c1, c0)))
    z = np.zeros_like(t1)
    # each block as (n_t, n_c, y_t, y_c)
    b_t1 = (t1, z, t1, z)
    b_t0 = (t0, z, z, z)
    b_c1 = (z, c1, z, c1)
    b_c0 = (z, c0, z, z)
    if kind == "qini":
        blocks = [b_t1, tuple(a + b for a, b in zip(b_t0, b_c0, strict=True)), b_c1, (z,) * 4]
    elif kind == "uplift":
        swap = c1 > t0
        third = tuple(np.where(swap, a, b) for a, b in zip(b_c1, b_t0, strict=True))
        fourth = tuple(np.where(swap, b, a) for a, b in zip(b_c1, b_t0, strict=True))
        blocks = [b_t1, b_c0, third, fourth]
    else:
        raise ValueError("kind must be 'uplift' or 'qini'")
    arr = np.stack([np.stack(b, axis=-1) for b in blocks], axis=-1)  # (..., 4, 4 blocks)
    x, up, qi = _curves_from_blocks(arr)
    return x, (up if kind == "uplift" else qi)


def _normalised(area, x, curve, perfect_area):
    random_area = x[..., -1] * curve[..., -1] / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        return (area - random_area) / (perfect_area - random_area), random_area


# ----------------------------------------------------------------------------- scores


def auuc(y, treatment=None, score=None) -> float:
    """Area under the uplift curve (no normalisation; see :data:`NORMALISATION`)."""
    return float(_trapz(*uplift_curve(y, treatment, score)))


def qini_area(y, treatment=None, score=None) -> float:
    """Area under the Qini curve (no normalisation)."""
    return float(_trapz(*qini_curve(y, treatment, score)))


def _require_binary(su: SortedUplift, what: str):
    if not su.binary:
        raise ValueError(f"{what} is defined for a binary (0/1) outcome only")


def uplift_auc_score(y, treatment=None, score=None) -> float:
    """scikit-uplift's ``uplift_auc_score``: (area − random) / (perfect − random)."""
    su = _sorted(y, treatment, score)
    _require_binary(su, "uplift_auc_score")
    blocks = _block_sums(su, su.ends)
    x, up, _ = _curves_from_blocks(blocks)
    px, pc = perfect_curve("uplift", *_arm_outcome_counts(blocks))
    norm, _ = _normalised(_trapz(x, up), px, pc, _trapz(px, pc))
    return float(norm)


def qini_auc_score(y, treatment=None, score=None) -> float:
    """scikit-uplift's ``qini_auc_score(negative_effect=True)``, the Qini coefficient."""
    su = _sorted(y, treatment, score)
    _require_binary(su, "qini_auc_score")
    blocks = _block_sums(su, su.ends)
    x, _, qi = _curves_from_blocks(blocks)
    px, pc = perfect_curve("qini", *_arm_outcome_counts(blocks))
    norm, _ = _normalised(_trapz(x, qi), px, pc, _trapz(px, pc))
    return float(norm)


def _k_cuts(su: SortedUplift, k: float):
    """Sorted positions (exclusive ends) for uplift at ``k``: ``overall`` over all users;
    ``by_group`` the position just after the ``floor(k n_T)``-th treated and
    ``floor(k n_C)``-th control user."""
    if not 0 < k < 1:
        raise ValueError(f"k must be a fraction in (0, 1), got {k!r}")
    n_all = int(su.n * k)
    n_t = int(su.n_treated * k)
    n_c = int(su.n_control * k)
    if n_all == 0 or n_t == 0 or n_c == 0:
        raise ValueError(f"k={k} leaves no user in an arm; raise k")
    pos_t = int(np.flatnonzero(su.t)[n_t - 1]) + 1
    pos_c = int(np.flatnonzero(~su.t)[n_c - 1]) + 1
    return n_all, pos_t, pos_c


def uplift_at_k(y, treatment=None, score=None, *, k: float = 0.3, strategy: str = "overall"):
    """Uplift among the top fraction ``k`` (scikit-uplift's ``uplift_at_k``): ``strategy``
    ``"overall"`` or ``"by_group"`` (see the module docstring). NaN when an arm is empty."""
    su = _sorted(y, treatment, score)
    n_all, pos_t, pos_c = _k_cuts(su, k)
    if strategy == "overall":
        t, y_ = su.t[:n_all], su.y[:n_all]
        with np.errstate(invalid="ignore"):
            return float(y_[t].mean() - y_[~t].mean()) if t.any() and (~t).any() else np.nan
    if strategy == "by_group":
        return float(su.y[:pos_t][su.t[:pos_t]].mean() - su.y[:pos_c][~su.t[:pos_c]].mean())
    raise ValueError("strategy must be 'overall' or 'by_group'")


# ----------------------------------------------------------------------------- bootstrap


def _grid_ends(su: SortedUplift, bins: int, extra=()) -> np.ndarray:
    """At most ``bins`` block ends on score-tie boundaries near the quantiles, plus ``extra``
    exclusive positions (cut exactly there)."""
    target = np.ceil(np.linspace(0, su.n, bins + 1)[1:]).astype(np.int64) - 1
    idx = np.searchsorted(su.ends, np.clip(target, 0, su.n - 1))
    ends = su.ends[np.minimum(idx, su.ends.size - 1)]
    extra = np.asarray([e - 1 for e in extra], dtype=np.int64)
    return np.unique(np.r_[ends, extra, su.n - 1])


def _replicate_blocks(su: SortedUplift, ends: np.ndarray, n_boot: int, rng) -> np.ndarray:
    """Per-block sums ``(n_boot, 4, K)`` of stratified bootstrap replicates."""
    K = ends.size
    block = np.searchsorted(ends, np.arange(su.n))  # block of each sorted position
    out = np.empty((n_boot, 4, K))
    for arm in (True, False):
        sel = su.t == arm
        n_arm = int(sel.sum())
        if su.binary:
            cell = block[sel] * 2 + (su.y[sel] > 0)
            counts = np.bincount(cell, minlength=2 * K).astype(float)
            draws = rng.multinomial(n_arm, counts / n_arm, size=n_boot).reshape(n_boot, K, 2)
            n_blk, y_blk = draws.sum(axis=2), draws[:, :, 1]
        else:
            b_arm, y_arm = block[sel], su.y[sel]
            n_blk = np.empty((n_boot, K))
            y_blk = np.empty((n_boot, K))
            for r in range(n_boot):
                w = np.bincount(rng.integers(0, n_arm, n_arm), minlength=n_arm)
                n_blk[r] = np.bincount(b_arm, weights=w, minlength=K)
                y_blk[r] = np.bincount(b_arm, weights=w * y_arm, minlength=K)
        if arm:
            out[:, 0], out[:, 2] = n_blk, y_blk
        else:
            out[:, 1], out[:, 3] = n_blk, y_blk
    return out


@dataclass
class UpliftCurves:
    """Curves at the cut points of the observed ranking with bootstrap bands.

    ``fraction`` (0..1, users targeted / N) and for ``uplift`` and ``qini``: the observed
    curve, the ``lower``/``upper`` band, the random line and the perfect curve (evaluated at
    the same fractions by linear interpolation of its five points). Curve values are
    incremental responders per user of the population (curve / N).
    """

    fraction: np.ndarray
    curves: dict
    prob: float

    def frame(self):
        import pandas as pd

        lo, hi = interval_names(self.prob)
        cols = {"fraction": self.fraction}
        for kind, c in self.curves.items():
            cols[kind] = c["value"]
            cols[f"{kind}_{lo}"] = c["lower"]
            cols[f"{kind}_{hi}"] = c["upper"]
            cols[f"{kind}_random"] = c["random"]
            cols[f"{kind}_perfect"] = c["perfect"]
        return pd.DataFrame(cols)


def bootstrap_metrics(
    y,
    treatment=None,
    score=None,
    *,
    k: float = 0.3,
    n_boot: int = 200,
    bins: int = 1000,
    prob: float = 0.9,
    seed: int = 0,
):
    """Bootstrap replicates (stratified by arm) of every metric and of both curves.

    Returns ``(replicates, curves)``: a dict of arrays of ``n_boot`` replicate values per
    metric (areas and normalised scores on the cut points) and :class:`UpliftCurves`.
    """
    su = _sorted(y, treatment, score)
    n_all, pos_t, pos_c = _k_cuts(su, k)
    ends = _grid_ends(su, bins, extra=(n_all, pos_t, pos_c))
    rng = np.random.default_rng(seed)
    obs_blocks = _block_sums(su, ends)
    rep_blocks = _replicate_blocks(su, ends, n_boot, rng)
    N = float(su.n)
    x, up, qi = _curves_from_blocks(rep_blocks)
    reps = {"auuc": _trapz(x, up), "qini_area": _trapz(x, qi)}
    reps["auuc_per_user"] = reps["auuc"] / N**2
    if su.binary:
        counts = _arm_outcome_counts(rep_blocks)
        for kind, area, curve in (("uplift", "auuc", up), ("qini", "qini_area", qi)):
            px, pc = perfect_curve(kind, *counts)
            name = "uplift_auc_score" if kind == "uplift" else "qini_coefficient"
            reps[name], _ = _normalised(reps[area], x, curve, _trapz(px, pc))
    cum = np.cumsum(rep_blocks, axis=-1)
    at = {e: int(np.searchsorted(ends, e - 1)) for e in (n_all, pos_t, pos_c)}
    with np.errstate(divide="ignore", invalid="ignore"):
        c = cum[:, :, at[n_all]]
        reps["uplift_at_k_overall"] = c[:, 2] / c[:, 0] - c[:, 3] / c[:, 1]
        reps["uplift_at_k_by_group"] = (
            cum[:, 2, at[pos_t]] / cum[:, 0, at[pos_t]]
            - cum[:, 3, at[pos_c]] / cum[:, 1, at[pos_c]]
        )
        tot = cum[:, :, -1]
        reps["ate"] = tot[:, 2] / tot[:, 0] - tot[:, 3] / tot[:, 1]

    ox, oup, oqi = _curves_from_blocks(obs_blocks)
    frac = ox / N
    q = [(1 - prob) / 2, (1 + prob) / 2]
    curves = {}
    counts_obs = _arm_outcome_counts(obs_blocks) if su.binary else None
    for kind, obs, rep in (("uplift", oup, up), ("qini", oqi, qi)):
        lo, hi = np.quantile(rep, q, axis=0)
        perfect = np.full_like(frac, np.nan)
        if counts_obs is not None:
            px, pc = perfect_curve(kind, *counts_obs)
            perfect = np.interp(ox, px, pc) / N
        curves[kind] = {
            "value": obs / N,
            "lower": lo / N,
            "upper": hi / N,
            "random": frac * obs[-1] / N,
            "perfect": perfect,
        }
    return reps, UpliftCurves(fraction=frac, curves=curves, prob=prob)


# ----------------------------------------------------------------------------- all at once


def uplift_metrics(
    y,
    treatment=None,
    score=None,
    *,
    k: float = 0.3,
    n_boot: int = 200,
    bins: int = 1000,
    prob: float = 0.9,
    seed: int = 0,
):
    """Every metric with its bootstrap interval and its normalisation named; and the curves.

    Returns ``(metrics, curves)``: ``metrics`` maps a name to ``{"value", "lower_90",
    "upper_90", "normalisation"}`` (point values exact on every tie block; intervals from
    ``n_boot`` stratified replicates on at most ``bins`` cut points); ``curves`` is
    :class:`UpliftCurves`. ``n_boot=0`` skips the bootstrap (intervals ``None``).
    """
    su = _sorted(y, treatment, score)
    blocks = _block_sums(su, su.ends)
    x, up, qi = _curves_from_blocks(blocks)
    N = float(su.n)
    values = {"auuc": float(_trapz(x, up)), "qini_area": float(_trapz(x, qi))}
    values["auuc_per_user"] = values["auuc"] / N**2
    if su.binary:
        counts = _arm_outcome_counts(blocks)
        for kind, area, curve in (("uplift", "auuc", up), ("qini", "qini_area", qi)):
            px, pc = perfect_curve(kind, *counts)
            perfect = float(_trapz(px, pc))
            norm, rand = _normalised(values[area], x, curve, perfect)
            prefix = "auuc" if kind == "uplift" else "qini"
            values["uplift_auc_score" if kind == "uplift" else "qini_coefficient"] = float(norm)
            values[f"{prefix}_random"] = float(rand)
            values[f"{prefix}_perfect"] = perfect
    else:
        values["auuc_random"] = float(x[-1] * up[-1] / 2)
        values["qini_random"] = float(x[-1] * qi[-1] / 2)
    values["uplift_at_k_overall"] = uplift_at_k(su, k=k, strategy="overall")
    values["uplift_at_k_by_group"] = uplift_at_k(su, k=k, strategy="by_group")
    values["ate"] = float(su.y[su.t].mean() - su.y[~su.t].mean())
    lo_name, hi_name = interval_names(prob)
    reps, curves = {}, None
    if n_boot:
        reps, curves = bootstrap_metrics(su, k=k, n_boot=n_boot, bins=bins, prob=prob, seed=seed)
    out = {}
    for name, value in values.items():
        entry = {"value": value, lo_name: None, hi_name: None}
        if name in reps:
            r = np.asarray(reps[name], dtype=float)
            r = r[np.isfinite(r)]
            if r.size:
                lo, hi = np.quantile(r, [(1 - prob) / 2, (1 + prob) / 2])
                entry[lo_name], entry[hi_name] = float(lo), float(hi)
        entry["normalisation"] = NORMALISATION[name]
        out[name] = entry
    out["_settings"] = {
        "users": su.n,
        "treated": su.n_treated,
        "control": su.n_control,
        "binary_outcome": su.binary,
        "k": k,
        "bootstrap": "stratified by arm" if n_boot else None,
        "replicates": n_boot,
        "cut_points": None if curves is None else int(curves.fraction.size - 1),
        "interval": f"central {prob:.0%} (percentile)",
        "seed": seed,
    }
    return out, curves


# ----------------------------------------------------------------------------- calibration


def calibration_by_decile(
    y, treatment, score, *, bins: int = 10, n_boot: int = 200, prob: float = 0.9, seed: int = 0
):
    """Predicted against observed uplift by score decile (top decile first).

    Per bin: users, treated, control, mean predicted uplift, observed uplift (treated minus
    control response) with a stratified-bootstrap interval. Bins are equal-count in the
    descending score order (ties may straddle a bin edge).
    """
    import pandas as pd

    su = sort_by_score(y, treatment, score)
    if su.n < bins:
        raise ValueError(f"need at least {bins} users for {bins} bins")
    ends = np.ceil(np.linspace(0, su.n, bins + 1)[1:]).astype(np.int64) - 1
    blocks = _block_sums(su, ends)
    nt, nc, yt, yc = blocks
    with np.errstate(divide="ignore", invalid="ignore"):
        observed = yt / nt - yc / nc
    starts = np.r_[0, ends[:-1] + 1]
    pred = np.add.reduceat(su.score, starts) / (ends - starts + 1)
    rng = np.random.default_rng(seed)
    lo_name, hi_name = interval_names(prob, "observed_uplift")
    lo = hi = np.full(bins, np.nan)
    if n_boot:
        rep = _replicate_blocks(su, ends, n_boot, rng)
        with np.errstate(divide="ignore", invalid="ignore"):
            r = rep[:, 2] / rep[:, 0] - rep[:, 3] / rep[:, 1]
        lo, hi = np.nanquantile(r, [(1 - prob) / 2, (1 + prob) / 2], axis=0)
    return pd.DataFrame(
        {
            "decile": np.arange(1, bins + 1),
            "users": (nt + nc).astype(int),
            "treated": nt.astype(int),
            "control": nc.astype(int),
            "predicted_uplift": pred,
            "observed_uplift": observed,
            lo_name: lo,
            hi_name: hi,
        }
    )
