"""Data behind the app: the demo's generated data (made on first use, cached), uploads, and
the library calls the pages make, gathered here so that tests reach them without Streamlit.

Everything is the library's own code — the same functions ``bayes signup score``, ``bayes
video update`` or ``bayes ltv fit`` call — so the app shows the CLI's numbers (a test checks
the audience against ``bayes.signup.audience.score``).

The cache lives in ``BAYES_APP_DATA`` (default ``$XDG_CACHE_HOME/bayes/app``, i.e.
``~/.cache/bayes/app``): ``signup/``, ``growth/``, ``pilot/`` hold generated data (each an
output folder written as a unit), ``ltv/`` and ``library/`` fitted posteriors keyed by the
data's hash and the sampler settings, ``uploads/`` the files users uploaded (by content hash).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

__all__ = [
    "DEMO_PILOT",
    "ENV",
    "LTV_FIT",
    "QUICK",
    "SignupScores",
    "audience_csv",
    "customer_ltv",
    "data_root",
    "demo_growth",
    "demo_pilot",
    "demo_experiment",
    "demo_library",
    "demo_signup",
    "demo_uplift",
    "ltv_model",
    "save_upload",
    "signup_audience",
    "signup_scores",
    "video_priors",
]

ENV = "BAYES_APP_DATA"
#: quick sizes of the demo data (the demo's ``--quick`` sizes)
QUICK = {"signup_recipients": 1500, "signup_topics": 4, "growth_users": 3000}
#: the demo pilot: seed §11 Phase 0 at true (α, β) = (1.1, 1.05), as in ``bayes demo``
DEMO_PILOT = {"alpha": 1.1, "beta": 1.05, "users_per_arm": 3000}
#: quick sizes of the experiments and uplift pages' demo data (users before the uplift
#: experiment keeps the customers: about 3,000 of 5,000)
QUICK_DOMAINS = {"experiment_users": 30_000, "uplift_users": 5_000}
#: default NUTS settings of the app's LTV fit (small: the app answers within seconds)
LTV_FIT = {"draws": 500, "tune": 500, "chains": 2}


def data_root() -> Path:
    """Where the app keeps its data: ``BAYES_APP_DATA``, else ``~/.cache/bayes/app``."""
    env = os.environ.get(ENV, "").strip()
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME", "").strip() or str(Path.home() / ".cache")
    return Path(cache) / "bayes" / "app"


def _cached(name: str, files: tuple[str, ...], build, root: Path | None, seed: int) -> Path:
    """``root/name`` (built by ``build(folder)`` as a unit when any file is missing)."""
    from bayes.outputs import OutputFolder

    folder = (root or data_root()) / f"{name}-seed{seed}"
    if all((folder / f).is_file() for f in files):
        return folder
    with OutputFolder(folder, command=f"app data {name}", seed=seed) as staging:
        build(staging)
    return folder


def demo_signup(root: Path | None = None, seed: int = 0) -> dict[str, Path]:
    """The demo's signup data (events, campaigns, signups) at quick sizes."""
    from bayes.signup.generate import generate_signup_data, write_signup_data

    files = ("events.csv", "campaigns.csv", "signups.csv")

    def build(folder: Path) -> None:
        data = generate_signup_data(QUICK["signup_recipients"], QUICK["signup_topics"], seed=seed)
        write_signup_data(data, folder)

    folder = _cached("signup", files, build, root, seed)
    return {f.split(".")[0]: folder / f for f in files}


def demo_growth(root: Path | None = None, seed: int = 0) -> dict[str, Path]:
    """The demo's growth data (users, events, orders) at quick sizes."""
    from bayes.growth.data import generate_growth_data, write_growth_data

    files = ("users.csv", "events.csv", "orders.csv")

    def build(folder: Path) -> None:
        write_growth_data(generate_growth_data(QUICK["growth_users"], seed=seed), folder)

    folder = _cached("growth", files, build, root, seed)
    return {f.split(".")[0]: folder / f for f in files}


def demo_pilot(root: Path | None = None, seed: int = 0) -> Path:
    """The demo's pilot table (seed §11 Phase 0 at :data:`DEMO_PILOT`)."""
    from bayes.io import write_table
    from bayes.video.data import generate_pilot, validate_pilot

    def build(folder: Path) -> None:
        df = generate_pilot(
            DEMO_PILOT["alpha"], DEMO_PILOT["beta"], DEMO_PILOT["users_per_arm"], seed
        )
        write_table(validate_pilot(df, source="demo pilot"), folder / "pilot.csv")

    return _cached("pilot", ("pilot.csv",), build, root, seed) / "pilot.csv"


def demo_experiment(root: Path | None = None, seed: int = 0, srm: float = 0.0) -> Path:
    """The demo's experiment (``bayes experiment generate`` at the demo's quick size; ``srm``
    the share of the treatment's web users lost, a sample-ratio fault) as ``experiment.csv``."""
    from bayes.experiments.data import ExperimentTruth, generate_experiment, write_experiment

    def build(folder: Path) -> None:
        truth = ExperimentTruth(srm=srm)
        write_experiment(
            generate_experiment(QUICK_DOMAINS["experiment_users"], seed=seed, truth=truth), folder
        )

    name = "experiment" if not srm else f"experiment-srm{srm:g}"
    return _cached(name, ("experiment.csv", "truth.json"), build, root, seed) / "experiment.csv"


def demo_library(root: Path | None = None, seed: int = 0) -> Path:
    """The demo's library of past experiments (``bayes experiment generate --past-experiments
    24``: relative lifts with their standard errors) as ``past_experiments.csv``."""
    from bayes.experiments.data import generate_library
    from bayes.io import write_table

    def build(folder: Path) -> None:
        past = generate_library(seed=seed).drop(columns="true_lift")  # PAST_EXPERIMENTS rows
        write_table(past, folder / "past_experiments.csv")

    return _cached("library", ("past_experiments.csv",), build, root, seed) / "past_experiments.csv"


def demo_uplift(root: Path | None = None, seed: int = 0) -> dict[str, Path]:
    """The demo's promotion experiment (``bayes uplift generate`` at quick size): the paths
    of ``experiment``, ``truth`` (csv), ``orders`` and ``meta`` (truth.json)."""
    from bayes.uplift.data import generate_uplift_data, write_uplift_data

    files = ("experiment.csv", "truth.csv", "orders.csv", "truth.json")

    def build(folder: Path) -> None:
        write_uplift_data(generate_uplift_data(QUICK_DOMAINS["uplift_users"], seed=seed), folder)

    folder = _cached("uplift", files, build, root, seed)
    return dict(
        zip(("experiment", "truth", "orders", "meta"), (folder / f for f in files), strict=True)
    )


def save_upload(name: str, content: bytes, root: Path | None = None) -> Path:
    """Keep an uploaded file under ``uploads/<content hash>/<name>`` (so the readers' error
    messages name the file the user chose) and return its path."""
    from bayes.io import atomic_path

    safe = Path(name).name or "upload"
    digest = hashlib.sha256(content).hexdigest()[:16]
    path = (root or data_root()) / "uploads" / digest / safe
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            Path(tmp).write_bytes(content)
    return path


# ----------------------------------------------------------------------------- video


def video_priors(table: pd.DataFrame):
    """A :class:`~priors.video.VideoPriors` with an edited prior table (one row per segment);
    a bad entry raises :class:`~priors.spec.PriorError` naming it."""
    from priors.video import VideoPriors

    t = table.set_index("segment") if "segment" in table.columns else table
    return VideoPriors(table=t)


# ----------------------------------------------------------------------------- signup


@dataclass
class SignupScores:
    """Every (email, topic) pair scored once; the business rules then run on it in
    milliseconds (:func:`signup_audience`)."""

    scored: pd.DataFrame
    topic_priors: pd.DataFrame
    as_of: pd.Timestamp | None
    method: str
    model: object | None
    n_events: int
    n_pairs: int
    #: the engine that counted and how (:meth:`bayes.signup.counting.SignupCounts.plan_text`)
    counted: str = "pandas"

    @property
    def topics(self) -> list[str]:
        return [str(t) for t in self.scored["topic"].cat.categories]

    @property
    def domains(self) -> list[str]:
        """E-mail domains in the data, most frequent first."""
        emails = self.scored["email"].astype(str)
        return emails.str.rsplit("@", n=1).str[-1].str.lower().value_counts().index.tolist()


def signup_scores(
    events,
    campaigns,
    signups=None,
    *,
    method: str = "eb",
    draws: int = 300,
    seed: int = 0,
) -> SignupScores:
    """Validate and count (seed 003 §2) on the aggregation engine, as ``bayes signup score``
    does (DuckDB for files: an uploaded log is never loaded into pandas whole), and score
    every pair by the seed's empirical Bayes or the hierarchical model (NUTS, ``draws`` per
    chain, 2 chains)."""
    from bayes.engines import count_signups
    from bayes.signup.audience import refuse_impossible_counts, score_pairs
    from bayes.signup.data import load_inputs
    from models.sampling import SamplerConfig
    from models.signup import HierarchicalSignupModel

    counts = count_signups(events, campaigns, signups)
    # clicks > sends: named, as in the CLI (the rows are read only on that path)
    refuse_impossible_counts(counts.pairs, lambda: load_inputs(events, campaigns, signups))
    model = None
    if method == "hierarchical":
        sampler = SamplerConfig(draws=draws, tune=draws, chains=2, seed=seed, progress=False)
        model = HierarchicalSignupModel(sampler=sampler)
    scored, model = score_pairs(counts.pairs, counts.topics, method=method, model=model)
    return SignupScores(
        scored=scored,
        topic_priors=counts.topics,
        as_of=counts.as_of,
        method=method,
        model=model,
        n_events=counts.n_events,
        n_pairs=len(counts.pairs),
        counted=counts.plan_text(),
    )


def signup_audience(scores: SignupScores, rules, *, prob: float = 0.9):
    """The seven business rules on the scored pairs: ``(audience, funnel, expected)`` exactly
    as ``bayes signup score`` computes them (:func:`bayes.signup.audience.apply_rules`,
    :func:`~bayes.signup.audience.expected_signups`)."""
    from bayes.signup.audience import apply_rules, expected_signups

    audience, funnel = apply_rules(scores.scored, rules, as_of=scores.as_of)
    expected = expected_signups(audience, scores.model, prob=prob)
    return audience, funnel, expected


def audience_csv(audience: pd.DataFrame) -> bytes:
    """The audience as the CSV ``bayes signup score --out audience.csv`` writes."""
    import tempfile

    from bayes.signup.audience import write_audience

    with tempfile.TemporaryDirectory() as tmp:
        path = write_audience(audience, Path(tmp) / "audience.csv")
        return path.read_bytes()


# ----------------------------------------------------------------------------- LTV


def ltv_model(
    orders,
    *,
    draws: int | None = None,
    tune: int | None = None,
    chains: int | None = None,
    seed: int = 0,
    root: Path | None = None,
):
    """The BG/NBD + Gamma-Gamma fit (:class:`models.ltv.LTVModel`, weeks) of an
    orders/transactions file on its whole history, as ``(model, rfm)``. The posterior is
    cached as NetCDF under ``ltv/`` keyed by the file's SHA-256 and the sampler settings, so
    a second start of the app reopens it (``bayes.load``) instead of refitting."""
    import warnings

    import bayes
    from bayes.io import data_hash
    from bayes.ltv.data import MonetaryPolicyWarning, load_transactions
    from bayes.ltv.workflow import fit_ltv, prepare_rfm
    from models.sampling import SamplerConfig

    draws = draws or LTV_FIT["draws"]
    tune = tune or LTV_FIT["tune"]
    chains = chains or LTV_FIT["chains"]
    with warnings.catch_warnings():  # the policy's counts are in the model's summary
        warnings.simplefilter("ignore", MonetaryPolicyWarning)
        rfm = prepare_rfm(transactions=load_transactions(orders), time_unit="W").rfm
    key = f"{data_hash(orders)[:16]}-d{draws}-t{tune}-c{chains}-s{seed}"
    path = (root or data_root()) / "ltv" / f"{key}.nc"
    if path.is_file():
        return bayes.load(path), rfm
    cfg = SamplerConfig(draws=draws, tune=tune, chains=chains, seed=seed, progress=False)
    model = fit_ltv(rfm, sampler=cfg)
    model.save(path)
    return model, rfm


def customer_ltv(
    model,
    summary: pd.DataFrame,
    customer_id: str,
    *,
    horizon_weeks: float = 26.0,
    discount_rate: float = 0.01,
    prob: float = 0.9,
    n_draws: int = 500,
) -> pd.DataFrame:
    """One customer's predictions with their ``prob`` intervals (summaries of
    ``LTVModel.predict``), one row per quantity: ``quantity``, ``mean``, ``lower``, ``upper``
    (expected purchases over ``horizon_weeks``; LTV discounted at ``discount_rate`` per
    month)."""
    from bayes.io import InputError
    from models.ltv.units import days_per_unit
    from models.summaries import interval_dict
    from priors.spec import interval_names

    key = str(customer_id)
    if key not in summary.index:
        raise InputError(f"unknown customer_id {key!r}")
    horizon = horizon_weeks * 7 / days_per_unit(model.time_unit)
    pred = model.predict(
        summary.loc[[key]], horizon=horizon, discount_rate=discount_rate, draws=n_draws
    )
    labels = {
        "p_alive": "P(alive)",
        "expected_purchases": f"purchases in {horizon_weeks:g} weeks",
        "expected_spend": "spend per purchase",
        "ltv_6m": "6-month LTV",
        "ltv_12m": "12-month LTV",
    }
    lo, hi = interval_names(prob)
    rows = []
    for k, label in labels.items():
        if k in pred:
            st = interval_dict(pred[k].values, prob)
            rows.append({"quantity": label, "mean": st["mean"], "lower": st[lo], "upper": st[hi]})
    return pd.DataFrame(rows)
