"""The row passes of the LTV likelihood kernels as numba loops (gathers, arithmetic and the
scatter-adds of the gradient fused, no temporaries), with the transcendental functions left
to NumPy.

Why the split: on the workbench's machines NumPy's ``exp`` and ``log`` are SIMD (1.5-3 ns an
element) while a scalar ``math.exp`` / ``math.log1p`` in a numba loop costs 15-35 ns (libm, no
vectorisation without Intel's SVML). The NumPy kernel's time, on the other hand, goes to the
dozen array passes around them (gathers, ``np.where``, three ``np.bincount``), each a few
hundred microseconds on 83,000 rows. So a row pass here is: one numba loop that gathers the
per-segment tables onto the rows, NumPy's ``exp`` and ``log`` on the result, one numba loop
that forms the value and accumulates the gradient, in blocks of :data:`CHUNK` rows so the
temporaries stay in a core's L2 cache. ``softplus(d) = max(d, 0) + log(1 + exp(-|d|))`` takes
NumPy's SIMD ``log`` of ``1 + e`` rather than the scalar ``log1p(e)``: the rounding of ``1 + e``
costs at most half an ulp of 1 per row in absolute terms, nothing against the total (the
tests hold the value to 1e-12 relative of the NumPy kernel's).

:class:`~models.ltv.likelihood.BGNBDKernel` and
:class:`~models.ltv.likelihood.GammaGammaKernel` call these (``engine="numba"``, the default);
their NumPy row passes (``engine="numpy"``) are the tests' oracle. The functions are compiled
on first use and cached on disk (``cache=True``); import this module only when a kernel is
built.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["bgnbd_rows", "gamma_gamma_rows"]

_JIT = {"cache": True, "nogil": True, "fastmath": False, "error_model": "numpy"}


#: rows per block: the block's three temporaries (24 bytes a row) stay in a core's L2 cache
CHUNK = 16384


@njit(**_JIT)
def _bgnbd_d(lo, fx, fpair, c_tab, rx_tab, gap_tab, d, nd):  # pragma: no cover - numba
    for j in range(d.size):
        i = lo + j
        di = c_tab[fx[i]] + rx_tab[fx[i]] * gap_tab[fpair[i]]
        d[j] = di
        nd[j] = -abs(di)


@njit(**_JIT)
def _bgnbd_acc(lo, fx, fpair, w, rx_tab, d, e, log_u, per_sx, per_g, per_grx):  # pragma: no cover
    value = 0.0
    for j in range(d.size):
        i = lo + j
        dj, ej = d[j], e[j]
        # softplus(d) = max(d, 0) + log(1 + e): log(1 + e) rather than log1p(e) costs at most
        # half an ulp of 1 a row in absolute terms, nothing against the total's magnitude
        value += w[i] * (log_u[j] + max(dj, 0.0))
        g = w[i] * (1.0 if dj >= 0.0 else ej) / (1.0 + ej)  # w * sigmoid(d)
        per_sx[fx[i]] += g
        per_g[fpair[i]] += g
        per_grx[fpair[i]] += g * rx_tab[fx[i]]
    return value


def bgnbd_rows(fx, fpair, w, c_tab, rx_tab, gap_tab):
    """``sum_i w_i softplus(d_i)`` over rows ``i`` with ``d_i = c[fx_i] + rx[fx_i]
    gap[fpair_i]`` (``fx`` indexes the ``(segment, x)`` tables, ``fpair`` the ``(segment,
    t_x, T)`` ones) and the sums its gradient needs: ``(value, per_sx, per_g, per_grx)``,
    the sums of ``w sigmoid(d)`` by ``fx`` and by ``fpair``, and of ``w sigmoid(d) rx`` by
    ``fpair``. Blocks of :data:`CHUNK` rows: gather (numba), ``exp`` and ``log`` (NumPy),
    accumulate (numba)."""
    n = fx.size
    per_sx, per_g, per_grx = np.zeros(c_tab.size), np.zeros(gap_tab.size), np.zeros(gap_tab.size)
    buf = np.empty((3, min(n, CHUNK)))
    value = 0.0
    for lo in range(0, n, CHUNK):
        m = min(CHUNK, n - lo)
        d, e, log_u = buf[0, :m], buf[1, :m], buf[2, :m]
        _bgnbd_d(lo, fx, fpair, c_tab, rx_tab, gap_tab, d, e)
        np.exp(e, out=e)  # exp(-|d|), in (0, 1]
        np.add(e, 1.0, out=log_u)
        np.log(log_u, out=log_u)
        value += _bgnbd_acc(lo, fx, fpair, w, rx_tab, d, e, log_u, per_sx, per_g, per_grx)
    return value, per_sx, per_g, per_grx


@njit(**_JIT)
def _gg_vm(seg, mx, v, vm):  # pragma: no cover - numba
    for i in range(seg.size):
        vm[i] = v[seg[i]] + mx[i]


@njit(**_JIT)
def _gg_acc(seg, x, w, p, q, vm, log_vm, g_p, g_q, g_v):  # pragma: no cover - numba
    value = 0.0
    for i in range(seg.size):
        s = seg[i]
        wl = w[i] * log_vm[i]
        wk = w[i] * (p[s] * x[i] + q[s])
        value += wk * log_vm[i]
        g_p[s] += wl * x[i]
        g_q[s] += wl
        g_v[s] += wk / vm[i]
    return value


def gamma_gamma_rows(seg, x, w, mx, p, q, v):
    """``sum_i w_i (p x_i + q) log(v + m_i x_i)`` (segment parameters gathered onto rows) and
    its derivatives by segment: ``(value, d/dp, d/dq, d/dv)``."""
    vm = np.empty(seg.size)
    _gg_vm(seg, mx, v, vm)
    log_vm = np.log(vm)
    S = p.size
    g_p, g_q, g_v = np.zeros(S), np.zeros(S), np.zeros(S)
    value = _gg_acc(seg, x, w, p, q, vm, log_vm, g_p, g_q, g_v)
    return value, g_p, g_q, g_v
