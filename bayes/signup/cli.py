"""Command line for the signup domain (placeholder until its issue lands)."""


def register(sub) -> None:
    sub.add_parser("signup", help="(signup: not yet available)")
