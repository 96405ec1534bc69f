"""``bayes app``: start the Streamlit app on localhost."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

EPILOG = """\
examples:
  bayes app                          http://localhost:8501, demo data generated on first use
  bayes app --port 8600 --no-browser
  bayes app --data ~/bayes-app       keep the generated data and fits there

Pages: video decision (prior table, sensitivity map, decision, pilot update), signup
audiences (the seven business rules, expected signups, CSV download), customer LTV (lookup,
cohort retention). The demo data is generated at quick sizes on first use and cached in
--data (default: BAYES_APP_DATA or ~/.cache/bayes/app); upload your own files on each page.
Stop the server with Ctrl-C.
"""


def register(sub) -> None:
    p = sub.add_parser(
        "app",
        help="start the interactive app (Streamlit) on localhost",
        description="Start the Streamlit app on localhost: video decision, signup audiences "
        "and customer LTV, on the demo's generated data or your uploads.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--port", type=_port, default=8501, help="port (default: %(default)s)")
    p.add_argument(
        "--address",
        default="localhost",
        help="address to listen on (default: %(default)s; only this machine can connect)",
    )
    p.add_argument("--data", metavar="DIR", help="folder for the app's data and fits")
    p.add_argument(
        "--no-browser", action="store_true", help="do not open a browser tab (headless server)"
    )
    p.set_defaults(func=_cmd_app)


def _port(text: str) -> int:
    from bayes.cliargs import int_range

    return int_range(1, 65535, what="a port number")(text)


def server_command(
    port: int = 8501, *, address: str = "localhost", headless: bool = False
) -> list[str]:
    """The command line that serves the app (used by ``bayes app`` and the browser test)."""
    from bayes.app import APP_DIR

    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(Path(APP_DIR) / "main.py"),
        "--server.port",
        str(port),
        "--server.address",
        address,
        "--server.headless",
        "true" if headless else "false",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        "--theme.base",
        "light",
        "--client.toolbarMode",
        "minimal",
    ]


def server_env(data: str | os.PathLike | None = None) -> dict[str, str]:
    from bayes.app.data import ENV

    env = dict(os.environ)
    if data is not None:
        env[ENV] = str(Path(data).expanduser().absolute())
    return env


def _cmd_app(args) -> int:
    cmd = server_command(args.port, address=args.address, headless=args.no_browser)
    print(
        f"serving the app on http://{args.address}:{args.port} (Ctrl-C stops it)", file=sys.stderr
    )
    try:
        return subprocess.call(cmd, env=server_env(args.data))
    except KeyboardInterrupt:
        return 0
