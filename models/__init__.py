"""How data arises and how each domain is estimated: likelihoods, fit, predict.

May import :mod:`priors`; never imports :mod:`bayes`.
"""
