"""``bayes inspect FILE.nc`` (placeholder until the updating issue lands)."""


def register(sub) -> None:
    sub.add_parser("inspect", help="(not yet available)")
