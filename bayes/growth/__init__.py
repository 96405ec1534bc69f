"""Growth analytics (seed 004): synthetic growth data, cohort retention, BG/NBD + Gamma-Gamma LTV."""
