"""Run tracking with MLflow: every command that fits, simulates or scores leaves a run.

A run records

* **parameters** — the command and its arguments, the seed, the sampler settings, the priors
  (the ``--priors`` file's text, else the prior spec stored in the posterior), the SHA-256 of
  every input file, and the provenance of every posterior written (model, data hash, sampler);
* **metrics** — every number of the JSON the command printed (``--json``) or wrote
  (``summary.json``...): diagnostics (``r_hat_max``, ``ess_bulk_min``, ``divergences``,
  ``ok``) and headline numbers;
* **artifacts** — the files of the output folder (posterior NetCDF, figures, tables, the
  manifest), except generated input data, which is recorded by its hash.

Where: a local SQLite store ``mlflow.db`` *beside the outputs* (in the folder that holds the
``--out`` folder or file; the current folder when a command writes none), with artifacts in
``mlartifacts/`` next to it — or wherever ``MLFLOW_TRACKING_URI`` points, so a team can share
a server. ``--no-track`` (or ``BAYES_NO_TRACK=1``) turns it off.

How: :func:`command_run` wraps a command (``bayes.cli.main`` does it for every command);
:class:`bayes.outputs.OutputFolder` calls :func:`note_folder` when it swaps a folder in; a
command without a folder may add numbers with :func:`log_metrics`; :func:`record` writes a
run directly (library use). ``bayes demo`` records one run per section, nested under the
demo's run (:func:`record_section`). Nothing is written to the store before the command
ends, and a failure to record never fails the command: it is reported as a warning.

MLflow is imported only when a run is written or read (it takes seconds), so ``--help`` and
commands run with ``--no-track`` stay fast. Read runs back with ``bayes runs list`` /
``bayes runs compare`` (:mod:`bayes.runs`) or the MLflow UI (``make mlflow``).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "ENV_OFF",
    "RunRecord",
    "command_run",
    "compare_runs",
    "current",
    "find_run",
    "flatten_numbers",
    "list_runs",
    "log_metrics",
    "log_params",
    "nc_attrs",
    "note_folder",
    "record",
    "record_section",
    "resolve_store",
    "sha256_file",
    "store_uri",
    "tracking_enabled",
]

ENV_OFF = "BAYES_NO_TRACK"
STORE_NAME = "mlflow.db"
ARTIFACTS = "mlartifacts"
EXPERIMENT_PREFIX = "bayes-"
#: MLflow's limit on a parameter's value (longer ones are cut and kept whole as an artifact)
MAX_PARAM = 6000
MAX_METRICS = 500
MAX_CAPTURE = 5 << 20  # bytes of stdout kept to read a --json result
MAX_ARTIFACT = 200 << 20  # files larger than this are listed (with their hash), not copied
#: keys of list items that name them, so ``by_topic: [{"topic": "Mortgage", ...}]`` gives
#: ``by_topic.Mortgage.expected_signups``
LABEL_KEYS = (
    "name", "topic", "mode", "segment", "variable", "parameter", "metric", "model", "arm", "method",
)  # fmt: skip
#: argument names that are not parameters of the result
_SKIP_ARGS = {"func", "no_track", "no_progress", "json", "show_priors", "_bayes_command"}
_SAMPLER_ARGS = ("backend", "draws", "tune", "chains", "target_accept")
_GREEK = {"α": "alpha", "β": "beta", "Δ": "delta", "δ": "delta", "κ": "kappa", "μ": "mu",
          "σ": "sigma", "λ": "lambda", "π": "pi", "τ": "tau", "−": "-", "≥": ">=", "≤": "<=",
          "̂": "_hat", "×": "x"}  # fmt: skip


# ----------------------------------------------------------------------------- helpers


def tracking_enabled() -> bool:
    """False when ``BAYES_NO_TRACK`` is set to anything but ``""``/``0``."""
    return os.environ.get(ENV_OFF, "").strip() in ("", "0")


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def nc_attrs(path: str | os.PathLike) -> dict[str, Any]:
    """The global attributes of a NetCDF file (an ArviZ posterior's provenance), read without
    loading any data; ``{}`` when the file cannot be read."""
    try:
        import h5netcdf

        with h5netcdf.File(str(path), "r") as f:
            attrs = dict(f.attrs)
    except Exception:  # noqa: BLE001 - a file we cannot read has no provenance to report
        return {}
    out = {}
    for k, v in attrs.items():
        if isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        elif hasattr(v, "item") and getattr(v, "size", 2) == 1:
            v = v.item()
        out[str(k)] = v
    return out


def _key(name: str) -> str:
    """A metric/parameter name MLflow accepts (ASCII letters, digits, ``_-. /``)."""
    for a, b in _GREEK.items():
        name = name.replace(a, b)
    out = "".join(c if (c.isascii() and (c.isalnum() or c in "_-. /")) else "_" for c in name)
    return out.strip()[:250] or "_"


def flatten_numbers(obj, prefix: str = "", out: dict | None = None) -> dict[str, float]:
    """Every finite number (and boolean, as 0/1) in a JSON-like object, by dotted path; list
    items are named by their label (:data:`LABEL_KEYS`; all of an item's labels when the first
    ones repeat) or, in short lists, their index."""
    out = {} if out is None else out
    if len(out) >= MAX_METRICS:
        return out
    if isinstance(obj, bool):
        out[_key(prefix)] = float(obj)
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        if math.isfinite(float(obj)):
            out[_key(prefix)] = float(obj)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            flatten_numbers(v, f"{prefix}.{k}" if prefix else str(k), out)
    elif isinstance(obj, (list, tuple)):
        labels = [_label(v) for v in obj]
        if not (all(labels) and len(set(labels)) == len(labels)):
            labels = [_label(v, every=True) for v in obj]  # e.g. metric.method
        if all(labels) and len(set(labels)) == len(labels):
            for lab, v in zip(labels, obj, strict=True):
                flatten_numbers(v, f"{prefix}.{lab}" if prefix else lab, out)
        elif len(obj) <= 10:
            for i, v in enumerate(obj):
                flatten_numbers(v, f"{prefix}.{i}" if prefix else str(i), out)
    return out


def _label(item, every: bool = False) -> str | None:
    """The item's first label (:data:`LABEL_KEYS`), or with ``every`` all of them joined by
    dots (``revenue.cuped`` for a metric's estimates by several methods)."""
    if isinstance(item, dict):
        found = [v for k in LABEL_KEYS if isinstance(v := item.get(k), str) and v]
        if found:
            return ".".join(found) if every else found[0]
    return None


def _param_value(value) -> str:
    if isinstance(value, (list, tuple)):
        return " ".join(map(str, value))
    return str(value)


# ----------------------------------------------------------------------------- stores


def store_uri(near: str | os.PathLike | None = None) -> str:
    """Where runs go: ``MLFLOW_TRACKING_URI`` when set, else ``sqlite:///<near>/mlflow.db``
    (``near`` defaults to the current folder)."""
    env = os.environ.get("MLFLOW_TRACKING_URI", "").strip()
    if env:
        return env
    folder = Path(near) if near is not None else Path.cwd()
    return "sqlite:///" + str((folder / STORE_NAME).absolute())


def resolve_store(spec: str | os.PathLike | None = None) -> str:
    """The tracking URI of ``bayes runs --store SPEC``: a URI as is, a ``.db`` file, a folder
    holding ``mlflow.db``; ``None`` means ``MLFLOW_TRACKING_URI`` or ``./mlflow.db``."""
    from bayes.io import InputError

    if spec is None:
        uri = store_uri()
        if uri.startswith("sqlite:///") and not Path(uri[len("sqlite:///") :]).is_file():
            raise InputError(
                f"no tracking store here ({STORE_NAME} not found in {Path.cwd()}); runs are "
                "recorded beside their output folder (e.g. reports/mlflow.db for `bayes demo "
                "--out reports/demo`): pass --store FOLDER or set MLFLOW_TRACKING_URI"
            )
        return uri
    s = str(spec)
    if "://" in s:
        return s
    p = Path(s).expanduser()
    if p.is_dir():
        p = p / STORE_NAME
    if not p.is_file():
        raise InputError("no tracking store (mlflow.db) found", source=p)
    return "sqlite:///" + str(p.absolute())


def _artifact_root(uri: str) -> str | None:
    if uri.startswith("sqlite:///"):
        db = Path(uri[len("sqlite:///") :])
        return (db.parent / ARTIFACTS).absolute().as_uri()
    return None


def _client(uri: str):
    import logging
    import warnings

    for name in ("mlflow", "alembic", "sqlalchemy"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # MLflow's SQL store uses a loader SQLAlchemy deprecates; nothing a user can act on
    warnings.filterwarnings("ignore", message=".*``noload`` loader strategy is deprecated")
    from mlflow.tracking import MlflowClient

    if uri.startswith("sqlite:///"):
        Path(uri[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    return MlflowClient(tracking_uri=uri)


def _experiment_id(client, name: str, uri: str) -> str:
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    root = _artifact_root(uri)
    location = f"{root}/{name}" if root else None
    try:
        return client.create_experiment(name, artifact_location=location)
    except Exception:  # noqa: BLE001 - created meanwhile by a concurrent command
        exp = client.get_experiment_by_name(name)
        if exp is None:
            raise
        return exp.experiment_id


# ----------------------------------------------------------------------------- runs


@dataclass
class RunRecord:
    """A run being recorded: written to the store only when it ends (:func:`_write`)."""

    command: str
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    #: (file or folder, artifact sub-path); relative paths resolve against the folder written
    artifacts: list[tuple[Path, str | None]] = field(default_factory=list)
    children: list[RunRecord] = field(default_factory=list)
    folders: list[Path] = field(default_factory=list)
    #: small text artifacts by name (what the command printed)
    texts: dict[str, str] = field(default_factory=dict)
    #: path arguments and their modification time when the command started (None: absent)
    paths: dict[str, tuple[Path, int | None]] = field(default_factory=dict)
    near: Path | None = None
    start_ms: int = field(default_factory=lambda: int(time.time() * 1000))
    end_ms: int | None = None
    status: str = "RUNNING"
    run_id: str | None = None

    @property
    def experiment(self) -> str:
        return EXPERIMENT_PREFIX + (self.command.split()[0] if self.command else "runs")

    def add_params(self, values: dict[str, Any]) -> None:
        for k, v in values.items():
            if v is None:
                continue
            self.params[_key(str(k))] = _param_value(v)

    def add_metrics(self, values: dict[str, Any]) -> None:
        for k, v in flatten_numbers(values).items():
            if len(self.metrics) < MAX_METRICS or k in self.metrics:
                self.metrics[k] = v


_active: list[RunRecord] = []


def current() -> RunRecord | None:
    """The run of the command being executed, if tracking is on."""
    return _active[-1] if _active else None


def log_metrics(values: dict[str, Any]) -> None:
    """Add numbers (nested dicts are flattened) to the current run; no-op without one."""
    run = current()
    if run is not None:
        run.add_metrics(values)


def log_params(values: dict[str, Any]) -> None:
    """Add parameters to the current run; no-op without one."""
    run = current()
    if run is not None:
        run.add_params(values)


def note_folder(path: str | os.PathLike) -> None:
    """Called by :class:`~bayes.outputs.OutputFolder` when a folder has been swapped in: its
    files become the run's artifacts, its JSON numbers metrics, its posteriors' provenance
    parameters, and the store goes beside it."""
    run = current()
    if run is not None:
        run.folders.append(Path(path))


class _Tee(io.TextIOBase):
    """stdout that also keeps (up to :data:`MAX_CAPTURE` characters of) what was printed."""

    def __init__(self, stream):
        self._stream = stream
        self._parts: list[str] = []
        self._size = 0

    def write(self, s):
        if self._size < MAX_CAPTURE:
            self._parts.append(s)
            self._size += len(s)
        return self._stream.write(s)

    def flush(self):
        return self._stream.flush()

    def fileno(self):
        return self._stream.fileno()

    def isatty(self):
        return self._stream.isatty()

    @property
    def encoding(self):
        return getattr(self._stream, "encoding", "utf-8")

    def text(self) -> str:
        return "".join(self._parts)

    def __getattr__(self, name):
        return getattr(self._stream, name)


@contextlib.contextmanager
def command_run(command: str, args: dict[str, Any] | None = None) -> Iterator[RunRecord | None]:
    """Record the command run inside the block (nothing when tracking is off).

    Parameters come from ``args`` (the parsed CLI arguments). When the block ends normally,
    the output folders noted by :func:`note_folder` — or, for a command not writing through
    :class:`~bayes.outputs.OutputFolder`, its ``--out`` path — and the JSON it printed on
    stdout are read for artifacts and metrics, and the run is written. A command that fails
    or is interrupted writes nothing, not even to the store (its outputs were not written
    either).
    """
    if not tracking_enabled():
        yield None
        return
    args = dict(args or {})
    run = RunRecord(command=command)
    run.tags.update({"bayes.command": command})
    _params_from_args(run, args)
    tee = _Tee(sys.stdout)
    old_stdout = sys.stdout
    sys.stdout = tee
    _active.append(run)
    try:
        yield run
    finally:
        sys.stdout = old_stdout
        _active.remove(run)
    run.end_ms = int(time.time() * 1000)
    run.status = "FINISHED"
    _collect(run, args, tee.text())
    _write_safely(run)


def _params_from_args(run: RunRecord, args: dict[str, Any]) -> None:
    values = {k: v for k, v in args.items() if k not in _SKIP_ARGS and not callable(v)}
    sampler = {k: values[k] for k in _SAMPLER_ARGS if k in values}
    if sampler and "seed" in values:
        sampler["seed"] = values["seed"]
    if sampler:
        run.params["sampler"] = json.dumps(sampler, sort_keys=True)
    if "seed" in values:
        run.params["seed"] = str(values["seed"])
    for k, v in values.items():
        if v is None or v is False:
            continue
        run.params[_key(f"arg.{k}")] = _param_value(v)
    priors = values.get("priors")
    if priors and Path(str(priors)).is_file():
        run.params["priors"] = Path(str(priors)).read_text(encoding="utf-8", errors="replace")
        run.artifacts.append((Path(str(priors)).absolute(), "inputs"))
    for k, v in values.items():
        if k in ("out", "priors") or not isinstance(v, (str, os.PathLike)) or not str(v):
            continue
        p = Path(str(v)).absolute()
        before = p.stat().st_mtime_ns if p.is_file() else None
        run.paths[k] = (p, before)
        if before is not None:
            run.params[_key(f"data_hash.{k}")] = sha256_file(p)


def _out_path(args: dict[str, Any]) -> Path | None:
    for k in ("out", "out_dir", "output"):
        v = args.get(k)
        if isinstance(v, (str, os.PathLike)) and str(v):
            return Path(str(v)).absolute()
    return None


def _collect(run: RunRecord, args: dict[str, Any], printed: str) -> None:
    """After a successful command: the folders written, or the --out path, and stdout."""
    out = _out_path(args)
    folders = list(dict.fromkeys(run.folders))
    if not folders and out is not None and out.is_dir():
        folders = [out]  # a command that writes its folder without OutputFolder
    for folder in folders:
        _collect_folder(run, folder, top_only=bool(run.children))
    if not folders and out is not None and out.is_file():
        run.artifacts.append((out, None))
    written = []
    for k, (p, before) in run.paths.items():
        # a file the command wrote (--save, --plot...) is an output, not an input
        if p.is_file() and p.stat().st_mtime_ns != before:
            written.append(p)
            run.params.pop(_key(f"data_hash.{k}"), None)
            if p.stat().st_size <= MAX_ARTIFACT:
                run.artifacts.append((p, None))
    if folders:
        run.near = folders[0].parent
    elif out is not None:
        run.near = out.parent
    elif written:
        run.near = written[0].parent
    text = printed.strip()
    if text and args.get("json"):
        try:
            run.add_metrics(json.loads(text))
        except ValueError:
            pass
    if text:
        run.texts["stdout.txt"] = text + "\n"


def _collect_folder(run: RunRecord, folder: Path, *, top_only: bool = False) -> None:
    run.tags["bayes.out"] = str(folder)
    for p in sorted(folder.rglob("*")):
        if not p.is_file() or p.name.startswith("."):
            continue
        rel = p.relative_to(folder)
        if rel.parts[0] == "data":  # generated inputs: recorded by hash, not copied
            run.params[_key(f"data_hash.{rel.as_posix()}")] = sha256_file(p)
            continue
        if p.suffix == ".nc":
            _provenance_params(run, p, rel.as_posix())
        if p.suffix == ".json" and p.name != "manifest.json" and p.stat().st_size < MAX_CAPTURE:
            try:
                run.add_metrics({p.stem: json.loads(p.read_text(encoding="utf-8"))})
            except ValueError:
                pass
        if top_only and len(rel.parts) > 1:
            continue
        if p.stat().st_size > MAX_ARTIFACT:
            run.tags[_key(f"bayes.not_copied.{rel.as_posix()}")] = sha256_file(p)
            continue
        parent = rel.parent.as_posix()
        run.artifacts.append((p, None if parent == "." else parent))


def _provenance_params(run: RunRecord, path: Path, rel: str) -> None:
    attrs = nc_attrs(path)
    stem = Path(rel).stem
    for k in ("model_class", "domain", "data_hash", "data_source", "seed", "sampler", "time_unit"):
        if k in attrs and str(attrs[k]) != "":
            run.params[_key(f"{stem}.{k}")] = str(attrs[k])
    spec = attrs.get("prior_spec") or attrs.get("priors")
    if spec:
        run.params.setdefault("priors", str(spec))
        run.params[_key(f"{stem}.prior_spec")] = str(spec)
    diag = attrs.get("diagnostics")
    if isinstance(diag, str):
        try:
            run.add_metrics({f"{stem}.diagnostics": json.loads(diag)})
        except ValueError:
            pass


def record_section(section, *, staging: Path, seed: int | None = None, seconds=None) -> None:
    """Under ``bayes demo``: record a section's result as a child run of the demo's run
    (summary numbers as metrics, headline as tag, its figures, tables and posteriors as
    artifacts). No-op outside a tracked command."""
    parent = current()
    if parent is None:
        return
    key = section.key or section.title
    child = RunRecord(command=f"{parent.command} {key}")
    child.tags.update(
        {
            "bayes.command": child.command,
            "bayes.section": key,
            "mlflow.note.content": section.headline or "",
        }
    )
    if section.headline:
        child.tags["bayes.headline"] = section.headline[:5000]
    child.params["section"] = key
    child.params["title"] = section.title[:MAX_PARAM]
    if seed is not None:
        child.params["seed"] = str(seed)
    child.add_metrics(section.summary)
    child.end_ms = int(time.time() * 1000)
    if seconds is not None:
        child.metrics["seconds"] = float(seconds)
        child.start_ms = child.end_ms - int(1000 * float(seconds))
    paths = list(section.figures.values()) + list(section.files.values())
    for p in dict.fromkeys(paths):
        p = Path(p)
        try:
            rel = p.absolute().relative_to(Path(staging).absolute())
        except ValueError:
            continue
        if rel.parts and rel.parts[0] == "data":
            continue
        if p.suffix == ".nc":
            _provenance_params(child, p, rel.as_posix())
        parent_dir = rel.parent.as_posix()
        child.artifacts.append((rel, None if parent_dir == "." else parent_dir))
    parent.children.append(child)


def record(
    command: str,
    *,
    params: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    artifacts: list[str | os.PathLike] | None = None,
    tags: dict[str, str] | None = None,
    near: str | os.PathLike | None = None,
    uri: str | None = None,
) -> str | None:
    """Write one finished run now (library use); returns its id, or ``None`` when tracking is
    off. The store is ``uri``, else :func:`store_uri` of ``near``."""
    if not tracking_enabled():
        return None
    run = RunRecord(command=command, near=Path(near) if near is not None else None)
    run.tags["bayes.command"] = command
    run.tags.update(tags or {})
    run.add_params(params or {})
    run.add_metrics(metrics or {})
    run.artifacts.extend((Path(a), None) for a in artifacts or [])
    run.status = "FINISHED"
    run.end_ms = int(time.time() * 1000)
    _write(run, uri or store_uri(run.near))
    return run.run_id


def _write_safely(run: RunRecord) -> None:
    uri = store_uri(run.near)
    try:
        _write(run, uri)
    except Exception as exc:  # noqa: BLE001 - tracking never fails a command
        print(
            f"bayes: warning: the run was not recorded in the tracking store {uri}: "
            f"{type(exc).__name__}: {exc}",
            file=sys.stderr,
        )


def _write(run: RunRecord, uri: str, *, client=None, parent_id: str | None = None) -> None:
    from mlflow.entities import Metric, Param

    client = client or _client(uri)
    exp = _experiment_id(client, run.experiment, uri)
    tags = dict(run.tags)
    tags.setdefault("mlflow.runName", run.command)
    tags.setdefault("bayes.version", _version())
    if parent_id:
        tags["mlflow.parentRunId"] = parent_id
    created = client.create_run(exp, start_time=run.start_ms, tags=tags, run_name=run.command)
    run.run_id = rid = created.info.run_id
    params = []
    for k, v in run.params.items():
        if len(v) > MAX_PARAM:
            client.log_text(rid, v, f"params/{k}.txt")
            v = v[: MAX_PARAM - 40] + f" … (cut; whole in params/{k}.txt)"
        if v != "":
            params.append(Param(k, v))
    ts = run.end_ms or int(time.time() * 1000)
    metrics = [Metric(k, v, ts, 0) for k, v in run.metrics.items()]
    for i in range(0, max(len(params), len(metrics)), 100):
        client.log_batch(rid, metrics=metrics[i : i + 100], params=params[i : i + 100])
    for name, text in run.texts.items():
        client.log_text(rid, text, name)
    base = run.folders[-1] if run.folders else None
    for path, sub in run.artifacts:
        p = Path(path)
        if not p.is_absolute():
            if base is None:
                continue
            p = base / p
        if p.is_dir():
            client.log_artifacts(rid, str(p), sub)
        elif p.is_file():
            client.log_artifact(rid, str(p), sub)
    for child in run.children:
        child.folders = run.folders
        child.end_ms = child.end_ms or run.end_ms
        child.status = "FINISHED"
        _write(child, uri, client=client, parent_id=rid)
    client.set_terminated(rid, status="FINISHED", end_time=run.end_ms)


def _version() -> str:
    from bayes import __version__

    return __version__


# ----------------------------------------------------------------------------- reading


def _all_runs(uri: str, *, limit: int = 5000):
    client = _client(uri)
    exps = [e.experiment_id for e in client.search_experiments()]
    if not exps:
        return client, []
    runs = client.search_runs(exps, max_results=limit, order_by=["attributes.start_time DESC"])
    return client, list(runs)


#: metrics shown by ``bayes runs list`` when a run has them (the first three patterns that
#: match; ``fnmatch`` patterns over the dotted names, shown without the prefixes of
#: :data:`_KEY_PREFIXES`)
KEY_METRICS = (
    "summary.ok",
    "ok",
    "*p_standalone_better",
    "summary.expected_signups",
    "expected_signups",
    "bayes.*.chance_to_win",  # experiment analyze: per metric
    "bayes.*.expected_loss_treatment",
    "users_control",  # experiment power
    "mde*",
    "metrics.metrics.qini_coefficient.value",  # uplift fit
    "metrics.metrics.auuc.value",
    "targeting.p_targeting_beats_not_targeting",  # uplift target
    "targeting.best_fraction.value",
    "*r_hat_max",
)
_KEY_PREFIXES = ("summary.", "difference.", "metrics.metrics.", "targeting.", "bayes.")


def key_metrics(metrics: dict[str, float], limit: int = 3) -> dict[str, float]:
    """Up to ``limit`` headline numbers of a run's metrics, by :data:`KEY_METRICS` (in its
    order; the first name matching each pattern), named without the common prefixes."""
    from fnmatch import fnmatchcase

    out: dict[str, float] = {}
    for pattern in KEY_METRICS:
        if len(out) >= limit:
            break
        name = next((k for k in sorted(metrics) if fnmatchcase(k, pattern)), None)
        if name is None:
            continue
        short = name
        for prefix in _KEY_PREFIXES:
            short = short.removeprefix(prefix)
        short = short.removesuffix(".value")
        if short not in out:
            out[short] = metrics[name]
    return out


def list_runs(uri: str, *, command: str | None = None, limit: int = 50):
    """The runs of a store, newest first, as a DataFrame: ``run``, ``started``, ``command``,
    ``status``, ``seconds``, ``seed``, ``headline`` and up to three key metrics."""
    import pandas as pd

    _, runs = _all_runs(uri)
    rows = []
    for r in runs:
        cmd = r.data.tags.get("bayes.command", r.info.run_name or "")
        if command and not cmd.startswith(command):
            continue
        end = r.info.end_time
        key = key_metrics(r.data.metrics)
        rows.append(
            {
                "run": r.info.run_id[:8],
                "started": pd.Timestamp(r.info.start_time, unit="ms", tz="UTC").strftime(
                    "%Y-%m-%d %H:%M:%S"
                ),
                "command": cmd,
                "status": r.info.status,
                "seconds": (end - r.info.start_time) / 1000 if end else None,
                "seed": r.data.params.get("seed"),
                "metrics": len(r.data.metrics),
                "key metrics": ", ".join(f"{k} {_short(v)}" for k, v in key.items()),
                "headline": r.data.tags.get("bayes.headline", ""),
                "run_id": r.info.run_id,
            }
        )
        if len(rows) >= limit:
            break
    cols = ["run", "started", "command", "status", "seconds", "seed", "metrics", "key metrics",
            "headline", "run_id"]  # fmt: skip
    return pd.DataFrame(rows, columns=cols)


def _short(v: float) -> str:
    from bayes.formatting import fmt_number

    return fmt_number(v)


def find_run(uri: str, prefix: str):
    """The run whose id starts with ``prefix`` (8 characters suffice); an error naming the
    candidates when none or several match."""
    from bayes.io import InputError

    prefix = prefix.strip().lower()
    if len(prefix) < 4:
        raise InputError(f"run id {prefix!r} is too short; give at least 4 characters")
    _, runs = _all_runs(uri)
    hits = [r for r in runs if r.info.run_id.startswith(prefix)]
    if not hits:
        raise InputError(f"no run {prefix!r} in {uri} (see `bayes runs list`)")
    if len(hits) > 1:
        ids = ", ".join(r.info.run_id[:12] for r in hits[:5])
        raise InputError(f"run id {prefix!r} is ambiguous ({ids}); give more characters")
    return hits[0]


def compare_runs(uri: str, a: str, b: str, *, all_rows: bool = False):
    """Parameters and metrics of two runs side by side: ``kind, name, A, B, differs`` (and
    ``B − A`` for metrics); only the rows that differ unless ``all_rows``."""
    import pandas as pd

    ra, rb = find_run(uri, a), find_run(uri, b)
    rows = []
    for kind, da, db in (
        ("param", ra.data.params, rb.data.params),
        ("metric", ra.data.metrics, rb.data.metrics),
    ):
        for name in sorted(set(da) | set(db)):
            va, vb = da.get(name), db.get(name)
            differs = va != vb
            if not (differs or all_rows):
                continue
            row = {"kind": kind, "name": name, "A": va, "B": vb, "differs": differs}
            if kind == "metric" and va is not None and vb is not None:
                row["B − A"] = vb - va
            rows.append(row)
    cols = ["kind", "name", "A", "B", "B − A", "differs"]
    df = pd.DataFrame(rows, columns=cols)
    df.attrs["runs"] = (ra.info.run_id, rb.info.run_id)
    df.attrs["commands"] = (
        ra.data.tags.get("bayes.command", ""),
        rb.data.tags.get("bayes.command", ""),
    )
    return df
