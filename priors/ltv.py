"""Priors of the LTV models (seed 004, "LTV: BG/NBD + Gamma-Gamma").

Two tables, each a mapping ``name -> Prior``, edited and reviewed here and nowhere else:

* :data:`BGNBD_PRIORS` — the BG/NBD model of Fader, Hardie & Lee (2005), "Counting your
  customers the easy way": the purchase rate of a customer is ``lambda ~ Gamma(r, alpha)``
  (shape ``r``, rate ``alpha``, so ``alpha`` is in *time units*) and the dropout probability
  after each purchase is ``p ~ Beta(a, b)``.
* :data:`GAMMA_GAMMA_PRIORS` — the Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and
  CLV"; Fader & Hardie 2013, "The Gamma-Gamma model of monetary value"): a transaction's value
  is ``z ~ Gamma(p, nu)`` with the customer's ``nu ~ Gamma(q, v)``; ``v`` is in currency units.

All priors are proper HalfNormals, wide enough to be nearly flat wherever a fit has ever
landed (so the posterior mode is the maximum-likelihood estimate to within a fraction of a
percent on CDNOW) yet ruling out absurd values. PyMC samples them on the log scale (its
default transform for positive variables). The time unit of ``alpha`` is the **week** (the
CDNOW convention); the currency of ``v`` is whatever the amounts are in.

>>> print(BGNBD_PRIORS["r"])
HalfNormal(sigma=5)
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from priors.spec import Prior, PriorError

__all__ = [
    "BGNBD_PARAMS",
    "BGNBD_PRIORS",
    "GAMMA_GAMMA_PARAMS",
    "GAMMA_GAMMA_PRIORS",
    "ltv_priors",
    "prior_table",
    "priors_to_json",
    "priors_to_pymc",
]

BGNBD_PARAMS: tuple[str, ...] = ("r", "alpha", "a", "b")
GAMMA_GAMMA_PARAMS: tuple[str, ...] = ("p", "q", "v")

#: BG/NBD priors (time unit: week). 90% prior intervals: r in (0.31, 9.8), alpha in
#: (3.1, 98) weeks, a and b in (0.63, 20) — flat around every published fit we know (CDNOW
#: r = 0.243, alpha = 4.414, a = 0.793, b = 2.426: the prior log-density there has a gradient
#: below 0.03, which moves the posterior mode by < 0.6% of the MLE).
BGNBD_PRIORS: dict[str, Prior] = {
    "r": Prior("HalfNormal", {"sigma": 5.0}),
    "alpha": Prior("HalfNormal", {"sigma": 50.0}),
    "a": Prior("HalfNormal", {"sigma": 10.0}),
    "b": Prior("HalfNormal", {"sigma": 10.0}),
}

#: Gamma-Gamma priors (currency units of the amounts). ``p`` and ``q`` are shapes (CDNOW:
#: p = 6.25, q = 3.74); ``v`` is a rate in currency units, ``p v / (q - 1)`` being the
#: population mean spend (CDNOW v = 15.4). ``q > 1`` is needed for a finite mean spend; draws
#: with ``q <= 1`` give NaN expected spend rather than a silent number.
GAMMA_GAMMA_PRIORS: dict[str, Prior] = {
    "p": Prior("HalfNormal", {"sigma": 20.0}),
    "q": Prior("HalfNormal", {"sigma": 20.0}),
    "v": Prior("HalfNormal", {"sigma": 1000.0}),
}


def ltv_priors(
    bgnbd: Mapping[str, Prior] | None = None, gamma_gamma: Mapping[str, Prior] | None = None
) -> dict[str, Prior]:
    """The full prior table (BG/NBD then Gamma-Gamma), with optional per-name overrides.

    Raises
    ------
    PriorError
        If an override names an unknown parameter.
    """
    out = {**BGNBD_PRIORS, **GAMMA_GAMMA_PRIORS}
    for table, names in ((bgnbd, BGNBD_PARAMS), (gamma_gamma, GAMMA_GAMMA_PARAMS)):
        for k, v in (table or {}).items():
            if k not in names:
                raise PriorError(f"unknown LTV parameter {k!r}; expected one of {names}")
            out[k] = v
    return out


def priors_to_pymc(priors: Mapping[str, Prior], names) -> dict:
    """Create the PyMC variables ``names`` from ``priors`` inside the current ``pm.Model``.

    This is the one place where the LTV prior table becomes random variables; the BG/NBD and
    Gamma-Gamma model builders in :mod:`models.ltv` both call it.
    """
    missing = [n for n in names if n not in priors]
    if missing:
        raise PriorError(f"no prior declared for {missing}")
    return {n: priors[n].to_pymc(n) for n in names}


def priors_to_json(priors: Mapping[str, Prior]) -> str:
    """JSON of the prior table (for NetCDF attrs and summaries)."""
    return json.dumps({k: p.to_dict() for k, p in priors.items()}, sort_keys=True)


def prior_table(priors: Mapping[str, Prior], prob: float = 0.9):
    """A reviewable table: parameter, declaration, prior median and central interval."""
    import pandas as pd

    rows = []
    for k, p in priors.items():
        lo, hi = p.interval(prob)
        rows.append(
            {
                "parameter": k,
                "prior": str(p),
                "median": float(p._scipy().median()) if p.dist != "Point" else p.mean(),
                f"q{50 - prob * 50:g}": lo,
                f"q{50 + prob * 50:g}": hi,
            }
        )
    return pd.DataFrame(rows)
