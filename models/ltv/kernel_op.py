"""One PyTensor node for a NumPy log-likelihood kernel and its hand-written gradient.

The kernels of :mod:`models.ltv.likelihood` (:class:`~models.ltv.likelihood.BGNBDKernel`,
:class:`~models.ltv.likelihood.GammaGammaKernel`) return the total log-likelihood and its
gradient from one pass over the compressed rows. :class:`KernelLoglike` exposes both as the
outputs of a single node; its ``grad`` reuses that node, so the graph PyMC compiles for NUTS
(log density and gradient together) runs each kernel once per leapfrog step. The generic
alternative — gathering per-segment tables onto rows with advanced indexing — spends most of
its time in PyTensor's Python-level ``AdvancedIncSubtensor`` (``np.add.at``) on the way back.

This module imports PyTensor; :mod:`models.ltv.likelihood` imports it only when a model is
built.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import DisconnectedType
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op

__all__ = ["KernelLoglike"]


class KernelLoglike(Op):
    """``kernel(*params) -> (loglike, *gradients)`` as a node with a scalar output and one
    vector per parameter. Instances compare by identity: each holds its own data."""

    def __init__(self, kernel):
        self.kernel = kernel

    def make_node(self, *params):
        params = [pt.as_tensor_variable(z).astype("float64") for z in params]
        outs = [pt.dscalar()] + [pt.dvector() for _ in params]
        return Apply(self, params, outs)

    def perform(self, node, inputs, outputs):
        res = self.kernel(*inputs)
        outputs[0][0] = np.asarray(res[0], dtype=np.float64)
        for out, g in zip(outputs[1:], res[1:], strict=True):
            out[0] = np.asarray(g, dtype=np.float64)

    def grad(self, inputs, output_grads):
        gz = output_grads[0]
        if isinstance(gz.type, DisconnectedType):
            return [pt.zeros_like(z) for z in inputs]
        return [gz * g for g in self(*inputs)[1:]]

    def infer_shape(self, fgraph, node, shapes):
        return [(), *shapes]

    def __str__(self) -> str:
        return f"KernelLoglike[{type(self.kernel).__name__}]"
