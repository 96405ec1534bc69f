"""``bayes app``: start the Streamlit app on localhost."""

from __future__ import annotations

import argparse
import os
import signal
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
        "--no-browser",
        action="store_true",
        help="do not open a browser tab (the server is headless either way: it asks nothing "
        "and writes nothing in ~/.streamlit)",
    )
    p.set_defaults(func=_cmd_app)


def _port(text: str) -> int:
    from bayes.cliargs import int_range

    return int_range(1, 65535, what="a port number")(text)


def server_command(port: int = 8501, *, address: str = "localhost") -> list[str]:
    """The command line that serves the app (used by ``bayes app`` and the browser test).

    Always headless: Streamlit opens no browser and asks no first-run question (its e-mail
    prompt would wait on stdin on a machine without ``~/.streamlit/credentials.toml``);
    ``bayes app`` opens the browser itself once the server answers (:func:`run_server`)."""
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
        "true",
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


def server_url(port: int, address: str = "localhost") -> str:
    """The URL a browser on this machine opens (a wildcard address is served on localhost)."""
    host = "localhost" if address in ("", "0.0.0.0", "::") else address
    return f"http://{'[' + host + ']' if ':' in host else host}:{port}"


def wait_for_server(url: str, proc: subprocess.Popen, timeout: float = 120) -> bool:
    """Poll Streamlit's health endpoint until it answers ``ok`` (True), the server process
    ends or ``timeout`` seconds pass (False)."""
    import time
    import urllib.request

    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return True
        except OSError:
            pass
        time.sleep(0.25)
    return False


def run_server(
    port: int = 8501,
    *,
    address: str = "localhost",
    data: str | os.PathLike | None = None,
    browser: bool = True,
) -> int:
    """Serve the app until the server stops (Ctrl-C stops it); once it answers, open a browser
    tab on it with :mod:`webbrowser` (``$BROWSER`` chooses which) unless ``browser`` is False.
    Streamlit's stdin is closed: nothing it could ask can block the start. Returns the server's
    exit code (0 on Ctrl-C)."""
    import webbrowser

    url = server_url(port, address)
    proc = subprocess.Popen(
        server_command(port, address=address), env=server_env(data), stdin=subprocess.DEVNULL
    )
    try:
        if browser:
            if wait_for_server(url, proc):
                webbrowser.open(url)
            elif proc.poll() is None:
                print(f"the server did not answer yet: open {url} yourself", file=sys.stderr)
        return proc.wait()
    except KeyboardInterrupt:  # from a terminal the server has its SIGINT too
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        return 0


def _cmd_app(args) -> int:
    url = server_url(args.port, args.address)
    print(f"serving the app on {url} (Ctrl-C stops it)", file=sys.stderr)
    return run_server(args.port, address=args.address, data=args.data, browser=not args.no_browser)
