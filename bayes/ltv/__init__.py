"""The LTV domain of the workbench (seed 004): transactions -> RFM -> Bayesian BG/NBD +
Gamma-Gamma (:class:`models.ltv.LTVModel`) -> per-customer LTV, holdout evaluation, segments.

* :mod:`bayes.ltv.data` — transaction logs, the monetary policy, RFM in explicit time units;
* :mod:`bayes.ltv.evaluate` — holdout evaluation (MAPE/WMAPE) and the seed's alternative
  survival/GLM path;
* :mod:`bayes.ltv.pooling` — the partial-pooling study on segments with known truths;
* :mod:`bayes.ltv.plots`, :mod:`bayes.ltv.workflow` (fit -> outputs), :mod:`bayes.ltv.cli`.
"""
