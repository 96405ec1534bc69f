"""The workbench layer: simulate forward, update, decide; data generators, I/O, plots, report, CLI.

Layering: ``priors`` <- ``models`` <- ``bayes``. This package may import the other two;
they never import it.
"""

__version__ = "0.1.0"
