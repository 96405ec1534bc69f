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


def _unique_rows(columns) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """``np.unique(np.column_stack(columns), axis=0, return_inverse=True,
    return_counts=True)`` without the row-wise sort (4.4 s on a million rows): each column is
    coded by a 1-D ``np.unique`` and the codes are combined column by column into one
    integer key, kept dense so it never overflows. Same rows, same (lexicographic) order."""
    key = np.zeros(np.asarray(columns[0]).size, dtype=np.int64)
    for col in columns:
        uniq, code = np.unique(np.asarray(col), return_inverse=True)
        key = key * uniq.size + code.ravel()
        _, key = np.unique(key, return_inverse=True)
        key = key.ravel().astype(np.int64)
    first = np.zeros(int(key.max()) + 1 if key.size else 0, dtype=np.intp)
    first[key[::-1]] = np.arange(key.size - 1, -1, -1)
    counts = np.bincount(key, minlength=first.size)
    return [np.asarray(c)[first] for c in columns], key, counts


def compress_rfm(x, t_x, T, segment=None) -> CompressedRFM:
    """Sufficient statistics of the BG/NBD likelihood: unique rows with counts."""
    cols = [np.asarray(z, float).ravel() for z in (x, t_x, T)]
    seg = (
        np.zeros(cols[0].size, dtype=np.int64)
        if segment is None
        else np.asarray(segment, dtype=np.int64).ravel()
    )
    (useg, ux, ut, uT), inverse, counts = _unique_rows([seg, *cols])
    return CompressedRFM(
        x=ux, t_x=ut, T=uT, weight=counts.astype(float), inverse=inverse, segment=useg
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
    if not keep.any():
        empty = np.zeros(0)
        return CompressedSpend(empty, empty, empty, np.zeros(0, np.int64))
    (useg, ux, um), _, counts = _unique_rows([seg[keep], xs[keep], m[keep]])
    return CompressedSpend(ux, um, counts.astype(float), useg.astype(np.int64))


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


def _codes(values) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values and, for each element, the position of its value."""
    uniq, idx = np.unique(values, return_inverse=True)
    return uniq, idx.ravel().astype(np.intp)


def _sum(v) -> float:
    # np.add.reduce, not np.dot: a BLAS dot spins up threads that fight over shared cores
    return float(np.add.reduce(v, axis=None))


#: how the kernels' row passes run: ``"numba"`` (:mod:`models.ltv.fused`) or ``"numpy"``
ENGINES = ("numba", "numpy")


def _engine(engine: str | None) -> str:
    engine = engine or "numba"
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    return engine


def _bgnbd_rows_numba(*args):
    from models.ltv.fused import bgnbd_rows

    return bgnbd_rows(*args)


def _gamma_gamma_rows_numba(*args):
    from models.ltv.fused import gamma_gamma_rows

    return gamma_gamma_rows(*args)


class BGNBDKernel:
    """The total BG/NBD log-likelihood of compressed rows and its gradient, in one NumPy pass.

    FHL05a eq. (6) on the log scale is ``A1 + A2 + A3 + 1{x>0} softplus(A4 - A3)`` with
    ``A1 + A2`` (the ``gammaln`` terms and ``r log alpha``) depending on ``(segment, x)``,
    ``A3 = -(r+x) log(alpha+T)`` on ``(segment, T)`` and only

    ``A4 - A3 = [log a - log(b+x-1)] + (r+x) [log(alpha+T) - log(alpha+t_x)]``

    on the row, its two brackets on ``(segment, x)`` and ``(segment, t_x, T)``. The first
    terms are sums over small tables weighted by customer counts (built once); the row term
    reads the brackets from per-segment tables of the distinct values, so a gradient costs a
    dozen array passes over the unique rows with ``x > 0`` — two table reads, one ``exp``,
    one ``log1p`` — and no special function per row. The gradient comes from the same pass
    (exact, by hand; tests check it against finite differences of :func:`bgnbd_loglike`).

    Parameters are vectors over segments (length ``n_segments``; 1 without segments).
    """

    def __init__(
        self, comp: CompressedRFM, n_segments: int | None = None, engine: str | None = None
    ):
        seg = comp.segment.astype(np.intp)
        self.n_segments = S = int(n_segments or (seg.max() + 1 if seg.size else 1))
        self.ux, ix = _codes(comp.x)
        self.uT, iT = _codes(comp.T)
        nx, nT = self.ux.size, self.uT.size
        w = comp.weight.astype(float)
        self.Wx = np.bincount(seg * nx + ix, w, S * nx).reshape(S, nx)
        self.WT = np.bincount(seg * nT + iT, w, S * nT).reshape(S, nT)
        self.XWT = np.bincount(seg * nT + iT, w * comp.x, S * nT).reshape(S, nT)
        self.uxs = np.maximum(self.ux, 1.0)
        pos = comp.x > 0
        seg, x, w, fx = seg[pos], comp.x[pos].astype(float), w[pos], (seg * nx + ix)[pos]
        # distinct (t_x, T) pairs of the rows with x > 0
        (pair_t, pair_T), ipair, _ = _unique_rows([comp.t_x[pos], comp.T[pos]])
        self.pair_t, self.pair_T = pair_t.astype(float), pair_T.astype(float)
        fpair = seg * self.pair_t.size + ipair
        # rows ordered by (segment, pair): the pair tables are read and written in order
        order = np.argsort(fpair, kind="stable")
        self.seg, self.x, self.w = seg[order], x[order], w[order]
        self.fx, self.fpair = fx[order], fpair[order]
        self.engine = _engine(engine)
        if self.engine == "numba":  # 4-byte indices: less memory traffic per row
            self.fx32, self.fpair32 = self.fx.astype(np.uint32), self.fpair.astype(np.uint32)

    def __call__(self, r, alpha, a, b):
        """``(loglike, d/dr, d/dalpha, d/da, d/db)``: a float and four vectors over segments."""
        gl, psi = special.gammaln, special.psi
        S, ux, uT = self.n_segments, self.ux, self.uT
        r, alpha, a, b = (np.broadcast_to(np.asarray(v, float), (S,)) for v in (r, alpha, a, b))
        rc, alc, ac, bc = r[:, None], alpha[:, None], a[:, None], b[:, None]
        with np.errstate(all="ignore"):
            # (segment, x) and (segment, T) tables: every customer, weighted by counts
            per_x = (
                gl(rc + ux)
                - gl(rc)
                + rc * np.log(alc)
                + gl(ac + bc)
                + gl(bc + ux)
                - gl(bc)
                - gl(ac + bc + ux)
            )
            log_T = np.log(alc + uT)
            wT = rc * self.WT + self.XWT
            value = _sum(self.Wx * per_x) - _sum(wT * log_T)
            g_r = (self.Wx * (psi(rc + ux) - psi(rc) + np.log(alc))).sum(1)
            g_r -= (self.WT * log_T).sum(1)
            g_al = r * self.Wx.sum(1) / alpha - (wT / (alc + uT)).sum(1)
            d_ab = psi(ac + bc) - psi(ac + bc + ux)
            g_a = (self.Wx * d_ab).sum(1)
            g_b = (self.Wx * (d_ab + psi(bc + ux) - psi(bc))).sum(1)
            # rows with x > 0: softplus(d), d = c[s, x] + (r_s + x) gap[s, pair]
            inv_bx = 1.0 / (bc + self.uxs - 1.0)
            c_x = np.log(ac) + np.log(inv_bx)
            inv_T, inv_t = 1.0 / (alc + self.pair_T), 1.0 / (alc + self.pair_t)
            gap = np.log(inv_t) - np.log(inv_T)
            if self.engine == "numba":
                rx_tab = (rc + ux).ravel()
                v_rows, per_sx, per_g, per_pair = _bgnbd_rows_numba(
                    self.fx32, self.fpair32, self.w, c_x.ravel(), rx_tab, gap.ravel()
                )
                g_r += (per_g.reshape(S, -1) * gap).sum(1)
            else:
                v_rows, gr_rows, per_sx, per_pair = self._rows_numpy(
                    self.seg, self.fx, self.fpair, self.x, self.w, r, c_x.ravel(), gap.ravel()
                )
                g_r += gr_rows
            value += v_rows
            per_sx = per_sx.reshape(S, -1)
            g_a += per_sx.sum(1) / a
            g_b -= (per_sx * inv_bx).sum(1)
            g_al += (per_pair.reshape(S, -1) * (inv_T - inv_t)).sum(1)
        return value, g_r, g_al, g_a, g_b

    @staticmethod
    def _rows_numpy(seg, fx, fpair, x, w, r, c_tab, gap_tab):
        """The row pass in NumPy (the oracle of :func:`models.ltv.fused.bgnbd_rows`)."""
        gap_row = gap_tab[fpair]
        rx = r[seg]
        rx += x
        d = gap_row * rx
        d += c_tab[fx]
        e = np.abs(d)
        np.negative(e, out=e)
        np.exp(e, out=e)  # exp(-|d|)
        soft = np.log1p(e)
        soft += np.maximum(d, 0.0)
        soft *= w
        g = np.where(d >= 0.0, 1.0, e)
        g *= w
        e += 1.0
        g /= e  # w * sigmoid(d)
        g_r = np.bincount(seg, g * gap_row, r.size)
        per_sx = np.bincount(fx, g, c_tab.size)
        g *= rx
        return _sum(soft), g_r, per_sx, np.bincount(fpair, g, gap_tab.size)


def bgnbd_loglike_factored(r, alpha, a, b, comp: CompressedRFM, n_segments: int | None = None):
    """The total BG/NBD log-likelihood of the rows of ``comp`` as one PyTensor node
    (:class:`BGNBDKernel`: the value and its gradient from one NumPy pass).

    Parameters are scalars (one population) or vectors over segments (``comp.segment`` codes
    index them). Equal to the sum of :func:`bgnbd_terms` weighted by the counts (a test
    checks the value and the gradient).
    """
    return _kernel_node(BGNBDKernel(comp, n_segments), r, alpha, a, b)


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


class GammaGammaKernel:
    """The total Gamma-Gamma log-likelihood of compressed spend rows and its gradient.

    FH13 eq. (3) on the log scale is ``[gammaln(px+q) - gammaln(px) - gammaln(q) + q log v]``
    (on ``(segment, x)``: a table weighted by counts) ``+ (px-1) log(mx) + log x`` (data only
    but for ``p``: two sums per segment, built once) ``- (px+q) log(v+mx)``: one ``log`` per
    row. Value and gradient in one NumPy pass. Parameters are vectors over segments.
    """

    def __init__(
        self, comp: CompressedSpend, n_segments: int | None = None, engine: str | None = None
    ):
        seg = comp.segment.astype(np.intp)
        self.n_segments = S = int(n_segments or (seg.max() + 1 if seg.size else 1))
        self.ux, ix = _codes(comp.x)
        nx = self.ux.size
        w = comp.weight.astype(float)
        self.Wx = np.bincount(seg * nx + ix, w, S * nx).reshape(S, nx)
        self.seg, self.x, self.w = seg, comp.x.astype(float), w
        self.mx = comp.m * comp.x
        log_mx = np.log(self.mx)
        self.p_coef = np.bincount(seg, w * self.x * log_mx, S)  # d/dp of sum w (px-1) log(mx)
        self.const = _sum(w * (np.log(self.x) - log_mx))
        self.engine = _engine(engine)

    def __call__(self, p, q, v):
        """``(loglike, d/dp, d/dq, d/dv)``: a float and three vectors over segments."""
        gl, psi = special.gammaln, special.psi
        S, ux = self.n_segments, self.ux
        p, q, v = (np.broadcast_to(np.asarray(z, float), (S,)) for z in (p, q, v))
        pc, qc, vc = p[:, None], q[:, None], v[:, None]
        seg, x, w = self.seg, self.x, self.w
        with np.errstate(all="ignore"):
            pxc = pc * ux
            per_x = gl(pxc + qc) - gl(pxc) - gl(qc) + qc * np.log(vc)
            value = _sum(self.Wx * per_x) + _sum(p * self.p_coef) + self.const
            g_p = (self.Wx * ux * (psi(pxc + qc) - psi(pxc))).sum(1) + self.p_coef
            g_q = (self.Wx * (psi(pxc + qc) - psi(qc) + np.log(vc))).sum(1)
            g_v = self.Wx.sum(1) * q / v
            rows = _gamma_gamma_rows_numba if self.engine == "numba" else self._rows_numpy
            v_rows, gp_rows, gq_rows, gv_rows = rows(
                seg, x, w, self.mx, *map(np.ascontiguousarray, (p, q, v))
            )
            value -= v_rows
            g_p -= gp_rows
            g_q -= gq_rows
            g_v -= gv_rows
        return value, g_p, g_q, g_v

    @staticmethod
    def _rows_numpy(seg, x, w, mx, p, q, v):
        """The row pass in NumPy (the oracle of :func:`models.ltv.fused.gamma_gamma_rows`):
        ``sum w (px + q) log(v + mx)`` and its derivatives by segment."""
        S = p.size
        vm = v[seg] + mx
        log_vm = np.log(vm)
        wk = w * (p[seg] * x + q[seg])  # w (px + q)
        wl = w * log_vm
        return (
            _sum(wk * log_vm),
            np.bincount(seg, wl * x, S),
            np.bincount(seg, wl, S),
            np.bincount(seg, wk / vm, S),
        )


def gamma_gamma_loglike_factored(p, q, v, comp: CompressedSpend, n_segments: int | None = None):
    """The total Gamma-Gamma log-likelihood of the rows of ``comp`` as one PyTensor node
    (:class:`GammaGammaKernel`); parameters scalars or vectors over segments."""
    return _kernel_node(GammaGammaKernel(comp, n_segments), p, q, v)


def _kernel_node(kernel, *params):
    """``kernel``'s total log-likelihood at PyTensor ``params`` (scalars or vectors over
    segments) as a scalar tensor (:class:`models.ltv.kernel_op.KernelLoglike`)."""
    import pytensor.tensor as pt

    from models.ltv.kernel_op import KernelLoglike

    vecs = [pt.reshape(z, (kernel.n_segments,)) for z in map(pt.as_tensor_variable, params)]
    return KernelLoglike(kernel)(*vecs)[0]
