"""Photos Core_90d activation (seed 000, Parts A-B): synthetic data, baselines, segments."""
