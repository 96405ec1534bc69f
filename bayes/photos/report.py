"""Demo section for the photos domain (placeholder until its issue lands)."""

from bayes.report import Section


def demo_section(ctx) -> Section:
    return Section("photos").text("Not yet available.")
