"""The workbench layer: simulate forward, update, decide; data generators, I/O, plots, report, CLI.

Layering: ``priors`` <- ``models`` <- ``bayes``. This package may import the other two;
they never import it.
"""

__version__ = "0.1.0"


def load(path):
    """Open any domain's saved posterior (``.nc``) as its fitted model, ready to predict
    without refitting (:func:`models.base.load`)."""
    from models.base import load as _load

    return _load(path)
