"""Demo section for updating after a pilot (placeholder until the updating issue lands)."""

from bayes.report import Section


def demo_section(ctx) -> Section:
    return Section("video: updating after a pilot").text("Not yet available.")
