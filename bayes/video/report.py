"""Demo section for the video domain (placeholder until its issue lands)."""

from bayes.report import Section


def demo_section(ctx) -> Section:
    return Section("video").text("Not yet available.")
