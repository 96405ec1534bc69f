"""``bayes rates``: the hierarchical beta-binomial for any grouped binomial data."""
