"""``bayes demo``: every domain end to end on generated data, into one report folder.

Each domain module listed in :data:`DEMO_SECTIONS` exposes ``demo_section(ctx) -> Section``.
Sections run in order and may leave results in ``ctx.state`` for later ones (the Photos
segments feed the video priors, for instance).

The report is built as a unit (:class:`bayes.outputs.OutputFolder`): in a staging folder
unique to the run, swapped in at the end with its ``manifest.json``. An interrupted or failed
demo leaves the previous report as it was; a non-empty folder that bayes did not write is
refused before any work, never emptied.
"""

from __future__ import annotations

import importlib
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bayes.outputs import OutputFolder
from bayes.report import Report

DEMO_SECTIONS: tuple[str, ...] = (
    "bayes.photos.report",
    "bayes.video.report",
    "bayes.video.update_report",
    "bayes.signup.report",
    "bayes.growth.report",
    "bayes.experiments.report",
    "bayes.uplift.report",
)


@dataclass
class DemoContext:
    outdir: Path
    seed: int = 0
    quick: bool = False
    state: dict = field(default_factory=dict)

    def _folder(self, name: str) -> Path:
        path = self.outdir / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    figures = property(lambda self: self._folder("figures"), doc="PNG figures")
    tables = property(lambda self: self._folder("tables"), doc="CSV/JSON tables")
    posteriors = property(lambda self: self._folder("posteriors"), doc="NetCDF posteriors")
    data = property(lambda self: self._folder("data"), doc="generated input data")


def run_demo(
    outdir: str | Path,
    *,
    seed: int = 0,
    quick: bool = False,
    only: list[str] | None = None,
    log=print,
) -> Path:
    """Run the demo sections and write ``outdir/index.html``; return its path."""
    outdir = Path(outdir).resolve()
    unit = OutputFolder(
        outdir, command="demo", seed=seed, args={"quick": quick, "only": only, "seed": seed}
    )
    with unit as staging:
        ctx = DemoContext(outdir=staging, seed=seed, quick=quick)
        report = Report(staging, title="Bayesian workbench — demo report")
        for name in DEMO_SECTIONS:
            short = name.split(".")[1]
            if only and short not in only:
                continue
            label = name.removeprefix("bayes.").removesuffix(".report").replace(".", " ")
            t0 = time.perf_counter()
            log(f"[demo] {label} ...", file=sys.stderr)
            module = importlib.import_module(name)
            report.add(module.demo_section(ctx))
            log(f"[demo] {label} done in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        report.write()
    return outdir / "index.html"
