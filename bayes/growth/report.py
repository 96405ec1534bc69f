"""Demo section for the growth domain (placeholder until its issue lands)."""

from bayes.report import Section


def demo_section(ctx) -> Section:
    return Section("growth").text("Not yet available.")
