"""Command line for the video domain (placeholder until its issue lands)."""


def register(sub) -> None:
    sub.add_parser("video", help="(video: not yet available)")
