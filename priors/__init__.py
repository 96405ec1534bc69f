"""What we believe before the data: prior declarations as editable data, turned into PyMC
random variables with named coords by one function per domain.

Imports only PyMC, numpy and pandas (never :mod:`models` or :mod:`bayes`).
"""

from priors.spec import Prior, PriorError

__all__ = ["Prior", "PriorError"]
