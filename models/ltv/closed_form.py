"""Closed-form BG/NBD and Gamma-Gamma predictions: plain NumPy functions that broadcast.

Pass scalars for a point estimate, or parameters shaped ``(draws, 1)`` against customers
shaped ``(1, customers)`` for posterior draws. Durations (``t``, ``t_x``, ``T``, ``alpha``) are
in the fit's time unit; LTV horizons are in months, converted with ``units_per_month``
(:func:`models.ltv.units.units_per_month`). References as in :mod:`models.ltv.likelihood`.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from models.ltv.units import WEEKS_PER_MONTH

__all__ = [
    "clv",
    "discounted_expected_purchases",
    "discounted_purchases_if_alive",
    "expected_purchases",
    "expected_purchases_if_alive",
    "expected_purchases_new",
    "expected_spend",
    "prob_alive",
    "prob_n_purchases",
    "prob_n_purchases_new",
]


def expected_purchases_new(t, r, alpha, a, b):
    """Expected repeat purchases in ``(0, t]`` of a customer who just made a first purchase,
    FHL05a eq. (7).

    ``E[X(t)] = (a+b-1)/(a-1) * [1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1; t/(alpha+t))]``.
    """
    t = np.asarray(t, float)
    z = t / (alpha + t)
    return (
        (a + b - 1.0)
        / (a - 1.0)
        * (1.0 - np.exp(r * np.log(alpha / (alpha + t))) * special.hyp2f1(r, b, a + b - 1.0, z))
    )


def prob_alive(r, alpha, a, b, x, t_x, T):
    """P(customer alive at ``T`` | x, t_x, T), FHL05a eq. (13) / lifetimes.

    ``P(alive) = 1 / (1 + 1{x>0} a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x))``; customers with no
    repeat purchase are alive with probability 1 (dropout happens only after a repeat purchase).
    """
    x = np.asarray(x, float)
    xs = np.maximum(x, 1.0)
    log_ratio = (
        np.log(a) - np.log(b + xs - 1.0) + (r + xs) * (np.log(alpha + T) - np.log(alpha + t_x))
    )
    return np.where(x > 0, special.expit(-log_ratio), 1.0)


def expected_purchases_if_alive(t, r, alpha, a, b, x, T):
    """Expected purchases in ``(T, T+t]`` of a customer alive at ``T`` (FHL05a eq. 10 without
    its P(alive) factor): ``(a+b+x-1)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x)
    2F1(r+x, b+x; a+b+x-1; t/(alpha+T+t))]``. It does not depend on ``t_x``, so the costly
    ``2F1`` is needed once per distinct ``(x, T)`` only."""
    x = np.asarray(x, float)
    t = np.asarray(t, float)
    z = t / (alpha + T + t)
    head = (a + b + x - 1.0) / (a - 1.0)
    body = 1.0 - np.exp((r + x) * np.log((alpha + T) / (alpha + T + t))) * special.hyp2f1(
        r + x, b + x, a + b + x - 1.0, z
    )
    return head * body


def expected_purchases(t, r, alpha, a, b, x, t_x, T):
    """Expected purchases in ``(T, T+t]`` given ``(x, t_x, T)``, FHL05a eq. (10).

    ``E[Y(t) | x, t_x, T] = (a+b+x-1)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x)
    2F1(r+x, b+x; a+b+x-1; t/(alpha+T+t))] * P(alive)``.
    """
    return expected_purchases_if_alive(t, r, alpha, a, b, x, T) * prob_alive(
        r, alpha, a, b, x, t_x, T
    )


def prob_n_purchases(n, t, r, alpha, a, b, x, t_x, T):
    """P(Y(t) = n | x, t_x, T): probability of exactly ``n`` purchases in ``(T, T+t]``.

    Derivation (BG/NBD assumptions, FHL05a §2). Given the data, a customer is dead with
    probability ``1 - P(alive)`` (then ``Y = 0``); if alive, ``lambda ~ Gamma(r+x, alpha+T)``
    and ``p ~ Beta(a, b+x)`` independently, purchases arrive as Poisson(lambda) and the
    customer drops out after each with probability ``p``, so ``Y = min(N, J)`` with
    ``N ~ Poisson(lambda t)`` and ``J ~ Geometric(p)`` on ``{1, 2, ...}``:

    ``P(Y=n | alive, lambda, p) = (1-p)^(n-1) p P(N >= n) + (1-p)^n P(N = n)`` for ``n >= 1``
    and ``P(N = 0)`` for ``n = 0``. Integrating, with ``g = (alpha+T)/(alpha+T+t)``:

    * ``E_lambda P(N = k) = Gamma(r+x+k) / (Gamma(r+x) k!) g^(r+x) (1-g)^k`` (negative binomial),
    * ``E_lambda P(N >= n) = I_{1-g}(n, r+x)`` (regularised incomplete beta),
    * ``E_p (1-p)^(n-1) p = B(a+1, b+x+n-1) / B(a, b+x)``, ``E_p (1-p)^n = B(a, b+x+n) / B(a, b+x)``.

    The mean over ``n`` is :func:`expected_purchases` (FHL05a eq. 10) and, for a new customer
    (``x = t_x = T = 0``), the distribution is FHL05a eq. (8) (lifetimes'
    ``probability_of_n_purchases_up_to_time``); tests check both.
    """
    n = np.asarray(n, float)
    x = np.asarray(x, float)
    t = np.asarray(t, float)
    pa = prob_alive(r, alpha, a, b, x, t_x, T)
    rx = r + x
    log_g = np.log(alpha + T) - np.log(alpha + T + t)
    log_1mg = np.log(t) - np.log(alpha + T + t)
    log_nb = (
        special.gammaln(rx + n)
        - special.gammaln(rx)
        - special.gammaln(n + 1.0)
        + rx * log_g
        + special.xlogy(n, np.exp(log_1mg))
    )
    base = special.betaln(a, b + x)
    ns = np.maximum(n, 1.0)
    tail = special.betainc(ns, rx, np.exp(log_1mg))
    drop = np.exp(special.betaln(a + 1.0, b + x + ns - 1.0) - base)
    stay = np.exp(special.betaln(a, b + x + n) - base)
    alive = np.where(n > 0, drop * tail + stay * np.exp(log_nb), np.exp(rx * log_g))
    return pa * alive + (1.0 - pa) * (n == 0)


def prob_n_purchases_new(n, t, r, alpha, a, b):
    """P(X(t) = n) for a customer who just made a first purchase, FHL05a eq. (8)."""
    return prob_n_purchases(n, t, r, alpha, a, b, 0.0, 0.0, 0.0)


def expected_spend(p, q, v, x, m):
    """Expected value of a customer's future transaction, FHL05b eq. (5) / FH13 eq. (5).

    ``E[M | p, q, v, m, x] = p (v + m x) / (p x + q - 1)`` — a weighted mean of the population
    mean ``p v / (q - 1)`` and the customer's own mean ``m`` of ``x`` positive-value repeat
    purchases. Customers with ``x = 0`` get the population mean. Draws with ``q <= 1``
    (infinite mean) give NaN.
    """
    x = np.asarray(x, float)
    m = np.where(x > 0, np.nan_to_num(np.asarray(m, float)), 0.0)
    q = np.asarray(q, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = p * (v + m * x) / (p * x + q - 1.0)
    return np.where(q > 1.0, out, np.nan)


def discounted_purchases_if_alive(
    months, r, alpha, a, b, x, T, *, discount_rate=0.01, units_per_month=WEEKS_PER_MONTH
):
    """:func:`discounted_expected_purchases` of a customer alive at ``T`` (no ``t_x``)."""
    total = 0.0
    prev = 0.0
    for i in range(1, int(months) + 1):
        cur = expected_purchases_if_alive(i * units_per_month, r, alpha, a, b, x, T)
        total = total + (cur - prev) / (1.0 + discount_rate) ** i
        prev = cur
    return total


def discounted_expected_purchases(
    months, r, alpha, a, b, x, t_x, T, *, discount_rate=0.01, units_per_month=WEEKS_PER_MONTH
):
    """Discounted expected purchases over ``months`` months.

    ``sum_{i=1..months} (E[Y(i L)] - E[Y((i-1) L)]) / (1 + d)^i`` with ``L`` time units per
    month and ``d`` the monthly discount rate — the discounted-cash-flow sum of lifetimes'
    ``customer_lifetime_value`` (purchases in month ``i`` are discounted ``i`` months).
    """
    alive = discounted_purchases_if_alive(
        months, r, alpha, a, b, x, T, discount_rate=discount_rate, units_per_month=units_per_month
    )
    return alive * prob_alive(r, alpha, a, b, x, t_x, T)


def clv(
    months,
    bgnbd,
    gamma_gamma,
    x,
    t_x,
    T,
    m,
    *,
    x_spend=None,
    paid_share=1.0,
    discount_rate=0.01,
    units_per_month=WEEKS_PER_MONTH,
):
    """Discounted customer lifetime value over ``months`` (FHL05b: spend x transactions).

    ``CLV = E[M | m, x_s] * pi * sum_i (E[Y(i L)] - E[Y((i-1) L)]) / (1 + d)^i`` where
    ``E[M]`` is the Gamma-Gamma expected spend (:func:`expected_spend`) of a positive-value
    purchase, ``pi`` (``paid_share``) the share of purchases with a positive value (1 unless the
    log had zero-value orders) and ``E[Y]`` the BG/NBD conditional expectation.
    ``bgnbd`` maps ``r, alpha, a, b`` and ``gamma_gamma`` maps ``p, q, v`` to scalars or
    broadcastable arrays; ``x_spend`` defaults to ``x``.
    """
    n = discounted_expected_purchases(
        months,
        *(bgnbd[k] for k in ("r", "alpha", "a", "b")),
        x,
        t_x,
        T,
        discount_rate=discount_rate,
        units_per_month=units_per_month,
    )
    xs = x if x_spend is None else x_spend
    spend = expected_spend(*(gamma_gamma[k] for k in ("p", "q", "v")), xs, m)
    return spend * paid_share * n
