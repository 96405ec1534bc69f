"""``bayes photos``: synthetic Photos data and the Core_90d activation analysis (seed 000 A-B)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bayes.cliargs import add_json_flag, add_out_folder, add_seed, int_range, probability
from bayes.io import InputError, dumps

_OUT_SUFFIXES = (".csv", ".parquet", ".pq")
#: the largest table ``photos generate`` builds: about 0.5 KB per row in memory while it is
#: simulated, so 20M rows need ~10 GB; more is refused before any work instead of failing
#: with a MemoryError
MAX_ROWS = 20_000_000

GENERATE_EPILOG = """\
examples:
  bayes photos generate --out photos.parquet                 200,000 customers, seed 0
  bayes photos generate --rows 20000 --seed 7 --out small.csv --json
"""

FIT_EPILOG = """\
examples:
  bayes photos fit --data photos.parquet --json
  bayes photos fit --data photos.csv --out photos_fit/      tables (CSV), figures (PNG), JSON

required columns: customer_id, attrib_channel_type, attrib_client_tier, entry_client,
prime_status_at_first_login, the lead flags (lead_group_sharing, lead_wakescreen, lead_prints,
lead_snapfish, lead_retail_prints, lead_any), n_upload_events_7d, n_app_launch_7d,
n_photo_view_events_7d, n_notifications_opened_7d, n_distinct_platforms_7d, is_core_90d.
"""


def register(sub) -> None:
    photos = sub.add_parser(
        "photos",
        help="Photos Core_90d activation: synthetic data, baselines, drivers, segments",
        description="Photos Core_90d activation (seed 000 Parts A-B): generate the synthetic "
        "photos_first_login_features table, fit logistic and random-forest baselines, read the "
        "drivers, lift by decile and the four K-means segments.",
    )
    verbs = photos.add_subparsers(dest="verb", metavar="<verb>", required=True)

    gen = verbs.add_parser(
        "generate",
        help="write a synthetic photos_first_login_features table (CSV or Parquet)",
        description="Simulate photos_first_login_features: one row per customer with "
        "attribution, entry client, Prime status, lead flags, early 7-day behaviour and "
        "90-day outcomes. Same --rows and --seed give the same table.",
        epilog=GENERATE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    gen.add_argument(
        "--rows",
        type=int_range(1, MAX_ROWS, what="a number of customers"),
        default=200_000,
        help=f"customers, 1 to {MAX_ROWS:,} (default: %(default)s)",
    )
    add_seed(gen)
    gen.add_argument(
        "--out", required=True, help="output file, .csv or .parquet (written atomically)"
    )
    add_json_flag(gen, "a summary")
    gen.set_defaults(func=_cmd_generate)

    fit = verbs.add_parser(
        "fit",
        help="fit the Core_90d baselines and segments on a table; print metrics",
        description="Fit logistic regression and random forest for is_core_90d on a stratified "
        "train split, score the held-out split (accuracy, ROC AUC, calibration), read drivers "
        "and lift by decile, and segment the base with K-means (k=4) labelled by profile.",
        epilog=FIT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    fit.add_argument("--data", required=True, help="input table, .csv or .parquet")
    add_seed(fit, help="split, forest and K-means seed")
    fit.add_argument(
        "--test-size",
        type=probability(),
        default=0.25,
        help="held-out fraction, in (0, 1) (default: %(default)s)",
    )
    add_out_folder(fit, required=False, what="tables (CSV), figures (PNG) and analysis.json")
    add_json_flag(fit)
    fit.set_defaults(func=_cmd_fit)


def _check_out_suffix(path: str) -> Path:
    out = Path(path)
    if out.suffix.lower() not in _OUT_SUFFIXES:
        raise InputError(
            f"unsupported output type {out.suffix or '(none)'!r}; use .csv or .parquet",
            source=out,
        )
    return out


def _cmd_generate(args) -> int:
    from bayes.io import write_table
    from bayes.photos.data import generate_photos

    out = _check_out_suffix(args.out)
    if out.is_dir():
        raise InputError(
            "--out names a folder; give a file name ending in .csv or .parquet", source=out
        )
    df = generate_photos(args.rows, args.seed)
    write_table(df, out)
    summary = {
        "out": str(out),
        "rows": len(df),
        "seed": args.seed,
        "core_90d_rate": float(df["is_core_90d"].mean()),
        "columns": list(df.columns),
    }
    if args.json:
        print(dumps(summary))
    else:
        print(
            f"wrote {len(df):,} customers to {out} "
            f"(Core_90d rate {summary['core_90d_rate']:.3f}, seed {args.seed})"
        )
    return 0


def _cmd_fit(args) -> int:
    from bayes.outputs import OutputFolder
    from bayes.photos.analysis import analyze
    from bayes.photos.data import read_photos

    unit = (
        OutputFolder(args.out, command="photos fit", seed=args.seed, args=vars(args))
        if args.out
        else None
    )  # checked before any work
    df = read_photos(args.data)
    result = analyze(df, seed=args.seed, test_size=args.test_size, validate=False)
    payload = {"data": str(args.data), **result.to_dict()}
    if unit is not None:
        with unit as staging:
            write_outputs(result, staging, payload=payload)
    if args.json:
        print(dumps(payload))
    else:
        _print_summary(result, sys.stdout)
    return 0


def write_outputs(
    result, outdir: Path, figures: Path | None = None, payload: dict | None = None
) -> dict[str, Path]:
    """Write the tables (CSV) and ``analysis.json`` of an analysis into ``outdir`` and its
    figures (PNG) into ``figures`` (default ``outdir``)."""
    figures = outdir if figures is None else figures
    from bayes.io import save_figure, write_json, write_table
    from bayes.photos import plots

    paths = {}
    for name in ("metrics", "drivers", "lift", "calibration", "segments"):
        paths[name] = write_table(getattr(result, name), outdir / f"photos_{name}.csv")
    base_rate = float(result.metrics["base_rate"].iloc[0])
    figs = {
        "lift_fig": (plots.plot_lift(result.lift, base_rate), "photos_lift_by_decile.png"),
        "calibration_fig": (plots.plot_calibration(result.calibration), "photos_calibration.png"),
        "drivers_fig": (plots.plot_drivers(result.drivers), "photos_drivers.png"),
        "profile_fig": (
            plots.plot_segment_profile(result.segments),
            "photos_profile_by_cluster.png",
        ),
    }
    for key, (fig, fname) in figs.items():
        paths[key] = save_figure(fig, figures / fname)
    paths["json"] = write_json(payload or result.to_dict(), outdir / "analysis.json")
    return paths


def _print_summary(result, fh) -> None:
    m = result.metrics.set_index("model")
    print(f"{result.n_rows:,} customers; test split n={int(m['n_test'].iloc[0]):,}", file=fh)
    for model, row in m.iterrows():
        print(
            f"  {model:<14} accuracy {row['accuracy']:.3f}  ROC AUC {row['roc_auc']:.3f} "
            f"(se {row['roc_auc_se']:.3f})  Brier {row['brier']:.3f}  ECE {row['ece']:.3f}",
            file=fh,
        )
    print("top drivers (logistic):", file=fh)
    for _, row in result.drivers.head(8).iterrows():
        print(f"  {row['feature']:<40} {row['coefficient']:+.3f}", file=fh)
    print("segments:", file=fh)
    for _, row in result.segments.iterrows():
        print(
            f"  cluster {row['cluster']} {row['label']:<28} share {row['share']:.3f}  "
            f"Core_90d {row['baseline_core_90d']:.3f}  launches {row['n_app_launch_7d']:.1f}",
            file=fh,
        )
