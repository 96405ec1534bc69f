"""The experiments page under Streamlit's ``AppTest``: the planner's numbers equal the
library's and statsmodels', the readout's equal ``bayes experiment analyze``'s, the guards
show, and no exception does."""

import math

import pytest

from bayes.app import data as appdata
from bayes.app import experiments_data as ed
from bayes.experiments.data import PAST_EXPERIMENTS
from tests.test_app import app_data, metrics, no_exception, page  # noqa: F401

pytest.importorskip("streamlit")
pytestmark = pytest.mark.usefixtures("app_data")


def test_planner_sample_size_and_mde_equal_the_library_and_statsmodels():
    from statsmodels.stats.power import NormalIndPower, TTestIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    from models.experiments.power import power_means, power_proportions

    at = page("experiments.py").run()
    no_exception(at)
    # defaults: 0.10 -> 0.12, power 0.8, alpha 0.05, two-sided, pooled (R power.prop.test)
    lib = power_proportions(0.10, mde=0.02, power=0.8)
    assert metrics(at)["users per control arm"] == f"{lib.users_per_arm[0]:,}" == "3,841"
    assert len(at.get("plotly_chart")) >= 1
    # Bayesian sizing under the declared prior Normal(0, 0.3), as bayes experiment size
    from models.experiments.sizing import users_for_expected_loss

    n_loss = users_for_expected_loss(0.0, 0.3, 0.001, cv=math.sqrt(0.9 / 0.1))
    assert metrics(at)["users per control arm (expected loss)"] == f"{n_loss:,}"

    # Cohen's h, a 2:1 allocation: statsmodels' NormalIndPower is the oracle
    at.selectbox(key="plan_convention").set_value("cohen_h")
    at.number_input(key="plan_ratio").set_value(2.0).run()
    no_exception(at)
    h = proportion_effectsize(0.12, 0.10)
    nobs = NormalIndPower().solve_power(effect_size=h, power=0.8, alpha=0.05, ratio=2.0)
    shown = metrics(at)
    assert shown["users per control arm"] == f"{math.ceil(nobs):,}"
    assert shown["users in treatment"] == f"{math.ceil(2 * nobs - 1e-9):,}"

    # CUPED rho = 0.5: every variance times 0.75, as the library computes it
    at.slider(key="plan_rho").set_value(0.5).run()
    cuped = power_proportions(
        0.10, mde=0.02, power=0.8, ratio=2.0, convention="cohen_h", variance_factor=0.75
    )
    assert metrics(at)["users per control arm"] == f"{cuped.users_per_arm[0]:,}"
    assert cuped.users_per_arm[0] < math.ceil(nobs)

    # means, t-test, MDE with 10,000 users per arm: the raw-unit MDE, read back by statsmodels
    at.slider(key="plan_rho").set_value(0.0)
    at.number_input(key="plan_ratio").set_value(1.0)
    at.radio(key="plan_metric").set_value("mean").run()
    at.radio(key="plan_solve").set_value("mde").run()
    no_exception(at)
    lib = power_means(sd=100.0, n=10_000, power=0.8, baseline=40.0)
    text = " ".join(m.value for m in at.markdown)
    assert f"{lib.effect:+.4g} in the metric's units" in text
    back = TTestIndPower().power(effect_size=lib.effect / 100.0, nobs1=10_000, alpha=0.05)
    assert back == pytest.approx(0.8, abs=1e-8)

    # a question without an answer is refused, saying why
    at.radio(key="plan_metric").set_value("proportion").run()
    at.radio(key="plan_solve").set_value("n").run()
    at.number_input(key="plan_baseline").set_value(0.99).run()
    no_exception(at)
    assert at.error and "is not a conversion rate" in at.error[0].value


def test_readout_equals_the_library_and_shows_the_guards():
    at = page("experiments.py").run()
    no_exception(at)
    path = appdata.demo_experiment()
    # default: revenue, CUPED on pre_revenue -> the Normal readout of the adjusted lift
    lib = ed.readout(path, arm="arm", metric="revenue", covariates=["pre_revenue"])
    shown = metrics(at)
    assert shown["chance to win"] == f"{lib.bayes['chance_to_win']:.1%}"
    assert shown["relative lift"] == f"{lib.bayes['relative_lift']['mean']:+.2%}"
    cuped = lib.frequentist.set_index("method").loc["cuped"]
    assert shown["p-value"] == f"{cuped['p_value']:.3g}"
    assert shown["relative lift (estimate)"] == f"{cuped['relative']:+.2%}"
    text = " ".join(m.value for m in at.markdown)
    assert lib.analysis.headline in text
    assert lib.decision["chance_in_words"] in text and "not a p-value" in text
    assert at.success and "no sample-ratio mismatch" in at.success[0].value
    assert len(at.get("plotly_chart")) >= 2  # power curve, lift posterior

    # conversion without covariates -> the exact Beta-Binomial readout
    at.radio(key="exp_method").set_value("none")
    at.selectbox(key="exp_metric").set_value("converted").run()
    no_exception(at)
    conv = ed.readout(path, arm="arm", metric="converted")
    assert conv.bayes["model"] == "beta-binomial (exact)"
    assert metrics(at)["chance to win"] == f"{conv.bayes['chance_to_win']:.1%}"
    assert metrics(at)["chance to win"] != shown["chance to win"]

    # the demo with a sample-ratio fault: the guard overrides the decision
    at.radio(key="exp_source").set_value("demo_srm").run()
    no_exception(at)
    assert at.error and "sample-ratio mismatch" in at.error[0].value
    assert "Do not trust this readout" in " ".join(m.value for m in at.markdown)

    # an upload with three arms is refused, naming the file and the column
    at.radio(key="exp_source").set_value("upload").run()
    bad = b"arm,revenue\na,1\nb,2\nc,3\na,4\n"
    at.file_uploader(key="exp_file").upload("three_arms.csv", bad).run()
    no_exception(at)
    assert at.error
    assert "three_arms.csv" in at.error[0].value and "arm" in at.error[0].value


def test_readout_with_the_prior_learned_from_past_experiments():
    """The readout's prior for the lift chosen from a library of past experiments: the page's
    numbers equal ``analyze(library=...)`` (the function behind ``bayes experiment analyze
    --library``) on the same fitted library, differ from the declared prior's, and a library
    posterior written by ``bayes experiment library`` can be uploaded instead."""
    from bayes.experiments.analyze import analyze, load_library

    at = page("experiments.py").run()
    no_exception(at)
    declared = metrics(at)
    at.radio(key="exp_prior").set_value("library").run()
    no_exception(at)
    # the demo library, fitted once and cached as NetCDF under library/
    (nc,) = (appdata.data_root() / "library").glob("*.nc")
    library = load_library(nc)
    prior = library.next_lift_prior()
    assert len(library.data_) == PAST_EXPERIMENTS
    assert library.diagnostics_.ok and not at.warning  # the page warns on a failed fit
    captions = " ".join(c.value for c in at.caption)
    assert f"prior for the next lift {prior}" in captions
    assert (
        f"relative_lift ~ {prior} (predictive of the next lift from {PAST_EXPERIMENTS} past"
        in captions
    )
    cli = analyze(
        appdata.demo_experiment(), arm="arm", metrics=["revenue"], covariates=["pre_revenue"],
        method="bayes", library=library, update_library=False,
    )  # fmt: skip
    lift = cli.readouts[0]
    shown = metrics(at)
    assert shown["chance to win"] == f"{lift['chance_to_win']:.1%}"
    assert shown["relative lift"] == f"{lift['relative_lift']['mean']:+.2%}"
    assert shown["relative lift"] != declared["relative lift"]  # a narrower prior, near +1%
    assert cli.library_prior and cli.models["lift"].priors_["relative_lift"] == prior

    # a 0/1 metric without covariates: the exact Beta-Binomial readout, which the page says
    at.radio(key="exp_method").set_value("none")
    at.selectbox(key="exp_metric").set_value("converted").run()
    no_exception(at)
    assert "exact Beta-Binomial model, with its own declared priors" in " ".join(
        c.value for c in at.caption
    )
    at.radio(key="exp_method").set_value("cuped")
    at.selectbox(key="exp_metric").set_value("revenue").run()

    # the library posterior uploaded (as `bayes experiment library` writes it): same prior
    at.radio(key="exp_library_source").set_value("upload").run()
    no_exception(at)
    at.file_uploader(key="exp_library_file").upload("library.nc", nc.read_bytes()).run()
    no_exception(at)
    assert metrics(at)["chance to win"] == shown["chance to win"]
    # a table of past lifts with a zero standard error is refused, naming file, column, rows
    bad = b"experiment,lift,se\na,0.01,0.01\nb,0.02,0\n"
    at.file_uploader(key="exp_library_file").upload("past.csv", bad).run()
    no_exception(at)
    assert at.error and "past.csv" in at.error[0].value and "column 'se'" in at.error[0].value


def test_column_pickers_never_offer_an_identifier_as_a_metric(tmp_path):
    """``user_id`` holds numbers in the generated experiment, but it is an identifier (read as
    text by every reader): the page offers it as a column, never as a metric or covariate."""
    from bayes.experiments.data import generate_experiment, write_experiment

    write_experiment(generate_experiment(300, seed=2), tmp_path, "csv")
    columns, numeric = ed.file_columns(tmp_path / "experiment.csv")
    assert "user_id" in columns and "user_id" not in numeric
    assert {"revenue", "pre_revenue"} <= set(numeric)
