"""PyMC's dense mass matrix adaptation, shrunk towards a Laplace covariance.

PyMC's ``QuadPotentialFullAdapt`` estimates the mass matrix from the draws of expanding
adaptation windows and starts each window empty, so its first estimates rest on ~100
correlated draws: in 48 dimensions their eigenvalues scatter by a factor of ~30 and the step
size shrinks to match. :class:`LaplaceFullAdapt` starts every window from the pilot's Laplace
covariance with ``initial_weight`` pseudo-draws (:data:`models.ltv.start.LAPLACE_WEIGHT`), a
shrinkage estimator that the draws take over as they accumulate. (A module of its own so the
class pickles by reference into PyMC's worker processes.)
"""

from __future__ import annotations

from pymc.step_methods.hmc.quadpotential import QuadPotentialFullAdapt, _WeightedCovariance

__all__ = ["LaplaceFullAdapt"]


class LaplaceFullAdapt(QuadPotentialFullAdapt):
    """``QuadPotentialFullAdapt`` whose every adaptation window starts from the initial
    covariance with ``initial_weight`` pseudo-draws."""

    def _prior(self) -> _WeightedCovariance:
        return _WeightedCovariance(
            self._n, self._initial_mean, self._initial_cov, self._initial_weight, self.dtype
        )

    def reset(self):
        super().reset()
        self._background_cov = self._prior()

    def update(self, sample, grad, tune):
        super().update(sample, grad, tune)
        if tune and self._background_cov.n_samples == 0:  # a window just closed
            self._background_cov = self._prior()
