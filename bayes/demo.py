"""``bayes demo``: every domain end to end on generated data, into one report folder.

Each domain module listed in :data:`DEMO_SECTIONS` exposes ``demo_section(ctx) -> Section``.
A :class:`~bayes.report.Section` is the section's typed result: its ``headline`` (one sentence
with the number and its uncertainty), ``summary`` numbers, ``tables``, ``figures`` and
``files``. Sections run in order; a later one reads an earlier one's result through the
context — ``ctx.result("photos")`` or ``ctx.table("photos", "photos_segments")`` (the Photos
segments feed the video section, for instance) — never through a shared untyped dict.

The report is built as a unit (:class:`bayes.outputs.OutputFolder`): in a staging folder
unique to the run, swapped in at the end with its ``manifest.json``. An interrupted or failed
demo leaves the previous report as it was; a non-empty folder that bayes did not write is
refused before any work, never emptied. The page opens with every section's headline and the
run record (date, version, git commit, seeds, data hashes); under ``bayes demo`` each section
is also recorded as a run in the tracking store (:mod:`bayes.tracking`).
"""

from __future__ import annotations

import importlib
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bayes.outputs import OutputFolder
from bayes.report import Report, Section

DEMO_SECTIONS: tuple[str, ...] = (
    "bayes.photos.report",
    "bayes.video.report",
    "bayes.video.update_report",
    "bayes.signup.report",
    "bayes.growth.report",
    "bayes.experiments.report",
    "bayes.uplift.report",
)


def section_key(module: str) -> str:
    """``"bayes.video.update_report"`` → ``"video.update"``; ``"bayes.photos.report"`` →
    ``"photos"``: the name a section's result is found under in :attr:`DemoContext.results`."""
    key = module.removeprefix("bayes.").removesuffix(".report").removesuffix("_report")
    return key


@dataclass
class DemoContext:
    """What a demo section receives: where to write, the seed, quick mode, and the typed
    results of the sections that ran before it."""

    outdir: Path
    seed: int = 0
    quick: bool = False
    results: dict[str, Section] = field(default_factory=dict)

    def _folder(self, name: str) -> Path:
        path = self.outdir / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    figures = property(lambda self: self._folder("figures"), doc="PNG figures")
    tables = property(lambda self: self._folder("tables"), doc="CSV/JSON tables")
    posteriors = property(lambda self: self._folder("posteriors"), doc="NetCDF posteriors")
    data = property(lambda self: self._folder("data"), doc="generated input data")

    def result(self, key: str) -> Section | None:
        """The result of an earlier section (``"photos"``, ``"video"``, ``"video.update"``...),
        or ``None`` when it did not run."""
        return self.results.get(key)

    def table(self, key: str, name: str) -> pd.DataFrame | None:
        """A table of an earlier section's result, or ``None``."""
        res = self.results.get(key)
        return None if res is None else res.tables.get(name)

    @property
    def state(self):
        raise AttributeError(
            "DemoContext.state was replaced by typed section results: put what later sections "
            "need on your Section (summary, tables, files) and read earlier ones with "
            "ctx.result('photos') or ctx.table('photos', 'photos_segments')"
        )


def run_demo(
    outdir: str | Path,
    *,
    seed: int = 0,
    quick: bool = False,
    only: list[str] | None = None,
    log=print,
) -> Path:
    """Run the demo sections and write ``outdir/index.html``; return its path."""
    from bayes import tracking

    outdir = Path(outdir).resolve()
    args = {"quick": quick, "only": only, "seed": seed}
    unit = OutputFolder(outdir, command="demo", seed=seed, args=args)
    with unit as staging:
        ctx = DemoContext(outdir=staging, seed=seed, quick=quick)
        for name in DEMO_SECTIONS:
            short = name.split(".")[1]
            if only and short not in only:
                continue
            key = section_key(name)
            label = key.replace(".", " ")
            t0 = time.perf_counter()
            log(f"[demo] {label} ...", file=sys.stderr)
            module = importlib.import_module(name)
            section = module.demo_section(ctx)
            section.key = section.key or key
            ctx.results[key] = section
            seconds = time.perf_counter() - t0
            tracking.record_section(section, staging=staging, seed=seed, seconds=seconds)
            log(f"[demo] {label} done in {seconds:.1f} s", file=sys.stderr)
        report = Report(
            staging,
            title="Bayesian workbench — demo report",
            run_record=run_record(staging, command="bayes demo", args=args),
        )
        for section in ctx.results.values():
            report.add(section)
        report.write()
    return outdir / "index.html"


def run_record(folder: Path, *, command: str, args: dict) -> dict:
    """The run record of a report folder: date, package and library versions, git commit,
    the command and its arguments, the seeds used and the SHA-256 of every data file and
    posterior (seeds and data hashes of posteriors from their provenance attrs)."""
    import datetime as _dt
    import platform

    from bayes import __version__
    from bayes.report import git_commit
    from bayes.tracking import nc_attrs, sha256_file

    versions = {}
    for lib in ("pymc", "arviz", "numpy", "pandas"):
        try:
            versions[lib] = importlib.import_module(lib).__version__
        except ImportError:  # pragma: no cover - all are dependencies
            pass
    seeds = {"demo": args.get("seed")}
    posteriors = {}
    for nc in sorted(folder.glob("posteriors/*.nc")):
        attrs = nc_attrs(nc)
        if "seed" in attrs:
            seeds[nc.stem] = attrs["seed"]
        posteriors[nc.name] = (
            f"data sha256 {str(attrs['data_hash'])[:16]}" if attrs.get("data_hash") else "—"
        )
    data = {
        p.relative_to(folder).as_posix(): "sha256 " + sha256_file(p)[:16]
        for p in sorted(folder.glob("data/**/*"))
        if p.is_file()
    }
    return {
        "created": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": command + "".join(_flag(k, v) for k, v in args.items()),
        "package_version": __version__,
        "git_commit": git_commit() or "not a git checkout",
        "python": platform.python_version(),
        "libraries": versions,
        "seeds": seeds,
        "data files": data,
        "posteriors": posteriors,
    }


def _flag(key: str, value) -> str:
    if value in (None, False):
        return ""
    if value is True:
        return f" --{key}"
    if isinstance(value, (list, tuple)):
        return f" --{key} " + " ".join(map(str, value))
    return f" --{key} {value}"
