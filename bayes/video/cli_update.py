"""``bayes video pilot|update|pilot-size`` (placeholder until the updating issue lands)."""


def register(vsub) -> None:
    """Register the updating verbs on the ``video`` sub-parsers."""
