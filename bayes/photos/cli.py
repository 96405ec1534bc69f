"""Command line for the photos domain (placeholder until its issue lands)."""


def register(sub) -> None:
    sub.add_parser("photos", help="(photos: not yet available)")
