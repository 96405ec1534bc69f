"""Demo section for the signup domain (placeholder until its issue lands)."""

from bayes.report import Section


def demo_section(ctx) -> Section:
    return Section("signup").text("Not yet available.")
