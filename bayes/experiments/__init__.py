"""The experiments domain in the workbench layer (seed 004, "Plan & evaluate experiments").

``data`` (generator on the growth users, past experiments, validated readers), ``engine``
(sufficient statistics on DuckDB or NumPy), ``analyze`` (the whole readout), ``decide``
(decision rules and the headline), ``plots``, ``report`` (the demo section) and ``cli``
(``bayes experiment ...``). The estimators and models live in :mod:`models.experiments`, the
priors in :mod:`priors.experiments`; see docs/experiments.md.
"""
