"""Moved: the LTV workflow is the ``ltv`` domain, :mod:`bayes.ltv` (same name in every layer:
``priors/ltv.py``, ``models/ltv``, ``bayes/ltv``).

This module keeps the transaction/RFM helpers importable from their old place (the engines'
RFM aggregation is checked against :func:`rfm_summary`, lifetimes' utilities).
"""

from bayes.ltv.data import (  # noqa: F401
    cdnow_summary,
    cdnow_transactions,
    load_transactions,
    rfm_summary,
)
from bayes.ltv.data import validate_rfm as validate_summary  # noqa: F401
from bayes.ltv.evaluate import binned_holdout, evaluate_holdout  # noqa: F401

#: Fader, Hardie & Lee (2005), Table 1 (CDNOW 1/10 sample, 2,357 customers, weeks).
from bayes.ltv.workflow import PUBLISHED_CDNOW  # noqa: F401,E402
