"""Command line for the growth domain (placeholder until its issue lands)."""


def register(sub) -> None:
    sub.add_parser("growth", help="(growth: not yet available)")
