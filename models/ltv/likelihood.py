"""BG/NBD and Gamma-Gamma likelihoods, on compressed data.

References
----------
.. [FHL05a] Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers" the
   easy way: an alternative to the Pareto/NBD model. *Marketing Science* 24(2), 275-284.
.. [FHL05b] Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). RFM and CLV: using iso-value
   curves for customer base analysis. *Journal of Marketing Research* 42(4), 415-430.
.. [FH13] Fader, P. S. & Hardie, B. G. S. (2013). The Gamma-Gamma model of monetary value.
   http://www.brucehardie.com/notes/025/

Notation (as in the papers): a customer has ``x`` repeat purchases (``frequency``), the last at
``t_x`` (``recency``) after the first, observed for ``T`` since the first; ``m`` is the mean
value of the repeat purchases with a positive value, ``x_s`` their number.

The BG/NBD likelihood depends on the data only through the **unique** ``(segment, x, t_x, T)``
rows and their counts (:func:`compress_rfm`); the sampler's form
(:func:`bgnbd_loglike_factored`) evaluates each special function once per *distinct* value of
``x``, ``t_x`` and ``T`` per segment, so the cost of a gradient does not grow with the number
of customers once the data are on a time grid. Gamma-Gamma is evaluated on unique
``(segment, x_s, m)`` rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

__all__ = [
    "CompressedRFM",
    "CompressedSpend",
    "bgnbd_loglike",
    "bgnbd_loglike_factored",
    "bgnbd_terms",
    "check_rfm",
    "compress_rfm",
    "compress_spend",
    "gamma_gamma_loglike",
    "gamma_gamma_loglike_factored",
    "gamma_gamma_terms",
]


# ------------------------------------------------------------------------ compression


@dataclass(frozen=True)
class CompressedRFM:
    """Unique ``(segment, x, t_x, T)`` rows, their counts, and the map back to customers.

    ``segment`` holds integer codes (all 0 without segments); ``inverse`` maps every customer
    to its row (``x == out.x[out.inverse]``).
    """

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    weight: np.ndarray
    inverse: np.ndarray
    segment: np.ndarray

    @property
    def n_unique(self) -> int:
        return int(self.x.size)

    @property
    def n_customers(self) -> int:
        return int(self.weight.sum())


def compress_rfm(x, t_x, T, segment=None) -> CompressedRFM:
    """Sufficient statistics of the BG/NBD likelihood: unique rows with counts."""
    cols = [np.asarray(z, float).ravel() for z in (x, t_x, T)]
    seg = (
        np.zeros(cols[0].size, dtype=np.int64)
        if segment is None
        else np.asarray(segment, dtype=np.int64).ravel()
    )
    arr = np.column_stack([seg.astype(float), *cols])
    uniq, inverse, counts = np.unique(arr, axis=0, return_inverse=True, return_counts=True)
    return CompressedRFM(
        x=uniq[:, 1],
        t_x=uniq[:, 2],
        T=uniq[:, 3],
        weight=counts.astype(float),
        inverse=inverse.ravel(),
        segment=uniq[:, 0].astype(np.int64),
    )


@dataclass(frozen=True)
class CompressedSpend:
    """Unique ``(segment, x_s, m)`` rows of the customers with a positive-value repeat purchase."""

    x: np.ndarray
    m: np.ndarray
    weight: np.ndarray
    segment: np.ndarray

    @property
    def n_unique(self) -> int:
        return int(self.x.size)


def compress_spend(x_spend, m, segment=None) -> CompressedSpend:
    """Gamma-Gamma data: customers with ``x_s > 0`` (and ``m > 0``), unique rows with counts."""
    xs = np.asarray(x_spend, float).ravel()
    m = np.asarray(m, float).ravel()
    seg = np.zeros(xs.size, np.int64) if segment is None else np.asarray(segment, np.int64).ravel()
    keep = (xs > 0) & (m > 0)
    arr = np.column_stack([seg[keep].astype(float), xs[keep], m[keep]])
    if arr.size == 0:
        empty = np.zeros(0)
        return CompressedSpend(empty, empty, empty, np.zeros(0, np.int64))
    uniq, counts = np.unique(arr, axis=0, return_counts=True)
    return CompressedSpend(
        uniq[:, 1], uniq[:, 2], counts.astype(float), uniq[:, 0].astype(np.int64)
    )


def check_rfm(x, t_x, T):
    """Float arrays of ``x, t_x, T``; ``ValueError`` naming the first bad positions."""
    x, t_x, T = (np.asarray(z, float).ravel() for z in (x, t_x, T))
    if not (x.size == t_x.size == T.size) or x.size == 0:
        raise ValueError("x, t_x and T must be non-empty arrays of the same length")
    with np.errstate(invalid="ignore"):
        bad = (
            ~np.isfinite(x + t_x + T)
            | (x < 0)
            | (x != np.round(x))
            | (t_x < 0)
            | (T <= 0)
            | (t_x > T * (1 + 1e-12))
            | ((x == 0) & (t_x > 0))
        )
    if bad.any():
        raise ValueError(f"invalid RFM rows at positions {np.flatnonzero(bad)[:5].tolist()}")
    return x, t_x, T


# ------------------------------------------------------------------------ BG/NBD


def bgnbd_terms(r, alpha, a, b, x, t_x, T):
    """Log-likelihood of each customer, FHL05a eq. (6), on a stable log scale (NumPy).

    ``L = B(a, b+x)/B(a, b) * Gamma(r+x) alpha^r / Gamma(r)
    * [ (alpha+T)^-(r+x) + 1{x>0} a/(b+x-1) (alpha+t_x)^-(r+x) ]``.

    The ``x = 0`` branch evaluates the second term at ``x = 1`` so no NaN appears. Broadcasts:
    parameters ``(S, 1)`` against data ``(N,)`` give ``(S, N)``.
    """
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    a2 = (
        special.gammaln(a + b)
        + special.gammaln(b + x)
        - special.gammaln(b)
        - special.gammaln(a + b + x)
    )
    a3 = -(r + x) * np.log(alpha + T)
    xs = np.maximum(x, 1.0)
    a4 = np.log(a) - np.log(b + xs - 1.0) - (r + xs) * np.log(alpha + t_x)
    return a1 + a2 + np.where(x > 0, np.logaddexp(a3, a4), a3)


def bgnbd_loglike(r, alpha, a, b, x, t_x, T, weight=None):
    """Total BG/NBD log-likelihood (FHL05a eq. 6), NumPy; ``weight`` counts repeated rows."""
    ll = bgnbd_terms(r, alpha, a, b, *map(np.asarray, (x, t_x, T)))
    w = 1.0 if weight is None else np.asarray(weight, float)
    return np.sum(w * ll, axis=-1)


def _gatherer(params, segment):
    """``(params, take)``: parameters shaped for per-(segment, value) tables and ``take(table,
    idx)`` reading a table at each row. Pooled (all scalars): 1-D tables, plain indexing;
    by segment: ``(segments, values)`` tables read at ``[segment, idx]``."""
    import pytensor.tensor as pt

    params = [pt.as_tensor_variable(t) for t in params]
    if all(t.ndim == 0 for t in params):
        return params, lambda table, idx: table[idx], lambda t: t
    params = [t if t.ndim else pt.shape_padleft(t) for t in params]
    return (
        [t[:, None] for t in params],
        lambda table, idx: table[segment, idx],
        lambda t: t[:, 0][segment],
    )


def bgnbd_loglike_factored(r, alpha, a, b, comp: CompressedRFM):
    """PyTensor form of :func:`bgnbd_terms` on the rows of ``comp`` (one value per row).

    Parameters are scalars (one population) or vectors over segments (indexed by
    ``comp.segment``). Every special function is evaluated once per (segment, distinct value)
    of ``x``, ``t_x`` and ``T`` and gathered onto the rows; the rows differ only through sums,
    products and one ``logaddexp``. Same log-likelihood as the NumPy form (a test checks).
    """
    import pytensor.tensor as pt

    (R, AL, A, B), take, per_row = _gatherer((r, alpha, a, b), comp.segment)
    x = comp.x
    ux, ix = np.unique(x, return_inverse=True)
    ut, it = np.unique(comp.t_x, return_inverse=True)
    uT, iT = np.unique(comp.T, return_inverse=True)
    ix, it, iT = ix.ravel(), it.ravel(), iT.ravel()
    uxs = np.maximum(ux, 1.0)
    # per (segment, distinct x): FHL05a eq. (6) terms A1 + A2 and log a / (b + x - 1) of A4
    per_x = (
        pt.gammaln(R + ux)
        - pt.gammaln(R)
        + R * pt.log(AL)
        + pt.gammaln(A + B)
        + pt.gammaln(B + ux)
        - pt.gammaln(B)
        - pt.gammaln(A + B + ux)
    )
    log_a4 = pt.log(A) - pt.log(B + uxs - 1.0)
    r_row = per_row(R)
    xs = np.maximum(x, 1.0)
    a3 = -(r_row + x) * take(pt.log(AL + uT), iT)
    a4 = take(log_a4, ix) - (r_row + xs) * take(pt.log(AL + ut), it)
    hi = pt.maximum(a3, a4)
    mixed = hi + pt.log1p(pt.exp(-pt.abs(a3 - a4)))
    return take(per_x, ix) + pt.where(x > 0, mixed, a3)


# ------------------------------------------------------------------------ Gamma-Gamma


def gamma_gamma_terms(p, q, v, x, m):
    """Log density of the mean spend ``m`` of ``x`` transactions, FH13 eq. (3) / FHL05b (NumPy).

    ``f(m | p, q, v, x) = Gamma(px+q) / (Gamma(px) Gamma(q)) * v^q (m x)^(px-1) x
    / (v + m x)^(px+q)``.
    """
    px = p * x
    return (
        special.gammaln(px + q)
        - special.gammaln(px)
        - special.gammaln(q)
        + q * np.log(v)
        + (px - 1.0) * np.log(m * x)
        + np.log(x)
        - (px + q) * np.log(v + m * x)
    )


def gamma_gamma_loglike(p, q, v, x, m, weight=None):
    """Total Gamma-Gamma log-likelihood over customers with ``x > 0``, NumPy."""
    ll = gamma_gamma_terms(p, q, v, np.asarray(x, float), np.asarray(m, float))
    w = 1.0 if weight is None else np.asarray(weight, float)
    return np.sum(w * ll, axis=-1)


def gamma_gamma_loglike_factored(p, q, v, comp: CompressedSpend):
    """PyTensor form of :func:`gamma_gamma_terms` on the rows of ``comp``: the ``gammaln``
    terms once per (segment, distinct x), the data-only logs precomputed, one ``log`` per row."""
    import pytensor.tensor as pt

    (P, Q, V), take, per_row = _gatherer((p, q, v), comp.segment)
    ux, ix = np.unique(comp.x, return_inverse=True)
    per_x = pt.gammaln(P * ux + Q) - pt.gammaln(P * ux) - pt.gammaln(Q) + Q * pt.log(V)
    x, m = comp.x, comp.m
    p_row, q_row, v_row = per_row(P), per_row(Q), per_row(V)
    px = p_row * x
    return (
        take(per_x, ix.ravel())
        + (px - 1.0) * np.log(m * x)
        + np.log(x)
        - (px + q_row) * pt.log(v_row + m * x)
    )
